using Azure;
using Azure.Data.Tables;
using Siyu.Core.Analytics;
using Siyu.Storage.Tables;

namespace Siyu.Storage.Analytics;

/// <summary>An analysis job: what was asked, by whom, where it is (running, done, failed), and its totals once done.</summary>
public sealed record AnalysisJob(string Id, AnalysisRequest Request, string Status, string By, DateTimeOffset RequestedAt,
    DateTimeOffset? CompletedAt = null, AnalysisPartial? Totals = null, string? Error = null);

/// <summary>
/// Analysis jobs and the audience's daily snapshots, in the jobs table: PK tenant, RK <c>an~{jobId}</c> per job and
/// <c>an-day~{yyyy-MM-dd}</c> for the last audience snapshot of each day (what "segment sizes per day" and the
/// consent board's history read). Totals are counts only.
/// </summary>
public sealed class AnalysisStore(StorageTables tables)
{
    private const string JobPrefix = "an~";
    private const string DayPrefix = "an-day~";

    public async Task<bool> CreateAsync(string tenantId, AnalysisJob job, CancellationToken ct = default)
    {
        var entity = new TableEntity(tenantId, JobPrefix + job.Id) { ["Kind"] = "analysis" };
        EntityJson.Write(entity, "Doc", job);
        try { await tables.Jobs.AddEntityAsync(entity, ct); return true; }
        catch (RequestFailedException e) when (e.Status == 409) { return false; }
    }

    public async Task<AnalysisJob?> GetAsync(string tenantId, string jobId, CancellationToken ct = default)
    {
        var row = await tables.Jobs.GetEntityIfExistsAsync<TableEntity>(tenantId, JobPrefix + jobId, cancellationToken: ct);
        return row.HasValue ? EntityJson.Read<AnalysisJob>(row.Value!, "Doc") : null;
    }

    /// <summary>Records how a job ended; an audience snapshot also becomes its day's snapshot.</summary>
    public async Task CompleteAsync(string tenantId, AnalysisJob done, CancellationToken ct = default)
    {
        var entity = new TableEntity(tenantId, JobPrefix + done.Id) { ["Kind"] = "analysis" };
        EntityJson.Write(entity, "Doc", done);
        await tables.Jobs.UpsertEntityAsync(entity, TableUpdateMode.Replace, ct);
        if (done is { Status: "done", Request.Kind: AnalysisKinds.Audience, Totals: { } totals, CompletedAt: { } at })
        {
            var day = new TableEntity(tenantId, DayPrefix + TimeSlots.Day(at)) { ["Kind"] = "analysis-day", ["Job"] = done.Id, ["At"] = at };
            EntityJson.Write(day, "Doc", totals);
            await tables.Jobs.UpsertEntityAsync(day, TableUpdateMode.Replace, ct);
        }
    }

    /// <summary>The audience snapshots from <paramref name="from"/> to <paramref name="to"/> (yyyy-MM-dd, inclusive), oldest first.</summary>
    public async Task<List<(string Day, DateTimeOffset At, AnalysisPartial Totals)>> DaysAsync(string tenantId, string from, string to, CancellationToken ct = default)
    {
        var list = new List<(string, DateTimeOffset, AnalysisPartial)>();
        var filter = TableClient.CreateQueryFilter($"PartitionKey eq {tenantId} and RowKey ge {DayPrefix + from} and RowKey le {DayPrefix + to}");
        await foreach (var row in tables.Jobs.QueryAsync<TableEntity>(filter, cancellationToken: ct))
            if (EntityJson.Read<AnalysisPartial>(row, "Doc") is { } totals)
                list.Add((row.RowKey[DayPrefix.Length..], row.GetDateTimeOffset("At") ?? default, totals));
        return list;
    }
}
