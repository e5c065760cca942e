using Azure;
using Azure.Data.Tables;
using Siyu.Core.Storage;
using Siyu.Storage.Tables;

namespace Siyu.Storage.Segments;

/// <summary>One member of a segment, and since when.</summary>
public sealed record SegmentMember(string ProfileId, DateTimeOffset EnteredAt);

/// <summary>
/// The segment membership index, for listing and counting members. The profile row is the source of truth (its
/// segments change in the same transaction as the events that changed them); this index follows it right after each
/// commit, and the scheduled sweep repairs any difference. Partitioned like the profiles (by the member's profile
/// bucket), so a sweep of one profile partition reconciles one index partition.
/// </summary>
public sealed class MembershipStore(StorageTables tables)
{
    public TableClient Table => tables.Members;

    public static string Partition(string tenantId, int bucket) => StorageTables.BucketPartition(tenantId, bucket);

    public static string RowKey(string segmentId, string profileId) => $"{segmentId}~{profileId}";

    /// <summary>Adds and removes members, a transaction per partition and hundred rows. Idempotent.</summary>
    public async Task ApplyAsync(string tenantId, IEnumerable<(string ProfileId, string SegmentId, DateTimeOffset? EnteredAt)> changes, CancellationToken ct = default)
    {
        var byPartition = changes.GroupBy(c => Partition(tenantId, Ids.ProfileBucket(c.ProfileId)));
        await Parallel.ForEachAsync(byPartition, new ParallelOptions { MaxDegreeOfParallelism = 8, CancellationToken = ct }, async (group, token) =>
        {
            foreach (var chunk in group.DistinctBy(c => (c.SegmentId, c.ProfileId)).Chunk(100))
            {
                var actions = chunk.Select(c => c.EnteredAt is { } at
                    ? new TableTransactionAction(TableTransactionActionType.UpsertReplace,
                        new TableEntity(group.Key, RowKey(c.SegmentId, c.ProfileId)) { ["EnteredAt"] = at })
                    : new TableTransactionAction(TableTransactionActionType.Delete, new TableEntity(group.Key, RowKey(c.SegmentId, c.ProfileId)), ETag.All)).ToList();
                try { await tables.Members.SubmitTransactionAsync(actions, token); }
                catch (TableTransactionFailedException e) when (e.Status == 404)
                {
                    // Some removals were gone already: apply one by one.
                    foreach (var action in actions)
                    {
                        if (action.ActionType == TableTransactionActionType.Delete)
                        {
                            try { await tables.Members.DeleteEntityAsync(group.Key, action.Entity.RowKey, ETag.All, token); }
                            catch (RequestFailedException one) when (one.Status == 404) { }
                        }
                        else await tables.Members.UpsertEntityAsync((TableEntity)action.Entity, TableUpdateMode.Replace, token);
                    }
                }
            }
        });
    }

    /// <summary>Every member row of one partition (all segments), for the sweep to reconcile.</summary>
    public async Task<Dictionary<(string SegmentId, string ProfileId), DateTimeOffset>> ReadPartitionAsync(string tenantId, int bucket, CancellationToken ct = default)
    {
        var rows = new Dictionary<(string, string), DateTimeOffset>();
        await foreach (var row in tables.Members.QueryAsync<TableEntity>(TableClient.CreateQueryFilter($"PartitionKey eq {Partition(tenantId, bucket)}"),
                           select: ["RowKey", "EnteredAt"], cancellationToken: ct))
        {
            var split = row.RowKey.LastIndexOf('~');
            rows[(row.RowKey[..split], row.RowKey[(split + 1)..])] = row.GetDateTimeOffset("EnteredAt") ?? default;
        }
        return rows;
    }

    /// <summary>
    /// A page of a segment's members. The continuation is <c>{bucket}.{last row key}</c>, so pages are stable while
    /// members come and go.
    /// </summary>
    public async Task<(IReadOnlyList<SegmentMember> Members, string? Continuation)> ListAsync(string tenantId, string segmentId, int pageSize,
        string? continuation, CancellationToken ct = default)
    {
        var (bucket, after) = ParseContinuation(continuation, segmentId);
        var members = new List<SegmentMember>(pageSize);
        var prefix = segmentId + "~";
        for (; bucket < Ids.ProfileBuckets; bucket++, after = prefix)
        {
            var filter = TableClient.CreateQueryFilter(
                $"PartitionKey eq {Partition(tenantId, bucket)} and RowKey gt {after} and RowKey lt {segmentId + "\u007f"}");
            await foreach (var row in tables.Members.QueryAsync<TableEntity>(filter, maxPerPage: pageSize - members.Count, select: ["RowKey", "EnteredAt"], cancellationToken: ct))
            {
                members.Add(new SegmentMember(row.RowKey[prefix.Length..], row.GetDateTimeOffset("EnteredAt") ?? default));
                if (members.Count == pageSize) return (members, $"{bucket}.{row.RowKey}");
            }
        }
        return (members, null);
    }

    /// <summary>A page of a segment's members in one profile bucket, after the profile id <paramref name="after"/> (null: from the start).</summary>
    public async Task<IReadOnlyList<string>> ListBucketAsync(string tenantId, string segmentId, int bucket, string? after, int pageSize, CancellationToken ct = default)
    {
        var members = new List<string>(pageSize);
        var prefix = segmentId + "~";
        var filter = TableClient.CreateQueryFilter(
            $"PartitionKey eq {Partition(tenantId, bucket)} and RowKey gt {prefix + (after ?? "")} and RowKey lt {segmentId + "\u007f"}");
        await foreach (var row in tables.Members.QueryAsync<TableEntity>(filter, maxPerPage: pageSize, select: ["RowKey"], cancellationToken: ct))
        {
            members.Add(row.RowKey[prefix.Length..]);
            if (members.Count == pageSize) break;
        }
        return members;
    }

    private static (int Bucket, string After) ParseContinuation(string? continuation, string segmentId)
    {
        var prefix = segmentId + "~";
        if (continuation is null) return (0, prefix);
        var dot = continuation.IndexOf('.');
        if (dot > 0 && int.TryParse(continuation[..dot], out var bucket) && bucket is >= 0 and < Ids.ProfileBuckets
            && continuation[(dot + 1)..].StartsWith(prefix, StringComparison.Ordinal))
            return (bucket, continuation[(dot + 1)..]);
        throw new FormatException("not a continuation of this segment's members");
    }

    /// <summary>How many members a segment has: a count over its rows in every partition, in parallel.</summary>
    public async Task<long> CountAsync(string tenantId, string segmentId, CancellationToken ct = default)
    {
        long total = 0;
        await Parallel.ForEachAsync(Enumerable.Range(0, Ids.ProfileBuckets), new ParallelOptions { MaxDegreeOfParallelism = 16, CancellationToken = ct }, async (bucket, token) =>
        {
            var filter = TableClient.CreateQueryFilter(
                $"PartitionKey eq {Partition(tenantId, bucket)} and RowKey gt {segmentId + "~"} and RowKey lt {segmentId + "\u007f"}");
            long count = 0;
            await foreach (var _ in tables.Members.QueryAsync<TableEntity>(filter, maxPerPage: 1000, select: ["RowKey"], cancellationToken: token)) count++;
            Interlocked.Add(ref total, count);
        });
        return total;
    }

    /// <summary>Removes one person from the index of the given segments (erasure, merge).</summary>
    public Task RemoveAsync(string tenantId, string profileId, IEnumerable<string> segmentIds, CancellationToken ct = default) =>
        ApplyAsync(tenantId, segmentIds.Select(s => (profileId, s, (DateTimeOffset?)null)), ct);
}
