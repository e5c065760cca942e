namespace Siyu.Core.Consent;

/// <summary>
/// One entry of the consent ledger: what the person decided, for which purpose and channel, when, where, and on
/// what evidence. <see cref="Scope"/> narrows a decision to one message template (WeChat subscribe messages are
/// agreed to per template). <see cref="Id"/> is unique per decision and makes recording it idempotent.
/// </summary>
public sealed record ConsentDecision
{
    public const int MaxSourceLength = 100;
    public const int MaxEvidenceLength = 1000;
    public const int MaxScopeLength = 128;

    public required string Id { get; init; }
    public required string Purpose { get; init; }
    public required string Channel { get; init; }
    public string? Scope { get; init; }
    public required ConsentStatus Status { get; init; }
    /// <summary>Where it was given: "miniprogram_popup", "store_form", "api", "wechat_unsubscribe"…</summary>
    public required string Source { get; init; }
    /// <summary>What the person saw or signed: a text version, a form id.</summary>
    public string? Evidence { get; init; }
    public required DateTimeOffset OccurredAt { get; init; }

    /// <summary>The projection key: one current decision per purpose × channel (× template).</summary>
    public string Key => ConsentState.KeyOf(Purpose, Channel, Scope);
}

/// <summary>The decision currently in force for one purpose × channel (× template).</summary>
public sealed record ConsentEntry(ConsentStatus Status, DateTimeOffset OccurredAt, string Id, string Source)
{
    /// <summary>Later occurredAt wins; at equal times the greater id does, so arrival order never matters.</summary>
    public bool IsNewerThan(ConsentEntry other) =>
        OccurredAt != other.OccurredAt ? OccurredAt > other.OccurredAt : string.CompareOrdinal(Id, other.Id) > 0;
}
