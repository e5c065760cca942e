using Siyu.Core.Consent;

namespace Siyu.Core.Delivery;

/// <summary>A brand's sending switches: the halt switch (停发) and its caps per person and channel.</summary>
public sealed record TenantSending(bool Halted, IReadOnlyDictionary<string, ChannelCap> Caps, DateTimeOffset? ChangedAt = null, string? ChangedBy = null)
{
    public static readonly TenantSending Open = new(false, new Dictionary<string, ChannelCap>());
}

/// <summary>
/// What the delivery layer asks before every send, in the order of the delivery policy: the tenant's halt switch,
/// then the person's consent for the purpose and channel, personalisation opt-out, subscribe-message entitlement,
/// topics, frequency caps (the tenant's and the person's own, whichever is lower), then quiet hours.
/// Halt and quiet hours hold a message (<see cref="ContactDecision.NotBefore"/>); every other refusal is final.
/// </summary>
public static class DeliveryPolicy
{
    /// <param name="entitlementHeld">This delivery already used a subscription on an earlier try.</param>
    public static ContactDecision Decide(TenantSending tenant, ConsentState consent, Preferences? preferences, ContactRequest request,
        SendCounts? counts, DateTimeOffset now, TimeSpan haltRecheck, bool entitlementHeld = false)
    {
        if (tenant.Halted)
            return new ContactDecision(ContactVerdict.Halted, $"sending is halted for the brand{(tenant.ChangedAt is { } at ? $" since {at:O}" : "")}", now + haltRecheck);

        var prefs = preferences ?? new Preferences();
        var caps = EffectiveCaps(tenant.Caps, prefs.Caps);
        var zone = ZoneOf(prefs);
        var history = counts?.History(request.Channel, zone, now) ?? ContactHistory.None;
        return ContactPolicy.CanContact(consent, prefs with { Caps = caps }, request, now, history, entitlementHeld);
    }

    /// <summary>True when a message on <paramref name="channel"/> is capped at all, so its history must be read.</summary>
    public static bool IsCapped(TenantSending tenant, Preferences? preferences, string channel) =>
        tenant.Caps.ContainsKey(channel) || (preferences?.Caps.ContainsKey(channel) ?? false);

    /// <summary>Whether a refusal holds the message for later (halt, quiet hours) rather than ending it.</summary>
    public static bool Defers(ContactDecision decision) =>
        decision.Verdict is ContactVerdict.Halted or ContactVerdict.QuietHours && decision.NotBefore is not null;

    /// <summary>The stable snake_case code of a verdict: what is recorded on the delivery and counted.</summary>
    public static string Code(ContactVerdict verdict) => verdict switch
    {
        ContactVerdict.Allowed => "allowed",
        ContactVerdict.NoConsent => "no_consent",
        ContactVerdict.Denied => "denied",
        ContactVerdict.Withdrawn => "withdrawn",
        ContactVerdict.PersonalisationOptedOut => "personalisation_opted_out",
        ContactVerdict.NoEntitlement => "no_entitlement",
        ContactVerdict.TopicNotChosen => "topic_not_chosen",
        ContactVerdict.CapReached => "cap_reached",
        ContactVerdict.QuietHours => "quiet_hours",
        ContactVerdict.Halted => "halted",
        _ => throw new ArgumentOutOfRangeException(nameof(verdict)),
    };

    public static TimeZoneInfo ZoneOf(Preferences? prefs) =>
        TimeZones.TryFind(prefs?.TimeZone, out var z) ? z : TimeZones.TryFind(Preferences.DefaultTimeZone, out var d) ? d : TimeZoneInfo.Utc;

    /// <summary>
    /// The brand's settings with a provider's own monthly limit on a channel folded into its caps (the lower one holds):
    /// WeCom lets each customer receive only so many mass messages a month, and one above it is refused here, counted
    /// as a cap, rather than left for WeCom to drop.
    /// </summary>
    public static TenantSending WithMonthlyLimit(TenantSending tenant, string channel, int perMonth)
    {
        var caps = new Dictionary<string, ChannelCap>(tenant.Caps, StringComparer.Ordinal);
        var current = caps.GetValueOrDefault(channel);
        caps[channel] = new ChannelCap(current?.PerDay, current?.PerWeek, Min(current?.PerMonth, perMonth));
        return tenant with { Caps = caps };
    }

    /// <summary>Per channel, the lower of the tenant's and the person's caps, each of day, week and month on its own.</summary>
    public static IReadOnlyDictionary<string, ChannelCap> EffectiveCaps(IReadOnlyDictionary<string, ChannelCap> tenant, IReadOnlyDictionary<string, ChannelCap> person)
    {
        if (tenant.Count == 0) return person;
        var merged = new Dictionary<string, ChannelCap>(StringComparer.Ordinal);
        foreach (var channel in tenant.Keys.Union(person.Keys))
        {
            var t = tenant.GetValueOrDefault(channel);
            var p = person.GetValueOrDefault(channel);
            merged[channel] = new ChannelCap(Min(t?.PerDay, p?.PerDay), Min(t?.PerWeek, p?.PerWeek), Min(t?.PerMonth, p?.PerMonth));
        }
        return merged;
    }

    private static int? Min(int? a, int? b) => a is null ? b : b is null ? a : Math.Min(a.Value, b.Value);
}
