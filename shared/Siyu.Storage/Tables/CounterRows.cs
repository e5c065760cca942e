using Azure.Data.Tables;
using Siyu.Core.Storage;

namespace Siyu.Storage.Tables;

/// <summary>
/// Counters kept as one share per profile bucket partition (so a busy tenant's counting is spread over every bucket):
/// reading a run of them back, summed over the tenant's partitions.
/// </summary>
public static class CounterRows
{
    /// <summary>
    /// The rows keyed <paramref name="prefix"/> + <paramref name="from"/> … <paramref name="prefix"/> + <paramref name="to"/>
    /// (inclusive) in every bucket partition of the tenant, each key's shares summed by <paramref name="add"/>, by the key's part after the prefix.
    /// </summary>
    public static async Task<SortedDictionary<string, T>> SumRangeAsync<T>(TableClient table, string tenantId, string prefix, string from, string to,
        Action<T, T> add, CancellationToken ct) where T : class, new()
    {
        var sums = new SortedDictionary<string, T>(StringComparer.Ordinal);
        await Parallel.ForEachAsync(Enumerable.Range(0, Ids.ProfileBuckets), new ParallelOptions { MaxDegreeOfParallelism = Ids.ProfileBuckets, CancellationToken = ct }, async (bucket, token) =>
        {
            var filter = TableClient.CreateQueryFilter($"PartitionKey eq {StorageTables.BucketPartition(tenantId, bucket)} and RowKey ge {prefix + from} and RowKey le {prefix + to}");
            await foreach (var row in table.QueryAsync<TableEntity>(filter, cancellationToken: token))
            {
                if (EntityJson.Read<T>(row, "Doc") is not { } share) continue;
                var key = row.RowKey[prefix.Length..];
                lock (sums)
                {
                    if (!sums.TryGetValue(key, out var sum)) sums[key] = sum = new T();
                    add(sum, share);
                }
            }
        });
        return sums;
    }
}
