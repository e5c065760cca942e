using Siyu.Core.Profiles;

namespace Siyu.Core.Traits;

/// <summary>
/// Lifecycle stage and RFM score from what the profile already holds, so that ingest and the scheduled sweep
/// compute the same traits. Durations are whole days elapsed; a time in the future counts as zero days, so clock
/// skew never makes someone older than they are.
/// </summary>
public static class TraitRules
{
    /// <exception cref="ArgumentException">The settings are not valid: scores would fall outside 1-5.</exception>
    public static ProfileTraits Compute(ProfileState profile, TraitSettings settings, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(profile);
        ArgumentNullException.ThrowIfNull(settings);
        var problems = settings.Validate();
        if (problems.Count > 0) throw new ArgumentException($"invalid trait settings: {string.Join("; ", problems)}", nameof(settings));
        return new ProfileTraits(Lifecycle(profile, settings, now), Rfm(profile.Orders, settings, now));
    }

    /// <summary>Recomputes the profile's traits; true when they differ from what it had, i.e. the profile must be saved.</summary>
    public static bool Refresh(ProfileState profile, TraitSettings settings, DateTimeOffset now)
    {
        var traits = Compute(profile, settings, now);
        if (traits == profile.Traits) return false;
        profile.Traits = traits;
        return true;
    }

    private static string Lifecycle(ProfileState profile, TraitSettings settings, DateTimeOffset now)
    {
        // Either time alone still says the person was seen; fold never sets one without the other.
        var firstSeen = profile.FirstSeen ?? profile.LastSeen;
        var lastSeen = profile.LastSeen ?? profile.FirstSeen;
        if (firstSeen is null || lastSeen is null)
            return DaysSince(profile.CreatedAt, now) <= settings.NewWithinDays ? LifecycleStages.New : LifecycleStages.Dormant;

        if (DaysSince(firstSeen.Value, now) <= settings.NewWithinDays) return LifecycleStages.New;
        var idle = DaysSince(lastSeen.Value, now);
        if (idle <= settings.ActiveWithinDays) return LifecycleStages.Active;
        return idle > settings.DormantAfterDays ? LifecycleStages.Dormant : LifecycleStages.ChurnRisk;
    }

    private static RfmScore? Rfm(OrderTotals orders, TraitSettings settings, DateTimeOffset now)
    {
        if (orders.Count <= 0 || orders.Last is not { } lastOrder) return null;

        var days = DaysSince(lastOrder, now);
        var r = 5 - settings.RecencyDays.Count(b => days > b);
        var f = 1 + settings.FrequencyOrders.Count(b => orders.Count >= b);
        var total = orders.Total.GetValueOrDefault(settings.Currency);
        var m = 1 + settings.MonetaryTotals.Count(b => total >= b);

        var segment = RfmSegments.Of(r >= settings.HighScore, f >= settings.HighScore, m >= settings.HighScore);
        return new RfmScore(r, f, m, segment);
    }

    private static long DaysSince(DateTimeOffset at, DateTimeOffset now) =>
        now <= at ? 0 : (now - at).Ticks / TimeSpan.TicksPerDay;
}
