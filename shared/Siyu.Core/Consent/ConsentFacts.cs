using System.Text.Json.Nodes;
using Siyu.Core.Events;

namespace Siyu.Core.Consent;

/// <summary>
/// The consent decisions an event carries. Three kinds of event do:
/// <list type="bullet">
/// <item>a <c>consent</c> event (from <c>POST /api/consents</c> or <c>POST /api/events</c>): one decision, as stated;</item>
/// <item>WeChat follow and unfollow: <c>wechat.subscribe</c> grants and <c>wechat.unsubscribe</c> withdraws marketing on
/// the official account;</item>
/// <item>WeChat subscribe-message pop-ups and settings changes: a decision per template, "accept" grants, "reject"
/// refuses (in settings: withdraws). Mini-program pop-ups are the <c>miniprogram_subscribe</c> channel; an official
/// account's subscription notices are <c>wechat_oa</c>, scoped to the template.</item>
/// </list>
/// Decision ids derive from the event's dedupe key, so a replayed event yields the same ledger rows.
/// </summary>
public static class ConsentFacts
{
    public const string EventName = "consent";
    /// <summary>WeChat asks about a few templates at a time; more than this in one push is not a real pop-up.</summary>
    public const int MaxTemplatesPerEvent = 20;

    public static IReadOnlyList<ConsentDecision> From(IncomingEvent e)
    {
        if (e.Type == EventType.Consent)
            return ConsentRules.TryRead(e.Properties, out var stated, out _) ? [stated with { Id = e.DedupeKey(), OccurredAt = e.Timestamp }] : [];

        // Only WeChat's own pushes speak for WeChat: an API caller cannot forge a follow or a pop-up answer.
        if (!e.Source.StartsWith("wechat:", StringComparison.Ordinal)) return [];
        return e.Name switch
        {
            "wechat.subscribe" => [WeChat(e, 0, ConsentStatus.Granted, ConsentVocabulary.WeChatOfficialAccount, null, ConsentSources.WeChatSubscribe)],
            "wechat.unsubscribe" => [WeChat(e, 0, ConsentStatus.Withdrawn, ConsentVocabulary.WeChatOfficialAccount, null, ConsentSources.WeChatUnsubscribe)],
            "wechat.subscribe_msg_popup" => Templates(e, ConsentSources.SubscribePopup, refused: ConsentStatus.Denied),
            "wechat.subscribe_msg_change" => Templates(e, ConsentSources.SubscribeSettings, refused: ConsentStatus.Withdrawn),
            _ => [],
        };
    }

    /// <summary>True when the event grants something: a fresh consent, which may bring back an erased person.</summary>
    public static bool GrantsAny(IncomingEvent e) => From(e).Any(d => d.Status == ConsentStatus.Granted);

    private static List<ConsentDecision> Templates(IncomingEvent e, string source, ConsentStatus refused)
    {
        var decisions = new List<ConsentDecision>();
        if (e.Properties?["items"] is not JsonArray items) return decisions;
        var channel = e.Properties["appKind"] is JsonValue kind && kind.TryGetValue<string>(out var k) && k == "officialAccount"
            ? ConsentVocabulary.WeChatOfficialAccount
            : ConsentVocabulary.MiniProgramSubscribe;
        for (var i = 0; i < Math.Min(items.Count, MaxTemplatesPerEvent); i++)
        {
            if (items[i] is not JsonObject item) continue;
            var template = item["templateId"] is JsonValue t && t.TryGetValue<string>(out var id) ? id.Trim() : null;
            var answer = item["subscribeStatus"] is JsonValue s && s.TryGetValue<string>(out var text) ? text.Trim().ToLowerInvariant() : null;
            if (string.IsNullOrEmpty(template) || template.Length > ConsentDecision.MaxScopeLength) continue;
            ConsentStatus? status = answer switch
            {
                "accept" => ConsentStatus.Granted,
                "reject" => refused,
                "ban" => ConsentStatus.Denied, // the person blocked the template for good
                _ => null,
            };
            if (status is { } st) decisions.Add(WeChat(e, i, st, channel, template, source));
        }
        return decisions;
    }

    private static ConsentDecision WeChat(IncomingEvent e, int index, ConsentStatus status, string channel, string? scope, string source) => new()
    {
        Id = $"{e.DedupeKey()}#{index}",
        Purpose = ConsentVocabulary.Marketing,
        Channel = channel,
        Scope = scope,
        Status = status,
        Source = source,
        OccurredAt = e.Timestamp,
    };
}

/// <summary>Reads and checks the stated fields of a consent decision, as JSON properties.</summary>
public static class ConsentRules
{
    /// <summary>
    /// Reads <c>purpose</c>, <c>channel</c>, <c>status</c>, <c>source</c>, and optional <c>evidence</c> and
    /// <c>scope</c>. The id and time are the caller's to fill in. On failure, <paramref name="error"/> is
    /// (code, message).
    /// </summary>
    /// <summary>The field an error of <see cref="TryRead"/> is about (its code names it: <c>unknown_purpose</c>, <c>evidence_too_long</c>), or "".</summary>
    public static string FieldOf(string code) =>
        new[] { "purpose", "channel", "status", "source", "evidence", "scope" }.FirstOrDefault(f => code.Split('_').Contains(f)) ?? "";

    public static bool TryRead(JsonObject? fields, out ConsentDecision decision, out (string Code, string Message) error)
    {
        decision = null!;
        error = default;
        if (fields is null) { error = ("missing_consent", "a consent needs purpose, channel, status and source"); return false; }

        // Checked in field order, so the first problem reported is the first field's. A field of the wrong JSON type
        // is refused as its field's problem, never silently ignored.
        if (!IsText(fields, "purpose")) { error = ("unknown_purpose", "purpose must be a string"); return false; }
        var purpose = Text(fields, "purpose");
        if (purpose is null) { error = ("missing_purpose", "purpose is required"); return false; }
        if (!ConsentVocabulary.IsPurpose(purpose))
        { error = ("unknown_purpose", $"unknown purpose '{purpose}': expected one of {string.Join(", ", ConsentVocabulary.Purposes)}"); return false; }

        if (!IsText(fields, "channel")) { error = ("unknown_channel", "channel must be a string"); return false; }
        var channel = Text(fields, "channel");
        if (channel is null) { error = ("missing_channel", "channel is required (use \"all\" for every channel)"); return false; }
        if (!ConsentVocabulary.IsChannel(channel))
        { error = ("unknown_channel", $"unknown channel '{channel}': expected one of {string.Join(", ", ConsentVocabulary.Channels)}"); return false; }

        if (!IsText(fields, "status")) { error = ("invalid_status", "status must be a string: granted, denied or withdrawn"); return false; }
        var statusText = Text(fields, "status");
        if (statusText is null) { error = ("missing_status", "status is required: granted, denied or withdrawn"); return false; }
        if (!ConsentVocabulary.TryParseStatus(statusText, out var status))
        { error = ("invalid_status", $"status '{statusText}' is not one of granted, denied, withdrawn"); return false; }

        if (!IsText(fields, "source")) { error = ("invalid_source", "source must be a string"); return false; }
        var source = Text(fields, "source");
        if (string.IsNullOrWhiteSpace(source)) { error = ("missing_source", "source is required: where the decision was made, e.g. store_form"); return false; }
        if (source.Length > ConsentDecision.MaxSourceLength || source.Any(char.IsControl))
        { error = ("invalid_source", $"source must be 1-{ConsentDecision.MaxSourceLength} characters without control characters"); return false; }
        if (source.StartsWith("wechat_", StringComparison.Ordinal))
        { error = ("reserved_source", "sources starting with 'wechat_' are recorded from WeChat's own pushes only"); return false; }

        if (!IsText(fields, "evidence")) { error = ("invalid_evidence", "evidence must be a string, e.g. a consent text version or form id"); return false; }
        var evidence = Text(fields, "evidence");
        if (evidence is not null && evidence.Length > ConsentDecision.MaxEvidenceLength)
        { error = ("evidence_too_long", $"evidence is at most {ConsentDecision.MaxEvidenceLength} characters"); return false; }

        if (!IsText(fields, "scope")) { error = ("invalid_scope", "scope (a template id) must be a string"); return false; }
        var scope = Text(fields, "scope");
        if (scope is not null && (scope.Length is 0 or > ConsentDecision.MaxScopeLength || scope.Any(char.IsControl) || scope.Contains('/')))
        { error = ("invalid_scope", $"scope (a template id) must be 1-{ConsentDecision.MaxScopeLength} characters, no '/' or control characters"); return false; }

        decision = new ConsentDecision
        {
            Id = "",
            Purpose = purpose,
            Channel = channel,
            Scope = scope,
            Status = status,
            Source = source,
            Evidence = evidence,
            OccurredAt = default,
        };
        return true;
    }

    /// <summary>Absent, null or a string.</summary>
    private static bool IsText(JsonObject o, string name) =>
        o[name] is null || o[name]!.GetValueKind() == System.Text.Json.JsonValueKind.String;

    private static string? Text(JsonObject o, string name) =>
        o[name] is JsonValue v && v.TryGetValue<string>(out var s) ? s : null;
}
