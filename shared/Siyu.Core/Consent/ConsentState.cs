namespace Siyu.Core.Consent;

/// <summary>
/// The current-state projection of a person's consent ledger, kept on the profile so that "may we?" costs one read.
/// Folding the same decisions in any order gives the same state: each key keeps the decision that occurred last.
/// </summary>
public sealed class ConsentState
{
    /// <summary>Current decision per <c>purpose/channel</c> or <c>purpose/channel/template</c>.</summary>
    public Dictionary<string, ConsentEntry> Current { get; set; } = new(StringComparer.Ordinal);

    /// <summary>
    /// One-time subscribe-message entitlements per template: each "accept" in a pop-up allows one message.
    /// The delivery layer uses one up per send.
    /// </summary>
    public Dictionary<string, int> Entitlements { get; set; } = new(StringComparer.Ordinal);

    /// <summary>Decision ids already folded into <see cref="Entitlements"/>, so a replay cannot count twice. Bounded.</summary>
    public List<string> EntitlementGrants { get; set; } = new();

    public const int MaxEntitlementGrantsKept = 200;

    /// <summary>Delivery keys that used up a subscription, so that a retried send neither uses a second one nor is refused. Bounded.</summary>
    public List<string> EntitlementUses { get; set; } = new();

    [System.Text.Json.Serialization.JsonIgnore]
    public bool IsEmpty => Current.Count == 0 && Entitlements.Count == 0 && EntitlementGrants.Count == 0 && EntitlementUses.Count == 0;

    /// <summary>
    /// Uses one subscription to <paramref name="template"/> for the delivery <paramref name="deliveryKey"/>. True when this
    /// delivery holds one now (just used, or used by an earlier try); false when none is left.
    /// </summary>
    public bool UseEntitlement(string template, string deliveryKey)
    {
        if (EntitlementUses.Contains(deliveryKey)) return true;
        var left = Entitlements.GetValueOrDefault(template);
        if (left <= 0) return false;
        if (left == 1) Entitlements.Remove(template); else Entitlements[template] = left - 1;
        EntitlementUses.Add(deliveryKey);
        if (EntitlementUses.Count > MaxEntitlementGrantsKept) EntitlementUses.RemoveAt(0);
        return true;
    }

    /// <summary>True when <paramref name="deliveryKey"/> already used a subscription.</summary>
    public bool HoldsEntitlement(string deliveryKey) => EntitlementUses.Contains(deliveryKey);

    public static string KeyOf(string purpose, string channel, string? scope) =>
        scope is null ? $"{purpose}/{channel}" : $"{purpose}/{channel}/{scope}";

    /// <summary>Records a decision. Returns true when it changed the current state.</summary>
    public bool Apply(ConsentDecision decision)
    {
        if (decision.Status == ConsentStatus.Granted && decision.Channel == ConsentVocabulary.MiniProgramSubscribe
            && decision.Scope is { } template && decision.Source == ConsentSources.SubscribePopup
            && !EntitlementGrants.Contains(decision.Id))
        {
            Entitlements[template] = Entitlements.GetValueOrDefault(template) + 1;
            EntitlementGrants.Add(decision.Id);
            if (EntitlementGrants.Count > MaxEntitlementGrantsKept) EntitlementGrants.RemoveAt(0);
        }

        var entry = new ConsentEntry(decision.Status, decision.OccurredAt, decision.Id, decision.Source);
        if (Current.TryGetValue(decision.Key, out var current) && !entry.IsNewerThan(current)) return false;
        Current[decision.Key] = entry;
        return true;
    }

    /// <summary>
    /// The decision that governs a purpose on a channel (and template): the newest of those that apply — the exact
    /// one, the channel-wide one, and the "all channels" one. A newer "withdraw everything" beats an older grant for
    /// SMS; a newer SMS grant beats an older "withdraw everything". At equal times the more specific one wins.
    /// </summary>
    public ConsentEntry? Governing(string purpose, string channel, string? scope = null)
    {
        ConsentEntry? best = null;
        var bestSpecificity = -1;
        void Consider(string key, int specificity)
        {
            if (!Current.TryGetValue(key, out var e)) return;
            if (best is null || e.OccurredAt > best.OccurredAt || (e.OccurredAt == best.OccurredAt && specificity > bestSpecificity))
            {
                best = e;
                bestSpecificity = specificity;
            }
        }
        if (scope is not null) Consider(KeyOf(purpose, channel, scope), 3);
        Consider(KeyOf(purpose, channel, null), 2);
        if (channel != ConsentVocabulary.AllChannels) Consider(KeyOf(purpose, ConsentVocabulary.AllChannels, null), 1);
        return best;
    }

    /// <summary>True when the newest applicable decision for the purpose is a grant.</summary>
    public bool IsGranted(string purpose, string channel, string? scope = null) =>
        Governing(purpose, channel, scope)?.Status == ConsentStatus.Granted;
}

/// <summary>Sources we write ourselves. Callers of the API name their own.</summary>
public static class ConsentSources
{
    public const string Api = "api";
    public const string WeChatSubscribe = "wechat_subscribe";
    public const string WeChatUnsubscribe = "wechat_unsubscribe";
    public const string SubscribePopup = "wechat_subscribe_popup";
    public const string SubscribeSettings = "wechat_subscribe_settings";
}
