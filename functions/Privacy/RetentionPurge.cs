using Azure.Data.Tables;
using Microsoft.Extensions.Options;
using Siyu.Core.Storage;
using Siyu.Functions.Hosting;
using Siyu.Storage.Privacy;
using Siyu.Storage.Profiles;
using Siyu.Storage.Tenants;
using Siyu.Storage.WeChat;

namespace Siyu.Functions.Privacy;

/// <summary>Configuration section "Retention".</summary>
public sealed class RetentionSettings
{
    /// <summary>A profile with no event for this long (by the event's time and by when we received it) is erased.</summary>
    public int InactiveProfileDays { get; set; } = 180;
    /// <summary>Events older than this are deleted from history (the consent ledger is kept: it is the proof of consent).</summary>
    public int EventDays { get; set; } = 365;
}

public sealed record RetentionReport(int ProfilesErased, int EventsDeleted, int ErasuresResumed, int NoncesDeleted = 0);

/// <summary>
/// The retention purge: erases profiles inactive longer than <see cref="RetentionSettings.InactiveProfileDays"/> (through
/// the same resumable erasure as a person's request), deletes events older than <see cref="RetentionSettings.EventDays"/>
/// (and their copies among a profile's recent events), and restarts erasures whose queue message was lost.
/// It also deletes the WeChat replay guard's expired nonces (see <see cref="WeChatNonceStore"/>).
/// Each run scans every profile partition of every tenant with server-side filters.
/// </summary>
public sealed class RetentionPurge(
    TenantStore tenants, ProfileStore profiles, ErasureStore erasures, Erasure erasure, WeChatNonceStore nonces, IOptions<RetentionSettings> settings,
    TimeProvider clock, ILogger<RetentionPurge> log)
{
    /// <summary>An erasure still pending after this long, with no orchestration running it, is started again.</summary>
    public static readonly TimeSpan StuckErasure = TimeSpan.FromMinutes(15);

    public async Task<RetentionReport> RunAsync(CancellationToken ct)
    {
        var now = clock.GetUtcNow();
        var inactiveBefore = now.AddDays(-settings.Value.InactiveProfileDays);
        var eventsBefore = now.AddDays(-settings.Value.EventDays);
        int erased = 0, deleted = 0, resumed = 0, nonceRows = 0;

        // First, so a long scan below can never starve them.
        await foreach (var stuck in erasures.PendingAsync(now - StuckErasure, ct))
        {
            // Its orchestration failed, ended early or was lost: started again (unless it is still running).
            if (await erasure.StartAsync(stuck.TenantId, stuck.ProfileId, ct)) resumed++;
        }

        foreach (var tenant in await tenants.ListAsync(ct))
        {
            nonceRows += await nonces.DeleteExpiredAsync(tenant.Id, now, ct);
            for (var bucket = 0; bucket < Ids.ProfileBuckets; bucket++)
            {
                var partition = Siyu.Storage.Tables.StorageTables.BucketPartition(tenant.Id, bucket);
                // Inactive by both clocks: the newest event's own time (which a client sets, e.g. on a historical import)
                // and when we last received one, so an imported past never erases a profile just made.
                var inactive = TableClient.CreateQueryFilter(
                    $"PartitionKey eq {partition} and Kind eq {"profile"} and LastSeen lt {inactiveBefore} and LastReceived lt {inactiveBefore}");
                await foreach (var row in profiles.Table.QueryAsync<TableEntity>(inactive, select: ["RowKey"], cancellationToken: ct))
                {
                    if (await erasure.RequestAsync(tenant.Id, row.RowKey, "retention", "retention", ct) == ErasureRequest.Started) erased++;
                }
                deleted += await DeleteOldEventsAsync(tenant.Id, partition, eventsBefore, ct);
            }
        }
        var report = new RetentionReport(erased, deleted, resumed, nonceRows);
        log.LogInformation("Retention purge: {Erased} inactive profiles erased, {Deleted} old events deleted, {Resumed} erasures resumed, {Nonces} expired WeChat nonces deleted",
            report.ProfilesErased, report.EventsDeleted, report.ErasuresResumed, report.NoncesDeleted);
        return report;
    }

    private async Task<int> DeleteOldEventsAsync(string tenantId, string partition, DateTimeOffset before, CancellationToken ct)
    {
        var old = TableClient.CreateQueryFilter($"PartitionKey eq {partition} and Kind eq {"event"} and OccurredAt lt {before}");
        var keys = new List<string>();
        await foreach (var row in profiles.Table.QueryAsync<TableEntity>(old, select: ["RowKey"], cancellationToken: ct)) keys.Add(row.RowKey);
        if (keys.Count == 0) return 0;
        await profiles.DeleteRowsAsync(partition, keys, ct);
        foreach (var profileId in keys.Select(k => k[..Ids.ProfileIdLength]).Distinct()) await TrimRecentAsync(tenantId, profileId, before, ct);
        return keys.Count;
    }

    /// <summary>The profile keeps short copies of its newest events; old ones go too.</summary>
    private Task TrimRecentAsync(string tenantId, string profileId, DateTimeOffset before, CancellationToken ct) =>
        profiles.UpdateAsync(tenantId, profileId, state => state.Recent.RemoveAll(r => r.Timestamp < before) > 0, ct: ct);
}
