using System.Text.Json;
using System.Text.Json.Nodes;
using Azure;
using Azure.Data.Tables;
using Siyu.Core.Analytics;
using Siyu.Core.Journeys;
using Siyu.Core.Storage;
using Siyu.Storage.Tables;

namespace Siyu.Storage.Journeys;

/// <summary>A run as read, with the ETag its next write must match.</summary>
public sealed record StoredRun(JourneyInstance Instance, ETag ETag);

/// <summary>A delivery request as recorded by a journey's send step.</summary>
public sealed record StoredDelivery(string Key, string ProfileId, string JourneyId, string Node, string Channel, string Template,
    IReadOnlyDictionary<string, string> Variables, string Status, DateTimeOffset RequestedAt);

/// <summary>
/// One write of a run: its new state (added when <see cref="ETag"/> is null), the sends it asked for, and what it changed
/// in the counters. All of it commits together or not at all.
/// </summary>
public sealed record RunChange(JourneyInstance Instance, ETag? ETag, IReadOnlyList<DeliveryRequest> Sends, JourneyStats Delta);

/// <summary>
/// Journey runs, their delivery requests and counters, one partition per (tenant, profile bucket) like profiles. A
/// run's new state, the delivery requests of the step and the partition's counters are written in one transaction, so
/// a retried step can neither send twice nor count twice, and many runs of one partition share a transaction.
/// </summary>
public sealed class RunStore(StorageTables tables)
{
    public const int MaxActions = 100;
    private const string StatsPrefix = "!stats~";

    public TableClient Table => tables.JourneyRuns;

    public static string Partition(string tenantId, string profileId) => StorageTables.BucketPartition(tenantId, Ids.ProfileBucket(profileId));

    public static string RunKey(string profileId, string journeyId, string slot) => $"{profileId}~j~{journeyId}~{slot}";

    public static string RunKey(JourneyInstance i) => RunKey(i.ProfileId, i.JourneyId, i.Slot);

    public static string DeliveryKey(string profileId, string key) => $"{profileId}~d~{key}";

    public static string StatsKey(string journeyId) => StatsPrefix + journeyId;

    /// <summary>A journey's counters for one day (China time), kept beside the totals so results read as a time series.</summary>
    public static string DayStatsKey(string journeyId, string day) => $"{StatsPrefix}{journeyId}~d~{day}";

    /// <summary>The counter rows a run's change adds to: the journey's totals and its day.</summary>
    private static string[] CounterKeys(string journeyId, DateTimeOffset now) => [StatsKey(journeyId), DayStatsKey(journeyId, TimeSlots.Day(now))];

    public async Task<StoredRun?> GetAsync(string partition, string runKey, CancellationToken ct = default)
    {
        var row = await Table.GetEntityIfExistsAsync<TableEntity>(partition, runKey, cancellationToken: ct);
        return row.HasValue ? ToRun(row.Value!) : null;
    }

    /// <summary>
    /// Runs by key, all of one partition. Keys that lie close together (one partition's runs due at once, a batch of
    /// entries) are read by one range query over their span, which costs one request per page however many rows it
    /// holds; the span is read only while it is dense enough (at most <see cref="SpanBudget"/> rows per wanted key),
    /// and whatever lies beyond where it stopped is read by point reads, one by one in parallel. Row keys OR-ed in one
    /// query are never used: Table Storage makes them a partition scan, and Azurite evaluates every OR on every row.
    /// </summary>
    public async Task<Dictionary<string, StoredRun>> GetManyAsync(string partition, IReadOnlyCollection<string> runKeys, CancellationToken ct = default)
    {
        var found = new Dictionary<string, StoredRun>(StringComparer.Ordinal);
        var keys = runKeys.Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList();
        var rest = keys;
        if (keys.Count >= SpanMinimum)
        {
            var wanted = keys.ToHashSet(StringComparer.Ordinal);
            var budget = keys.Count * SpanBudget;
            var read = 0;
            string? reached = null;
            var complete = false;
            var filter = TableClient.CreateQueryFilter($"PartitionKey eq {partition} and RowKey ge {keys[0]} and RowKey le {keys[^1]}");
            await foreach (var page in Table.QueryAsync<TableEntity>(filter, maxPerPage: Math.Min(1000, budget), cancellationToken: ct).AsPages())
            {
                foreach (var row in page.Values)
                {
                    if (wanted.Contains(row.RowKey)) found[row.RowKey] = ToRun(row);
                    reached = row.RowKey;
                }
                read += page.Values.Count;
                if (page.ContinuationToken is null) { complete = true; break; }
                if (read >= budget) break;
            }
            // Rows come in key order, so a wanted key at or before the last row read and not found does not exist.
            rest = complete ? [] : keys.Where(k => reached is null || string.CompareOrdinal(k, reached) > 0).ToList();
        }
        await Parallel.ForEachAsync(rest, new ParallelOptions { MaxDegreeOfParallelism = 16, CancellationToken = ct }, async (key, token) =>
        {
            var row = await Table.GetEntityIfExistsAsync<TableEntity>(partition, key, cancellationToken: token);
            if (row.HasValue) lock (found) found[key] = ToRun(row.Value!);
        });
        return found;
    }

    /// <summary>Fewer keys than this are read by point reads alone.</summary>
    public const int SpanMinimum = 4;

    /// <summary>Rows a span read may cover per wanted key before the rest are read by point reads.</summary>
    public const int SpanBudget = 8;

    /// <summary>Every run of one person (all journeys).</summary>
    public async Task<List<StoredRun>> ForProfileAsync(string tenantId, string profileId, CancellationToken ct = default)
    {
        var runs = new List<StoredRun>();
        var from = $"{profileId}~j~";
        var filter = TableClient.CreateQueryFilter($"PartitionKey eq {Partition(tenantId, profileId)} and RowKey ge {from} and RowKey lt {profileId + "~j~~"}");
        await foreach (var row in Table.QueryAsync<TableEntity>(filter, cancellationToken: ct)) runs.Add(ToRun(row));
        return runs;
    }

    public async Task<List<StoredDelivery>> DeliveriesAsync(string tenantId, string profileId, CancellationToken ct = default)
    {
        var list = new List<StoredDelivery>();
        var filter = TableClient.CreateQueryFilter($"PartitionKey eq {Partition(tenantId, profileId)} and RowKey ge {profileId + "~d~"} and RowKey lt {profileId + "~d~~~~"}");
        await foreach (var row in Table.QueryAsync<TableEntity>(filter, cancellationToken: ct))
            list.Add(new StoredDelivery(row.GetString("Key")!, profileId, row.GetString("Journey")!, row.GetString("Node")!, row.GetString("Channel")!,
                row.GetString("Template")!, JsonSerializer.Deserialize<Dictionary<string, string>>(row.GetString("Variables") ?? "{}") ?? new(),
                row.GetString("Status") ?? "requested", row.GetDateTimeOffset("RequestedAt") ?? default));
        return list;
    }

    /// <summary>Every row a person has here (runs, delivery requests), for export, erasure and merges.</summary>
    public IAsyncEnumerable<TableEntity> RowsOfAsync(string tenantId, string profileId, CancellationToken ct = default) =>
        Table.QueryAsync<TableEntity>(TableClient.CreateQueryFilter(
            $"PartitionKey eq {Partition(tenantId, profileId)} and RowKey ge {profileId + "~"} and RowKey lt {profileId + "~~~~"}"), cancellationToken: ct);

    /// <summary>A journey's counters per day (China time) from <paramref name="from"/> to <paramref name="to"/> (yyyy-MM-dd, inclusive), each summed over every partition.</summary>
    public Task<SortedDictionary<string, JourneyStats>> DailyStatsAsync(string tenantId, string journeyId, string from, string to, CancellationToken ct = default) =>
        CounterRows.SumRangeAsync<JourneyStats>(Table, tenantId, $"{StatsPrefix}{journeyId}~d~", from, to, (sum, share) => sum.Add(share), ct);

    /// <summary>A journey's counters: the sum of every partition's share.</summary>
    public async Task<JourneyStats> StatsAsync(string tenantId, string journeyId, CancellationToken ct = default)
    {
        var total = new JourneyStats();
        var key = StatsKey(journeyId);
        await Parallel.ForEachAsync(Enumerable.Range(0, Ids.ProfileBuckets), ct, async (bucket, token) =>
        {
            var row = await Table.GetEntityIfExistsAsync<TableEntity>(StorageTables.BucketPartition(tenantId, bucket), key, cancellationToken: token);
            if (!row.HasValue) return;
            var share = EntityJson.Read<JourneyStats>(row.Value!, "Doc");
            if (share is not null) lock (total) total.Add(share);
        });
        return total;
    }

    /// <summary>
    /// Commits changes of one partition, packed into as few transactions as fit. Returns the runs that could not be
    /// written because someone else changed them first (the caller reads them again and steps again), and the new
    /// ETag of every run written. The partition's counters are read and written under their ETag inside each transaction.
    /// With <paramref name="stopAtConflict"/> the first conflict ends it: that change and every one not yet written are
    /// returned (for changes written without reading first, where one conflict suggests more).
    /// </summary>
    public async Task<(List<RunChange> Conflicted, Dictionary<string, ETag> Committed)> CommitAsync(string partition, IReadOnlyList<RunChange> changes,
        DateTimeOffset now, CancellationToken ct = default, bool stopAtConflict = false)
    {
        var conflicted = new List<RunChange>();
        var committed = new Dictionary<string, ETag>(StringComparer.Ordinal);
        var pending = new Queue<RunChange>(changes);
        var stats = new Dictionary<string, (JourneyStats Stats, ETag? ETag)>(StringComparer.Ordinal);
        while (pending.Count > 0)
        {
            // Pack: each change is its run's row and its sends, plus one counters row per journey in the transaction.
            var take = new List<RunChange>();
            var journeys = new HashSet<string>(StringComparer.Ordinal); // counter row keys
            var actions = 0;
            while (pending.Count > 0)
            {
                var c = pending.Peek();
                var keys = CounterKeys(c.Instance.JourneyId, now);
                var extra = 1 + c.Sends.Count + (c.Delta.IsEmpty ? 0 : keys.Count(k => !journeys.Contains(k)));
                if (take.Count > 0 && actions + extra > MaxActions) break;
                take.Add(pending.Dequeue());
                actions += extra;
                if (!c.Delta.IsEmpty) journeys.UnionWith(keys);
            }

            for (var attempt = 1; take.Count > 0; attempt++)
            {
                // The totals and the day's row are read side by side: one round trip's wait.
                var reads = await Task.WhenAll(journeys.Where(k => !stats.ContainsKey(k)).Select(async k =>
                    (k, await Table.GetEntityIfExistsAsync<TableEntity>(partition, k, cancellationToken: ct))));
                foreach (var (k, row) in reads)
                    stats[k] = row.HasValue ? (EntityJson.Read<JourneyStats>(row.Value!, "Doc") ?? new(), row.Value!.ETag) : (new JourneyStats(), null);
                var tx = new List<TableTransactionAction>();
                var owners = new List<RunChange?>();
                foreach (var c in take)
                {
                    var entity = ToEntity(partition, c.Instance, now);
                    // A merge that writes every property is a replace (see ToEntity); Azurite updates a row in place on a
                    // merge, but removes and re-inserts it on a replace, which slows with the table's size.
                    tx.Add(c.ETag is { } etag
                        ? new TableTransactionAction(TableTransactionActionType.UpdateMerge, entity, etag)
                        : new TableTransactionAction(TableTransactionActionType.Add, entity));
                    owners.Add(c);
                    foreach (var send in c.Sends)
                    {
                        tx.Add(new TableTransactionAction(TableTransactionActionType.Add, ToDeliveryEntity(partition, c.Instance, send, now)));
                        owners.Add(c);
                    }
                }
                // Each change's delta, added once to each of its counter rows.
                var deltas = new Dictionary<string, JourneyStats>(StringComparer.Ordinal);
                foreach (var c in take.Where(c => !c.Delta.IsEmpty))
                    foreach (var k in CounterKeys(c.Instance.JourneyId, now))
                    {
                        if (!deltas.TryGetValue(k, out var sum)) deltas[k] = sum = new JourneyStats();
                        sum.Add(c.Delta);
                    }
                var updated = new Dictionary<string, JourneyStats>(StringComparer.Ordinal);
                foreach (var j in journeys)
                {
                    var next = new JourneyStats();
                    next.Add(stats[j].Stats);
                    if (deltas.TryGetValue(j, out var delta)) next.Add(delta);
                    updated[j] = next;
                    var entity = new TableEntity(partition, j) { ["Kind"] = "stats" };
                    EntityJson.Write(entity, "Doc", next);
                    // A merge, under the ETag: the document is written whole (its chunk count says how much to read), and
                    // Azurite updates a merged row in place where a replace removes and re-inserts it.
                    tx.Add(stats[j].ETag is { } e
                        ? new TableTransactionAction(TableTransactionActionType.UpdateMerge, entity, e)
                        : new TableTransactionAction(TableTransactionActionType.Add, entity));
                    owners.Add(null);
                }
                try
                {
                    var response = await Table.SubmitTransactionAsync(tx, ct);
                    for (var k = 0; k < owners.Count - journeys.Count; k++)
                        if (owners[k] is { } c && tx[k].Entity.RowKey == RunKey(c.Instance) && response.Value[k].Headers.ETag is { } etag)
                            committed[RunKey(c.Instance)] = etag;
                    for (var k = owners.Count - journeys.Count; k < owners.Count; k++)
                    {
                        var j = journeys.ElementAt(k - (owners.Count - journeys.Count));
                        stats[j] = (updated[j], response.Value[k].Headers.ETag);
                    }
                    break;
                }
                catch (RequestFailedException e) when (e.Status is 409 or 412 or 404)
                {
                    var index = e is TableTransactionFailedException t ? t.FailedTransactionActionIndex : null;
                    if (index is { } i && i < owners.Count && owners[i] is { } culprit)
                    {
                        if (stopAtConflict) return ([.. conflicted, .. take, .. pending], committed);
                        take.Remove(culprit);
                        conflicted.Add(culprit);
                    }
                    else
                    {
                        // The counters moved under us (or storage did not say which row failed): read them again.
                        foreach (var j in journeys) stats.Remove(j);
                        if (index is null && attempt > 3)
                        {
                            // Unexplained: commit one at a time so one bad run cannot hold the others back.
                            foreach (var c in take.Skip(1)) pending.Enqueue(c);
                            take = take.Take(1).ToList();
                        }
                    }
                    if (attempt > 50) throw;
                    journeys = take.Where(c => !c.Delta.IsEmpty).SelectMany(c => CounterKeys(c.Instance.JourneyId, now)).ToHashSet(StringComparer.Ordinal);
                }
            }
        }
        return (conflicted, committed);
    }

    /// <summary>Deletes rows of one partition, batched; rows already gone are fine.</summary>
    public async Task DeleteAsync(string partition, IEnumerable<string> rowKeys, CancellationToken ct = default)
    {
        foreach (var chunk in rowKeys.Chunk(MaxActions))
        {
            try
            {
                await Table.SubmitTransactionAsync(chunk.Select(k => new TableTransactionAction(TableTransactionActionType.Delete, new TableEntity(partition, k), ETag.All)), ct);
            }
            catch (RequestFailedException e) when (e.Status == 404)
            {
                foreach (var k in chunk) await Table.DeleteEntityAsync(partition, k, ETag.All, ct);
            }
        }
    }

    /// <summary>
    /// A run's row. Every property is always written (none is ever null), so a merge over an older version leaves
    /// nothing of it behind; a document that shrinks to fewer parts leaves its old parts, which <c>Doc_n</c> excludes.
    /// Only the document is read back; the other properties are for people browsing the table.
    /// </summary>
    public static TableEntity ToEntity(string partition, JourneyInstance i, DateTimeOffset now)
    {
        var entity = new TableEntity(partition, RunKey(i))
        {
            ["Kind"] = "run",
            ["Journey"] = i.JourneyId,
            ["Status"] = i.Status,
            ["Node"] = i.Node ?? "",
            ["UpdatedAt"] = now,
        };
        EntityJson.Write(entity, "Doc", i);
        return entity;
    }

    public static StoredRun ToRun(TableEntity row) =>
        new(EntityJson.Read<JourneyInstance>(row, "Doc") ?? throw new InvalidDataException($"journey run {row.RowKey} has no document"), row.ETag);

    private static TableEntity ToDeliveryEntity(string partition, JourneyInstance i, DeliveryRequest send, DateTimeOffset now) =>
        new(partition, DeliveryKey(i.ProfileId, send.Key))
        {
            ["Kind"] = "delivery",
            ["Key"] = send.Key,
            ["Journey"] = i.JourneyId,
            ["Version"] = i.Version,
            ["Node"] = send.Node,
            ["Channel"] = send.Channel,
            ["Template"] = send.Template,
            ["Variables"] = JsonSerializer.Serialize(send.Variables),
            ["Status"] = "requested",
            ["RequestedAt"] = now,
        };

    private static string Q(string s) => s.Replace("'", "''");
}
