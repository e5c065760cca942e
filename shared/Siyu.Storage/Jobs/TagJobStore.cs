using Azure;
using Azure.Data.Tables;
using Siyu.Storage.Tables;

namespace Siyu.Storage.Jobs;

/// <summary>A bulk tagging job and its progress, summed over its chunks.</summary>
public sealed record TagJob(
    string JobId, string Tag, string Action, string Status, int Total, int Processed, int Tagged, int Unchanged, int Skipped, int Failed,
    string CreatedBy, DateTimeOffset CreatedAt, DateTimeOffset? FinishedAt);

/// <summary>What one chunk came to.</summary>
public sealed record ChunkResult(int Tagged, int Unchanged, int Skipped, int Failed);

/// <summary>
/// One chunk of a job as the worker sees it. <see cref="At"/> is the job's time, the same for every run of the chunk:
/// the tag marks and history rows carry it, so a run after a crash knows which changes the job already made
/// (null for chunks written before chunks carried it).
/// </summary>
public sealed record TagJobChunk(string Tag, string Action, string By, IReadOnlyList<string> Targets, bool Done, DateTimeOffset? At = null);

/// <summary>
/// Bulk tagging jobs: PK tenant; RK <c>{jobId}</c> for the job, <c>{jobId}~{chunk}</c> for each chunk of its targets.
/// A chunk forgets its targets once done, so no job row outlives a person's erasure by naming them for long.
/// </summary>
public sealed class TagJobStore(StorageTables tables, TimeProvider clock)
{
    public async Task CreateAsync(string tenantId, string jobId, string tag, string action, string by, IReadOnlyList<IReadOnlyList<string>> chunks, CancellationToken ct = default)
    {
        var now = clock.GetUtcNow();
        var rows = chunks.Select((targets, i) => new TableEntity(tenantId, ChunkKey(jobId, i))
        {
            ["Tag"] = tag, ["Action"] = action, ["By"] = by, ["Targets"] = string.Join('\n', targets), ["Count"] = targets.Count, ["Done"] = false, ["At"] = now,
        }).Prepend(new TableEntity(tenantId, jobId)
        {
            ["Tag"] = tag, ["Action"] = action, ["By"] = by, ["Total"] = chunks.Sum(c => c.Count), ["Chunks"] = chunks.Count, ["CreatedAt"] = now,
        });
        // All rows of a job in one partition: a hundred per transaction, the job row first so progress is readable at once.
        foreach (var batch in rows.Chunk(100))
            await tables.Jobs.SubmitTransactionAsync(batch.Select(r => new TableTransactionAction(TableTransactionActionType.Add, r)), ct);
    }

    public async Task<TagJobChunk?> GetChunkAsync(string tenantId, string jobId, int chunk, CancellationToken ct = default)
    {
        var row = await tables.Jobs.GetEntityIfExistsAsync<TableEntity>(tenantId, ChunkKey(jobId, chunk), cancellationToken: ct);
        if (!row.HasValue) return null;
        var r = row.Value!;
        return new TagJobChunk(r.GetString("Tag")!, r.GetString("Action")!, r.GetString("By")!,
            (r.GetString("Targets") ?? "").Split('\n', StringSplitOptions.RemoveEmptyEntries), r.GetBoolean("Done") == true, r.GetDateTimeOffset("At"));
    }

    public Task CompleteChunkAsync(string tenantId, string jobId, int chunk, ChunkResult result, CancellationToken ct = default) =>
        tables.Jobs.UpsertEntityAsync(new TableEntity(tenantId, ChunkKey(jobId, chunk))
        {
            ["Done"] = true, ["Targets"] = "", ["Tagged"] = result.Tagged, ["Unchanged"] = result.Unchanged, ["Skipped"] = result.Skipped,
            ["Failed"] = result.Failed, ["FinishedAt"] = clock.GetUtcNow(),
        }, TableUpdateMode.Merge, ct);

    public async Task<TagJob?> GetAsync(string tenantId, string jobId, CancellationToken ct = default)
    {
        TableEntity? job = null;
        var chunks = new List<TableEntity>();
        var filter = TableClient.CreateQueryFilter($"PartitionKey eq {tenantId} and RowKey ge {jobId} and RowKey lt {jobId + "\u007f"}");
        await foreach (var row in tables.Jobs.QueryAsync<TableEntity>(filter, select: ["RowKey", "Tag", "Action", "By", "Total", "Chunks", "CreatedAt", "Count", "Done",
                           "Tagged", "Unchanged", "Skipped", "Failed", "FinishedAt"], cancellationToken: ct))
        {
            if (row.RowKey == jobId) job = row;
            else if (row.RowKey.StartsWith(jobId + "~", StringComparison.Ordinal)) chunks.Add(row);
        }
        if (job is null) return null;
        var done = chunks.Where(c => c.GetBoolean("Done") == true).ToList();
        int Sum(string field) => done.Sum(c => c.GetInt32(field) ?? 0);
        var all = done.Count == (job.GetInt32("Chunks") ?? 0);
        return new TagJob(jobId, job.GetString("Tag")!, job.GetString("Action")!, all ? "done" : done.Count > 0 ? "running" : "queued",
            job.GetInt32("Total") ?? 0, done.Sum(c => c.GetInt32("Count") ?? 0), Sum("Tagged"), Sum("Unchanged"), Sum("Skipped"), Sum("Failed"),
            job.GetString("By") ?? "", job.GetDateTimeOffset("CreatedAt") ?? default, all && done.Count > 0 ? done.Max(c => c.GetDateTimeOffset("FinishedAt")) : null);
    }

    /// <summary>The jobs of a tenant with a chunk not yet done, and how many chunks each has: what housekeeping makes sure runs.</summary>
    public async Task<IReadOnlyList<(string JobId, int Chunks)>> ListUnfinishedAsync(string tenantId, CancellationToken ct = default)
    {
        var chunks = new Dictionary<string, int>(StringComparer.Ordinal);
        var open = new HashSet<string>(StringComparer.Ordinal);
        await foreach (var row in tables.Jobs.QueryAsync<TableEntity>(r => r.PartitionKey == tenantId, select: ["RowKey", "Chunks", "Done"], cancellationToken: ct))
        {
            var cut = row.RowKey.IndexOf('~');
            if (cut < 0) chunks[row.RowKey] = row.GetInt32("Chunks") ?? 0;
            else if (row.GetBoolean("Done") != true) open.Add(row.RowKey[..cut]);
        }
        return open.Where(chunks.ContainsKey).Order(StringComparer.Ordinal).Select(id => (id, chunks[id])).ToList();
    }

    private static string ChunkKey(string jobId, int chunk) => $"{jobId}~{chunk:D4}";
}
