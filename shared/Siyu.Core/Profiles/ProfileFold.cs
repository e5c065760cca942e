using System.Text.Json.Nodes;
using Siyu.Core.Consent;
using Siyu.Core.Events;
using Siyu.Core.Privacy;

namespace Siyu.Core.Profiles;

/// <summary>
/// Folds events into a profile. Pure and order-insensitive where it matters: counters add up, first/last seen are
/// min/max of event time, and an attribute keeps the value of the latest identify by event time, whatever order
/// the events arrive in, and consent keeps the decision that occurred last. Sensitive attributes are kept only under
/// their purpose's consent. Deduplication is the caller's job (each event is applied once per profile).
/// </summary>
public static class ProfileFold
{
    /// <summary>Recent events keep at most this much of their properties, so a profile row stays small.</summary>
    public const int RecentPropertiesMaxChars = 1024;

    public static void Apply(ProfileState profile, IncomingEvent e, DataDefinitions? definitions = null)
    {
        definitions ??= DataDefinitions.None;
        foreach (var identity in e.Identities) profile.Identities.Add(identity.Key);

        if (profile.FirstSeen is null || e.Timestamp < profile.FirstSeen) profile.FirstSeen = e.Timestamp;
        if (profile.LastSeen is null || e.Timestamp > profile.LastSeen) profile.LastSeen = e.Timestamp;
        if (profile.LastReceived is null || e.ReceivedAt > profile.LastReceived) profile.LastReceived = e.ReceivedAt;
        profile.EventCount++;

        if (!profile.Counters.TryGetValue(e.Name, out var counter))
            profile.Counters[e.Name] = counter = new EventCounter { First = e.Timestamp, Last = e.Timestamp };
        counter.Count++;
        if (e.Timestamp < counter.First) counter.First = e.Timestamp;
        if (e.Timestamp > counter.Last) counter.Last = e.Timestamp;
        ActivityWindow.Record(profile, e.Name, e.Timestamp, e.ReceivedAt);

        var consentChanged = false;
        foreach (var decision in ConsentFacts.From(e)) consentChanged |= profile.Consent.Apply(decision);
        if (e.Type == EventType.Identify && e.Traits is not null) ApplyTraits(profile, e.Traits, new AttributeVersion(e.Timestamp, e.MessageId), definitions);
        if (consentChanged) definitions.Enforce(profile);
        if (e.Type == EventType.Order && OrderFacts.TryRead(e.Properties, out var order, out _)) ApplyOrder(profile.Orders, order, e.Timestamp);

        AddRecent(profile.Recent, e);
    }

    private static void ApplyTraits(ProfileState profile, JsonObject traits, AttributeVersion version, DataDefinitions definitions)
    {
        foreach (var (name, value) in traits)
        {
            // Sensitive data is stored only under a consent held when it arrives.
            if (value is not null && !definitions.MayStore(name, profile.Consent)) continue;
            if (profile.AttributeVersions.TryGetValue(name, out var current) && current.CompareTo(version) > 0) continue;
            profile.AttributeVersions[name] = version;
            if (value is null) profile.Attributes.Remove(name);
            else profile.Attributes[name] = value.DeepClone();
        }
    }

    private static void ApplyOrder(OrderTotals totals, OrderFacts order, DateTimeOffset at)
    {
        totals.Count++;
        totals.Total[order.Currency] = totals.Total.GetValueOrDefault(order.Currency) + order.Total;
        if (totals.First is null || at < totals.First) totals.First = at;
        if (totals.Last is null || at > totals.Last) totals.Last = at;
    }

    private static void AddRecent(List<RecentEvent> recent, IncomingEvent e)
    {
        var entry = new RecentEvent
        {
            MessageId = e.MessageId,
            Name = e.Name,
            Timestamp = e.Timestamp,
            Source = e.Source,
            Properties = e.Properties is null ? null
                : EventJson.Text(e.Properties).Length <= RecentPropertiesMaxChars ? e.Properties.DeepClone().AsObject()
                : new JsonObject { ["truncated"] = true },
        };
        // Newest first; an old event arriving late goes where its time puts it, or nowhere if it is too old.
        var at = recent.FindIndex(r => r.Timestamp < e.Timestamp);
        if (at < 0) at = recent.Count;
        if (at >= ProfileState.RecentLimit) return;
        recent.Insert(at, entry);
        if (recent.Count > ProfileState.RecentLimit) recent.RemoveAt(recent.Count - 1);
    }
}
