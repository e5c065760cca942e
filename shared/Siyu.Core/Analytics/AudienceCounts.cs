using Siyu.Core.Consent;
using Siyu.Core.Profiles;

namespace Siyu.Core.Analytics;

/// <summary>
/// The audience snapshot's counting of one live profile: consent per purpose × channel as it stands, the RFM tier and
/// lifecycle stage the traits last computed, and the segments the person is in. Pure.
/// </summary>
public static class AudienceCounts
{
    /// <summary>Merged-away profiles are aliases and erasures are on their way out: neither is a person to count.</summary>
    public static bool IsLive(ProfileState p) => p.MergedInto is null && p.ErasureRequestedAt is null;

    public static void Count(AnalysisPartial partial, ProfileState p)
    {
        partial.People++;
        foreach (var (key, entry) in p.Consent.Current)
        {
            if (key.Count(c => c == '/') != 1) continue; // purpose/channel; a template's own subscription is not a channel's consent
            if (entry.Status == ConsentStatus.Granted) partial.ConsentGranted = AnalysisPartial.Bump(partial.ConsentGranted, key);
            else if (entry.Status == ConsentStatus.Withdrawn) partial.ConsentWithdrawn = AnalysisPartial.Bump(partial.ConsentWithdrawn, key);
        }
        partial.Lifecycle = AnalysisPartial.Bump(partial.Lifecycle, p.Traits?.Lifecycle ?? "unknown");
        partial.Rfm = AnalysisPartial.Bump(partial.Rfm, p.Traits?.Rfm?.Segment ?? "none");
        foreach (var s in p.Segments.Keys) partial.Segments = AnalysisPartial.Bump(partial.Segments, s);
    }

    /// <summary>The days a profile was active on (China time), from its per-day activity counts.</summary>
    public static IEnumerable<DateTimeOffset> ActiveDays(ProfileState p) =>
        p.Activity.Values.SelectMany(days => days.Keys).Distinct()
            .Select(d => new DateTimeOffset(DateTime.SpecifyKind(DateTime.UnixEpoch.AddDays(d), DateTimeKind.Unspecified), TimeSlots.ChinaOffset));
}
