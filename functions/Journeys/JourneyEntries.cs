using System.Text.Json.Nodes;
using Siyu.Core.Journeys;
using Siyu.Core.Profiles;
using Siyu.Core.Segments;
using Siyu.Core.Storage;
using Siyu.Storage.Audience;
using Siyu.Storage.Journeys;
using Siyu.Storage.Tables;

namespace Siyu.Functions.Journeys;

/// <summary>
/// One person to enter: by profile id, with optional context variables and (everyTime journeys) a run key. With the
/// person's <see cref="Profile"/> as just read, the run takes its first step as it is written.
/// </summary>
public sealed record EntryRequest(string ProfileId, JsonObject? Context, string? Key, ProfileState? Profile = null);

public static class EntryOutcomes
{
    public const string Entered = "entered";
    /// <summary>The re-entry policy keeps them out: in the journey now, or (once) ever.</summary>
    public const string AlreadyIn = "alreadyIn";
    /// <summary>Someone else entered them at the same moment; asking again settles it.</summary>
    public const string Busy = "busy";
}

public sealed record EntryResult(string ProfileId, string Outcome, string? Run);

/// <summary>
/// Enters people by API or campaign. Runs are added per partition in shared transactions, without reading first (a
/// run already there refuses the add, and only then is it read). When the caller has just read the person (the API
/// has), the run takes its first step as it is written: it is stored at its first wait with that wait's timer, its
/// sends recorded with it. Otherwise, or when the first step needs an outside effect, it is stored with a timer due
/// now and the timer sweep hands it to the engine (well under a second). Entering many people costs a few writes per
/// hundred, not a read and a step each.
/// </summary>
public sealed class JourneyEntries(RunStore runs, TimerArming timers, AudienceStore audience, TimeProvider clock, Delivery.DeliveryQueue? deliveries = null)
{
    public async Task<List<EntryResult>> EnterAsync(string tenantId, ActiveJourney journey, IReadOnlyList<EntryRequest> people, string by, CancellationToken ct)
    {
        var results = new List<EntryResult>();
        var now = clock.GetUtcNow();
        var segments = people.Any(p => p.Profile is not null) ? JourneyEngine.Resolver(await audience.GetAsync(tenantId, ct)) : _ => null;
        var byPartition = people.GroupBy(p => RunStore.Partition(tenantId, p.ProfileId)).ToList();
        await Parallel.ForEachAsync(byPartition, new ParallelOptions { MaxDegreeOfParallelism = 8, CancellationToken = ct }, async (group, token) =>
        {
            var mine = await EnterPartitionAsync(tenantId, group.Key, journey, group.ToList(), by, segments, now, token);
            lock (results) results.AddRange(mine);
        });
        return results;
    }

    private async Task<List<EntryResult>> EnterPartitionAsync(string tenantId, string partition, ActiveJourney journey, List<EntryRequest> people,
        string by, Func<string, SegmentCondition?> segments, DateTimeOffset now, CancellationToken ct)
    {
        var definition = journey.Latest;
        var id = journey.Stored.Id;
        string SlotOf(EntryRequest p) => definition.Entry.Reentry == ReentryPolicy.EveryTime ? RunSlots.Of(p.Key ?? Ids.Random(16)) : RunSlots.Single;
        var planned = people.DistinctBy(p => p.ProfileId).Select(p => (Person: p, Key: RunStore.RunKey(p.ProfileId, id, SlotOf(p)))).ToList();

        // Everyone is entered as a first run without reading anything: where a run is there already the add is refused,
        // and only those are read and put to the re-entry policy. Entering many people costs writes, not reads.
        var results = new List<EntryResult>();
        // The first refusal stops the adds: the refused run and everyone not yet written are read, then decided.
        var first = planned.Select(p => Start(p.Person, p.Key, null)).ToList();
        var refused = await CommitAsync(tenantId, partition, first, results, stopAtConflict: true, ct);
        if (refused.Count == 0) return results;

        var existing = await runs.GetManyAsync(partition, refused.Select(c => RunStore.RunKey(c.Instance)).ToList(), ct);
        var again = new List<RunChange>();
        foreach (var change in refused)
        {
            var key = RunStore.RunKey(change.Instance);
            var previous = existing.GetValueOrDefault(key);
            if (previous is not null && !(definition.Entry.Reentry == ReentryPolicy.AfterExit && !previous.Instance.IsActive))
            {
                results.Add(new EntryResult(change.Instance.ProfileId, EntryOutcomes.AlreadyIn, key));
                continue;
            }
            var person = planned.First(p => p.Key == key).Person;
            again.Add(Start(person, key, previous));
        }
        // Refused again: someone entered them at this very moment (a new run: they are in), or moved their run (ask again).
        foreach (var lost in await CommitAsync(tenantId, partition, again, results, stopAtConflict: false, ct))
            results.Add(new EntryResult(lost.Instance.ProfileId, lost.ETag is null ? EntryOutcomes.AlreadyIn : EntryOutcomes.Busy, RunStore.RunKey(lost.Instance)));
        return results;

        RunChange Start(EntryRequest person, string key, StoredRun? previous)
        {
            var slot = key[(key.LastIndexOf('~') + 1)..];
            var run = JourneyInterpreter.NewRun(id, journey.Stored.Version, person.ProfileId, slot, (previous?.Instance.Run ?? 0) + 1, person.Context, by, definition, now);
            // Generations go on across runs of a slot, so no timer of an earlier run can ever match this one.
            run.Generation = (previous?.Instance.Generation ?? 0) + 1;
            if (person.Profile is { } profile)
            {
                // The first step, now: through the nodes where no time passes, to the first wait (or the end). An outside
                // effect is left to the engine, which records it as pending before carrying it out.
                var first = JourneyInterpreter.Step(run, new Stimulus.Enter(), new StepInput(definition, profile, true, segments, now));
                if (first is { Outcome: StepOutcome.Moved, Effect: null }) return new RunChange(first.Instance, previous?.ETag, first.Sends, first.Delta);
            }
            run.DueAt = now;
            return new RunChange(run, previous?.ETag, [], new JourneyStats());
        }
    }

    /// <summary>
    /// Arms each run's first timer, then writes the runs (with the journey's counters). Adds the entered to
    /// <paramref name="results"/>; returns the changes that were refused because someone wrote the run first.
    /// </summary>
    private async Task<List<RunChange>> CommitAsync(string tenantId, string partition, List<RunChange> changes, List<EntryResult> results, bool stopAtConflict,
        CancellationToken ct)
    {
        if (changes.Count == 0) return [];
        var now = clock.GetUtcNow();
        var bucket = Ids.ProfileBucket(changes[0].Instance.ProfileId);
        // Timers and sends first, as the engine does: a timer of a run that is then refused finds another generation, or a
        // run not due, and changes nothing; a send whose row is never written is never found, and never sent.
        await timers.ArmAsync(changes.Where(c => c.Instance is { IsActive: true, DueAt: not null })
            .Select(c => new JourneyTimer(tenantId, bucket, RunStore.RunKey(c.Instance), c.Instance.Generation, c.Instance.DueAt!.Value)), now, ct);
        var sends = changes.SelectMany(c => c.Sends.Select(s => new Delivery.DeliveryItem(c.Instance.ProfileId, s.Key))).ToList();
        if (sends.Count > 0 && deliveries is not null) await deliveries.EnqueueAsync(tenantId, sends, ct: ct);
        var (conflicted, _) = await runs.CommitAsync(partition, changes, now, ct, stopAtConflict);
        var lost = conflicted.Select(c => RunStore.RunKey(c.Instance)).ToHashSet(StringComparer.Ordinal);
        foreach (var c in changes.Where(c => !lost.Contains(RunStore.RunKey(c.Instance))))
        {
            results.Add(new EntryResult(c.Instance.ProfileId, EntryOutcomes.Entered, RunStore.RunKey(c.Instance)));
            JourneyMetrics.Entered.Add(1);
            // A run that took its first step here (it counts its way through the nodes it passed) was a step too.
            if (!c.Delta.IsEmpty) JourneyMetrics.Steps.Add(1);
        }
        return changes.Where(c => lost.Contains(RunStore.RunKey(c.Instance))).ToList();
    }
}
