using System.Globalization;
using Azure;
using Azure.Data.Tables;
using Siyu.Storage.Tables;

namespace Siyu.Storage.Journeys;

/// <summary>A timer found due: the timer, its row key and the ETag it was read with.</summary>
public sealed record DueTimer(JourneyTimer Timer, string RowKey, ETag ETag);

/// <summary>A timer: wake run <see cref="RunKey"/> of partition (<see cref="TenantId"/>, <see cref="Bucket"/>) at <see cref="DueAt"/>, if it is still at <see cref="Generation"/>.</summary>
public sealed record JourneyTimer(string TenantId, int Bucket, string RunKey, long Generation, DateTimeOffset DueAt);

/// <summary>
/// Journey timers, indexed by when they fall due, instead of as delayed queue messages: a queue holding many delayed
/// messages gets slow for everyone (Azurite: 16 receives/s at 10,000 messages), while a table serves "what is due
/// now" as one range query per partition however many timers wait. Partitions are hours, each split into
/// <see cref="Shards"/> so the rows due in one hour are written and swept in parallel. A timer is never changed, only
/// written and deleted; a timer that outlives its purpose is recognised by its generation and ignored. Timers due
/// within seconds do not come here (see Functions' TimerArming): every row is filed well before it falls due.
/// </summary>
public sealed class TimerStore(StorageTables tables)
{
    public const int Shards = 8;
    private const string CursorPartition = "cursor";
    private const string CursorRow = "sweep";
    private const string ClockRow = "clock";

    public TableClient Table => tables.Timers;

    /// <summary>The hour a moment belongs to, as a partition key prefix.</summary>
    public static string Hour(DateTimeOffset at) => at.UtcDateTime.ToString("yyyyMMddHH", CultureInfo.InvariantCulture);

    public static DateTimeOffset HourStart(string hour) =>
        new(DateTime.ParseExact(hour, "yyyyMMddHH", CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal), TimeSpan.Zero);

    public static string Partition(string hour, int shard) => $"{hour}~{shard}";

    /// <summary>Writes timers. A timer due in the past is filed under <paramref name="now"/>, so the sweep, which never goes back, still finds it.</summary>
    public async Task ArmAsync(IEnumerable<JourneyTimer> timers, DateTimeOffset now, CancellationToken ct = default)
    {
        var rows = timers.Select(t =>
        {
            var due = t.DueAt < now ? now : t.DueAt;
            var partition = Partition(Hour(due), t.Bucket % Shards);
            return new TableEntity(partition, $"{due.UtcTicks:D19}~{t.TenantId}~{t.RunKey}~{t.Generation}")
            {
                ["Tenant"] = t.TenantId,
                ["Bucket"] = t.Bucket,
                ["Run"] = t.RunKey,
                ["Generation"] = t.Generation,
                ["DueAt"] = t.DueAt,
            };
        }).GroupBy(r => r.PartitionKey);
        await Parallel.ForEachAsync(rows.SelectMany(g => g.Chunk(100)), new ParallelOptions { MaxDegreeOfParallelism = 8, CancellationToken = ct }, async (chunk, token) =>
        {
            if (chunk.Length == 1) await Table.UpsertEntityAsync(chunk[0], TableUpdateMode.Replace, token);
            else await Table.SubmitTransactionAsync(chunk.Select(r => new TableTransactionAction(TableTransactionActionType.UpsertReplace, r)), token);
        });
    }

    /// <summary>
    /// Timers of one partition due by <paramref name="now"/>, in row-key order (oldest first), after row key
    /// <paramref name="after"/> when given, at most <paramref name="max"/>, each with the ETag to clear it by.
    /// </summary>
    public async Task<List<DueTimer>> DueAsync(string partition, string? after, DateTimeOffset now, int max, CancellationToken ct = default)
    {
        var list = new List<DueTimer>();
        var upTo = $"{now.UtcTicks + 1:D19}";
        var filter = after is null
            ? TableClient.CreateQueryFilter($"PartitionKey eq {partition} and RowKey lt {upTo}")
            : TableClient.CreateQueryFilter($"PartitionKey eq {partition} and RowKey gt {after} and RowKey lt {upTo}");
        await foreach (var row in Table.QueryAsync<TableEntity>(filter, maxPerPage: Math.Min(max, 1000), cancellationToken: ct))
        {
            list.Add(new DueTimer(new JourneyTimer(row.GetString("Tenant")!, row.GetInt32("Bucket") ?? 0, row.GetString("Run")!,
                row.GetInt64("Generation") ?? 0, row.GetDateTimeOffset("DueAt") ?? now), row.RowKey, row.ETag));
            if (list.Count >= max) break;
        }
        return list;
    }

    /// <summary>When the first timer of a partition due after <paramref name="now"/> falls due, or null when there is none.</summary>
    public async Task<DateTimeOffset?> NextDueAsync(string partition, DateTimeOffset now, CancellationToken ct = default)
    {
        var from = $"{now.UtcTicks + 1:D19}";
        await foreach (var row in Table.QueryAsync<TableEntity>(TableClient.CreateQueryFilter($"PartitionKey eq {partition} and RowKey ge {from}"),
            maxPerPage: 1, select: ["RowKey"], cancellationToken: ct))
            return new DateTimeOffset(long.Parse(row.RowKey.AsSpan(0, 19), CultureInfo.InvariantCulture), TimeSpan.Zero);
        return null;
    }

    /// <summary>
    /// Deletes fired timers, each only as it was read: a row written again since (the same timer armed anew) stays,
    /// and so does a row another sweeper deleted already (it is gone).
    /// </summary>
    public async Task DeleteAsync(string partition, IReadOnlyList<(string RowKey, ETag ETag)> rows, CancellationToken ct = default)
    {
        await Parallel.ForEachAsync(rows.Chunk(100), new ParallelOptions { MaxDegreeOfParallelism = 2, CancellationToken = ct }, async (chunk, token) =>
        {
            try
            {
                await Table.SubmitTransactionAsync(chunk.Select(r => new TableTransactionAction(TableTransactionActionType.Delete, new TableEntity(partition, r.RowKey), r.ETag)), token);
            }
            catch (RequestFailedException e) when (e.Status is 404 or 412)
            {
                foreach (var (key, etag) in chunk)
                    try { await Table.DeleteEntityAsync(partition, key, etag, token); }
                    catch (RequestFailedException one) when (one.Status is 404 or 412) { }
            }
        });
    }

    /// <summary>The earliest hour that may still hold timers, or null when never swept.</summary>
    public async Task<string?> ReadCursorAsync(CancellationToken ct = default)
    {
        var row = await Table.GetEntityIfExistsAsync<TableEntity>(CursorPartition, CursorRow, cancellationToken: ct);
        return row.HasValue ? row.Value!.GetString("Hour") : null;
    }

    /// <summary>When the journey clock means to wake next (<see cref="DateTimeOffset.MaxValue"/> while it sweeps); null when it never ran.</summary>
    public async Task<DateTimeOffset?> ReadClockWakeAsync(CancellationToken ct = default)
    {
        var row = await Table.GetEntityIfExistsAsync<TableEntity>(CursorPartition, ClockRow, cancellationToken: ct);
        return row.HasValue && row.Value!.GetInt64("WakeTicks") is { } ticks ? new DateTimeOffset(ticks, TimeSpan.Zero) : null;
    }

    public Task WriteClockWakeAsync(DateTimeOffset wakeAt, CancellationToken ct = default) =>
        Table.UpsertEntityAsync(new TableEntity(CursorPartition, ClockRow) { ["WakeTicks"] = wakeAt.UtcTicks }, TableUpdateMode.Replace, ct);

    public Task WriteCursorAsync(string hour, CancellationToken ct = default) =>
        Table.UpsertEntityAsync(new TableEntity(CursorPartition, CursorRow) { ["Hour"] = hour }, TableUpdateMode.Replace, ct);
}
