using Siyu.Core.Audience;
using Siyu.Core.Events;
using Siyu.Core.Profiles;
using Siyu.Core.Segments;
using Siyu.Core.Storage;

namespace Siyu.Functions.Journeys;

/// <summary>
/// Hands people's events to journeys after they are stored: only events some journey of the tenant reacts to (to
/// enter, to resume a wait, to exit, as a goal), so a tenant without journeys pays nothing. At least once: ingestion
/// hands events on again when its message is retried, and journeys ignore what they have already seen.
/// </summary>
public sealed class JourneyTriggers(JourneyCatalog catalog, JourneyQueue queue, ILogger<JourneyTriggers> log)
{
    public async Task ForwardAsync(string tenantId, IEnumerable<(string ProfileId, IncomingEvent Event)> events, CancellationToken ct)
    {
        var names = await catalog.EventNamesAsync(tenantId, ct);
        if (names.Count == 0) return;
        var wanted = events.Where(e => names.Contains(e.Event.Name))
            .Select(e => new EventItem(e.ProfileId, e.Event.MessageId, e.Event.Name, e.Event.Timestamp, e.Event.Properties))
            .GroupBy(e => Ids.ProfileBucket(e.Profile));
        foreach (var bucket in wanted) await queue.SendEventsAsync(tenantId, bucket.Key, bucket.ToList(), ct);
    }

    /// <summary>Segment entries, for journeys that start on one. A failure is logged: the entry itself is already recorded.</summary>
    public async Task SegmentsEnteredAsync(string tenantId, IEnumerable<(ProfileState State, ProfileChanges Changes)> committed, DateTimeOffset now, CancellationToken ct)
    {
        var entries = committed.SelectMany(c => c.Changes.Segments.Entered.Select(s =>
            (c.State.ProfileId, SegmentEvents.Create(s, true, c.State.Segments.GetValueOrDefault(s, now))))).ToList();
        if (entries.Count == 0) return;
        try { await ForwardAsync(tenantId, entries, ct); }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            log.LogWarning(e, "Segment entries of tenant {Tenant} not handed to journeys", tenantId);
        }
    }
}
