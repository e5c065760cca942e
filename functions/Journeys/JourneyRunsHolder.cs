using System.Text.Json;
using System.Text.Json.Nodes;
using Azure.Data.Tables;
using Siyu.Core.Journeys;
using Siyu.Core.Profiles;
using Siyu.Core.Storage;
using Siyu.Functions.Merges;
using Siyu.Functions.Privacy;
using Siyu.Storage.Journeys;
using Siyu.Storage.Tables;

namespace Siyu.Functions.Journeys;

/// <summary>
/// A person's journey runs and delivery requests. Exported with the person; erased with them (their runs leave first,
/// so the counters stay true); moved to the survivor when they are merged into another profile.
/// </summary>
public sealed class JourneyRunsHolder(RunStore runs, TimerArming timers, JourneyEngine engine, TimeProvider clock) : IPersonalDataHolder, IMergeParticipant
{
    public const string ReasonErased = "erased";
    public const string ReasonMerged = "merged";

    public string Section => "journeys";

    public async Task<JsonNode?> ExportAsync(PersonalDataSubject s, CancellationToken ct)
    {
        var list = await runs.ForProfileAsync(s.TenantId, s.ProfileId, ct);
        var deliveries = await runs.DeliveriesAsync(s.TenantId, s.ProfileId, ct);
        return new JsonObject
        {
            ["runs"] = JsonSerializer.SerializeToNode(list.Select(r => r.Instance).ToList(), EntityJson.Options),
            ["deliveries"] = JsonSerializer.SerializeToNode(deliveries, EntityJson.Options),
        };
    }

    public async Task EraseAsync(PersonalDataSubject s, CancellationToken ct)
    {
        await LeaveAsync(s.TenantId, s.ProfileId, ReasonErased, ct);
        var keys = new List<string>();
        await foreach (var row in runs.RowsOfAsync(s.TenantId, s.ProfileId, ct)) keys.Add(row.RowKey);
        await runs.DeleteAsync(RunStore.Partition(s.TenantId, s.ProfileId), keys, ct);
    }

    /// <summary>
    /// Runs move to the survivor and go on there (their timers re-armed under the new key), unless the survivor is
    /// already in that journey's slot: then the merged profile's run leaves. Delivery requests move as they are.
    /// </summary>
    public async Task MoveAsync(string tenantId, ProfileState merged, ProfileState survivor, CancellationToken ct)
    {
        var from = RunStore.Partition(tenantId, merged.ProfileId);
        var to = RunStore.Partition(tenantId, survivor.ProfileId);
        var theirs = (await runs.ForProfileAsync(tenantId, survivor.ProfileId, ct)).ToDictionary(r => (r.Instance.JourneyId, r.Instance.Slot), r => r.Instance);
        var moving = new List<RunChange>();
        var leaving = new List<string>();
        var moved = new List<string>();
        await foreach (var row in runs.RowsOfAsync(tenantId, merged.ProfileId, ct))
        {
            if (row.GetString("Kind") == "run")
            {
                var run = RunStore.ToRun(row).Instance;
                if (theirs.TryGetValue((run.JourneyId, run.Slot), out var existing))
                {
                    // Ours already moved there (a repeat of this merge) or theirs came first: either way this one goes.
                    if (!(existing.EnteredAt == run.EnteredAt && existing.Run == run.Run) && run.IsActive) leaving.Add(row.RowKey);
                    else moved.Add(row.RowKey);
                    continue;
                }
                run.ProfileId = survivor.ProfileId;
                moving.Add(new RunChange(run, null, [], new JourneyStats()));
                moved.Add(row.RowKey);
            }
            else
            {
                var copy = new TableEntity(to, survivor.ProfileId + row.RowKey[merged.ProfileId.Length..]);
                foreach (var (key, value) in row)
                    if (key is not ("PartitionKey" or "RowKey" or "Timestamp" or "odata.etag")) copy[key] = value;
                await runs.Table.UpsertEntityAsync(copy, TableUpdateMode.Replace, ct);
                moved.Add(row.RowKey);
            }
        }
        var now = clock.GetUtcNow();
        var bucket = Ids.ProfileBucket(survivor.ProfileId);
        await timers.ArmAsync(moving.Where(m => m.Instance is { IsActive: true, DueAt: not null })
            .Select(m => new JourneyTimer(tenantId, bucket, RunStore.RunKey(m.Instance), m.Instance.Generation, m.Instance.DueAt!.Value)), now, ct);
        var (conflicted, _) = await runs.CommitAsync(to, moving, now, ct);
        if (conflicted.Count > 0) throw new InvalidOperationException($"{conflicted.Count} journey runs could not move to {survivor.ProfileId}; the merge resumes and tries again");
        if (leaving.Count > 0)
            await engine.RunAsync(tenantId, Ids.ProfileBucket(merged.ProfileId), leaving.Select(k => (RunWork)new RunWork.Leave(k, ReasonMerged)).ToList(), ct);
        await runs.DeleteAsync(from, moved, ct);
    }

    private async Task LeaveAsync(string tenantId, string profileId, string reason, CancellationToken ct)
    {
        var active = (await runs.ForProfileAsync(tenantId, profileId, ct)).Where(r => r.Instance.IsActive).Select(r => RunStore.RunKey(r.Instance)).ToList();
        if (active.Count > 0) await engine.RunAsync(tenantId, Ids.ProfileBucket(profileId), active.Select(k => (RunWork)new RunWork.Leave(k, reason)).ToList(), ct);
    }
}
