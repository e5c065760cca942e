using System.Text.Json.Nodes;
using Siyu.Core.Journeys;
using Siyu.Core.Storage;
using Siyu.Storage.Journeys;
using Siyu.Storage.Tables;

namespace Siyu.Functions.Journeys;

/// <summary>One person to enter: by profile id, with optional context variables and (everyTime journeys) a run key.</summary>
public sealed record EntryRequest(string ProfileId, JsonObject? Context, string? Key);

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
/// Enters people by API or campaign. Runs are written per partition in shared transactions, with a timer due now
/// armed first; the first step happens when the timer sweep hands it on (well under a second), so entering many
/// people costs a few writes per hundred, not a step each.
/// </summary>
public sealed class JourneyEntries(RunStore runs, TimerStore timers, TimeProvider clock)
{
    public async Task<List<EntryResult>> EnterAsync(string tenantId, ActiveJourney journey, IReadOnlyList<EntryRequest> people, string by, CancellationToken ct)
    {
        var results = new List<EntryResult>();
        var now = clock.GetUtcNow();
        var byPartition = people.GroupBy(p => RunStore.Partition(tenantId, p.ProfileId)).ToList();
        await Parallel.ForEachAsync(byPartition, new ParallelOptions { MaxDegreeOfParallelism = 8, CancellationToken = ct }, async (group, token) =>
        {
            var mine = await EnterPartitionAsync(tenantId, group.Key, journey, group.ToList(), by, now, token);
            lock (results) results.AddRange(mine);
        });
        return results;
    }

    private async Task<List<EntryResult>> EnterPartitionAsync(string tenantId, string partition, ActiveJourney journey, List<EntryRequest> people,
        string by, DateTimeOffset now, CancellationToken ct)
    {
        var definition = journey.Latest;
        var id = journey.Stored.Id;
        string SlotOf(EntryRequest p) => definition.Entry.Reentry == ReentryPolicy.EveryTime ? RunSlots.Of(p.Key ?? Ids.Random(16)) : RunSlots.Single;
        var planned = people.DistinctBy(p => p.ProfileId).Select(p => (Person: p, Key: RunStore.RunKey(p.ProfileId, id, SlotOf(p)))).ToList();
        var existing = await runs.GetManyAsync(partition, planned.Select(p => p.Key).ToList(), ct);

        var results = new List<EntryResult>();
        var changes = new List<RunChange>();
        foreach (var (person, key) in planned)
        {
            var previous = existing.GetValueOrDefault(key);
            if (previous is not null && !(definition.Entry.Reentry == ReentryPolicy.AfterExit && !previous.Instance.IsActive))
            {
                results.Add(new EntryResult(person.ProfileId, EntryOutcomes.AlreadyIn, key));
                continue;
            }
            var slot = key[(key.LastIndexOf('~') + 1)..];
            var run = JourneyInterpreter.NewRun(id, journey.Stored.Version, person.ProfileId, slot, (previous?.Instance.Run ?? 0) + 1, person.Context, by, definition, now);
            // Generations go on across runs of a slot, so no timer of an earlier run can ever match this one.
            run.Generation = (previous?.Instance.Generation ?? 0) + 1;
            run.DueAt = now;
            changes.Add(new RunChange(run, previous?.ETag, [], new JourneyStats()));
        }
        if (changes.Count == 0) return results;

        var bucket = Ids.ProfileBucket(changes[0].Instance.ProfileId);
        await timers.ArmAsync(changes.Select(c => new JourneyTimer(tenantId, bucket, RunStore.RunKey(c.Instance), c.Instance.Generation, now)), now, ct);
        var (conflicted, _) = await runs.CommitAsync(partition, changes, now, ct);
        var lost = conflicted.Select(c => RunStore.RunKey(c.Instance)).ToHashSet(StringComparer.Ordinal);
        foreach (var c in changes)
        {
            var key = RunStore.RunKey(c.Instance);
            results.Add(new EntryResult(c.Instance.ProfileId, lost.Contains(key) ? (c.ETag is null ? EntryOutcomes.AlreadyIn : EntryOutcomes.Busy) : EntryOutcomes.Entered, key));
            if (!lost.Contains(key)) JourneyMetrics.Entered.Add(1);
        }
        return results;
    }
}
