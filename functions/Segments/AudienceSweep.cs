using Azure;
using Azure.Data.Tables;
using Microsoft.Extensions.Options;
using Siyu.Core.Audience;
using Siyu.Core.Profiles;
using Siyu.Core.Storage;
using Siyu.Functions.Audience;
using Siyu.Functions.Operations;
using Siyu.Functions.Merges;
using Siyu.Storage.Audience;
using Siyu.Storage.Identities;
using Siyu.Storage.Privacy;
using Siyu.Storage.Profiles;
using Siyu.Storage.Segments;
using Siyu.Storage.Tenants;

namespace Siyu.Functions.Segments;

/// <summary>What one partition's sweep found. <see cref="IndexRowsFixed"/>: index rows written or removed to match the profiles (entries and exits of this sweep, and repairs).</summary>
public sealed record SweepReport(int Evaluated, int Changed, int IndexRowsFixed)
{
    /// <summary>Split profiles the identity repair merged.</summary>
    public int Merged { get; init; }
}

/// <summary>
/// The scheduled sweep: conditions that change with the passing of time ("did not buy in 30 days", lifecycle stage,
/// RFM recency) are re-evaluated for every profile, and the membership index is reconciled with the profiles (which
/// hold the truth). A tenant's sweep is an orchestration (<see cref="SweepOrchestration"/>) with one activity per
/// profile partition, so it spreads over instances and a partition that fails is retried alone. A segment or
/// trait-threshold change asks for a sweep of its tenant at once.
/// </summary>
public sealed class AudienceSweep(
    TenantStore tenants, ProfileStore profiles, AudienceStore audience, DefinitionStore definitions, MembershipStore members,
    ProfileRefresher refresher, DurableAccess durable, TimeProvider clock, ILogger<AudienceSweep> log,
    Journeys.JourneyTriggers journeys, IdentityStore identities, ProfileMerger merger)
{
    /// <summary>
    /// Starts a sweep of every partition of one tenant, now; with <paramref name="repairIdentities"/>, the identity repair
    /// too. Each change asks for its own (a sweep already under way may have read the old definitions). Returns its instance id.
    /// </summary>
    public async Task<string> RequestAsync(string tenantId, CancellationToken ct, bool repairIdentities = false)
    {
        var id = OperationIds.Sweep(tenantId, "c" + clock.GetUtcNow().UtcTicks.ToString(System.Globalization.CultureInfo.InvariantCulture));
        await durable.StartOnceAsync(SweepOrchestration.Name, id, new SweepRequest(tenantId, repairIdentities), ct);
        return id;
    }

    /// <summary>Starts the hour's sweep of every tenant (the timer): one instance per tenant and hour, however often the timer fires.</summary>
    public async Task<int> RequestAllAsync(CancellationToken ct)
    {
        var all = await tenants.ListAsync(ct);
        var hour = "h" + clock.GetUtcNow().ToString("yyyyMMddHH", System.Globalization.CultureInfo.InvariantCulture);
        foreach (var tenant in all) await durable.StartOnceAsync(SweepOrchestration.Name, OperationIds.Sweep(tenant.Id, hour), new SweepRequest(tenant.Id, false), ct);
        return all.Count;
    }

    /// <summary>One partition's sweep (an activity of the orchestration). Idempotent.</summary>
    public async Task<SweepReport> RunBucketAsync(SweepBucket c, CancellationToken ct)
    {
        var merged = c.RepairIdentities ? await RepairIdentitiesAsync(c.TenantId, c.Bucket, ct) : 0;
        var report = await SweepAsync(c.TenantId, c.Bucket, ct);
        return report with { Merged = merged };
    }

    /// <summary>
    /// Finds people split over two profiles and makes them one: a live profile that lists an identity the index gives
    /// to another live profile is merged with it (OneID, as ingestion would have), and an identity it lists that the
    /// index has no row for is claimed for it. Repairs what resolution races left before identities were claimed as
    /// they are now; one point read per identity, so it runs when asked for, not with every sweep. Idempotent.
    /// Returns how many merges it made.
    /// </summary>
    public async Task<int> RepairIdentitiesAsync(string tenantId, int bucket, CancellationToken ct)
    {
        var partition = Storage.Tables.StorageTables.BucketPartition(tenantId, bucket);
        var filter = TableClient.CreateQueryFilter($"PartitionKey eq {partition} and Kind eq {"profile"}");
        var live = new List<ProfileState>();
        await foreach (var row in profiles.Table.QueryAsync<TableEntity>(filter, maxPerPage: 1000, cancellationToken: ct))
            if (ProfileStore.FromEntity(row) is { MergedInto: null, ErasureRequestedAt: null } state) live.Add(state);

        var merges = 0;
        foreach (var state in live)
        {
            var current = state.ProfileId; // the survivor, once this profile has been merged
            foreach (var key in state.Identities.ToList())
            {
                var owner = await identities.LookupAsync(tenantId, key, ct, fresh: true)
                            ?? (await identities.ClaimAsync(tenantId, [(key, current)], ct))[key];
                if (owner == current) continue;
                if (await profiles.ResolveAsync(tenantId, owner, ct) is not { } other || other.State.ProfileId == current) continue;
                var (result, survivor) = await merger.MergeAsync(tenantId, current, other.State.ProfileId, ct);
                if (result is not (MergeResult.Merged or MergeResult.AlreadyOne)) continue;
                if (result == MergeResult.Merged)
                {
                    merges++;
                    log.LogWarning("Identity repair in tenant {Tenant}: profiles {A} and {B} shared an identity and were merged", tenantId, current, other.State.ProfileId);
                }
                current = survivor!;
            }
        }
        SweepMetrics.SplitProfilesMerged.Add(merges);
        return merges;
    }

    /// <summary>Sweeps one partition of one tenant. Idempotent.</summary>
    public async Task<SweepReport> SweepAsync(string tenantId, int bucket, CancellationToken ct)
    {
        var now = clock.GetUtcNow();
        var audienceDefinitions = await audience.LoadAsync(tenantId, ct);
        var dataDefinitions = await definitions.GetAsync(tenantId, ct);
        // The index before the profiles: a row seen here was written after its profile's commit, which the read below sees.
        var indexed = await members.ReadPartitionAsync(tenantId, bucket, ct);
        var partition = Storage.Tables.StorageTables.BucketPartition(tenantId, bucket);
        var expected = new Dictionary<(string SegmentId, string ProfileId), DateTimeOffset>();
        int evaluated = 0, changed = 0;

        var filter = TableClient.CreateQueryFilter($"PartitionKey eq {partition} and Kind eq {"profile"}");
        var pending = new List<(TableEntity Row, ProfileState State, ProfileChanges Changes)>();
        await foreach (var row in profiles.Table.QueryAsync<TableEntity>(filter, maxPerPage: 1000, cancellationToken: ct))
        {
            var state = ProfileStore.FromEntity(row);
            evaluated++;
            if (state.ErasureRequestedAt is not null) continue;
            var changes = audienceDefinitions.Refresh(state, [], dataDefinitions, now);
            foreach (var (segment, at) in state.Segments) expected[(segment, state.ProfileId)] = at;
            if (!changes.Any) continue;
            pending.Add((row, state, changes));
            if (pending.Count >= 50) changed += await WriteAsync(tenantId, pending, expected, now, ct);
        }
        if (pending.Count > 0) changed += await WriteAsync(tenantId, pending, expected, now, ct);

        var repairs = expected.Where(e => !indexed.ContainsKey(e.Key)).Select(e => (e.Key.ProfileId, e.Key.SegmentId, (DateTimeOffset?)e.Value))
            .Concat(indexed.Keys.Where(k => !expected.ContainsKey(k)).Select(k => (k.ProfileId, k.SegmentId, (DateTimeOffset?)null)))
            .ToList();
        if (repairs.Count > 0) await members.ApplyAsync(tenantId, repairs, ct);
        SweepMetrics.ProfilesEvaluated.Add(evaluated);
        return new SweepReport(evaluated, changed, repairs.Count);
    }

    /// <summary>
    /// Writes changed profiles with their history rows, a transaction of whole profiles at a time, each under the
    /// ETag it was read with. A profile that changed meanwhile (an event) is refreshed again on its own.
    /// </summary>
    private async Task<int> WriteAsync(string tenantId, List<(TableEntity Row, ProfileState State, ProfileChanges Changes)> pending,
        Dictionary<(string, string), DateTimeOffset> expected, DateTimeOffset now, CancellationToken ct)
    {
        var written = 0;
        var batch = new List<(ProfileState State, List<TableTransactionAction> Actions, ProfileChanges Changes)>();
        foreach (var (row, state, changes) in pending)
        {
            var actions = ProfileRefresher.Rows(tenantId, state.ProfileId, changes, now)
                .Select(r => new TableTransactionAction(TableTransactionActionType.UpsertReplace, r))
                .Prepend(new TableTransactionAction(TableTransactionActionType.UpdateReplace, ProfileStore.ToEntity(tenantId, state), row.ETag))
                .ToList();
            if (batch.Sum(b => b.Actions.Count) + actions.Count > 100) written += await SubmitAsync(tenantId, batch, expected, ct);
            batch.Add((state, actions, changes));
        }
        if (batch.Count > 0) written += await SubmitAsync(tenantId, batch, expected, ct);
        pending.Clear();
        return written;
    }

    private async Task<int> SubmitAsync(string tenantId, List<(ProfileState State, List<TableTransactionAction> Actions, ProfileChanges Changes)> batch,
        Dictionary<(string, string), DateTimeOffset> expected, CancellationToken ct)
    {
        // The index follows at the end of the partition, from what the profiles now say, in one reconciliation.
        try
        {
            await profiles.Table.SubmitTransactionAsync(batch.SelectMany(b => b.Actions), ct);
            await journeys.SegmentsEnteredAsync(tenantId, batch.Select(b => (b.State, b.Changes)), clock.GetUtcNow(), ct);
        }
        catch (RequestFailedException e) when (e.Status is 412 or 404)
        {
            // Someone wrote one of these profiles meanwhile: refresh each again from what is stored now.
            foreach (var (state, _, _) in batch)
            {
                var (result, fresh) = await refresher.UpdateAsync(tenantId, state.ProfileId, s => s.ErasureRequestedAt is null && s.MergedInto is null,
                    followAliases: false, ct: ct);
                foreach (var key in expected.Keys.Where(k => k.Item2 == state.ProfileId).ToList()) expected.Remove(key);
                if (fresh is not null && result is ProfileUpdate.Written or ProfileUpdate.Unchanged)
                    foreach (var (segment, at) in fresh.Segments) expected[(segment, state.ProfileId)] = at;
            }
        }
        var count = batch.Count;
        batch.Clear();
        return count;
    }
}
public static class SweepMetrics
{
    private static readonly System.Diagnostics.Metrics.Meter Meter = new("Siyu.Audience");
    public static readonly System.Diagnostics.Metrics.Counter<long> ProfilesEvaluated = Meter.CreateCounter<long>("siyu.sweep.profiles_evaluated");
    public static readonly System.Diagnostics.Metrics.Counter<long> SplitProfilesMerged = Meter.CreateCounter<long>("siyu.sweep.split_profiles_merged");
}
