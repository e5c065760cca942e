using System.Text.Json;
using System.Text.Json.Nodes;
using Azure.Data.Tables;
using Microsoft.DurableTask.Client;
using Siyu.Core.Analytics;
using Siyu.Core.Profiles;
using Siyu.Core.Storage;
using Siyu.Core.Tenants;
using Siyu.Core.Validation;
using Siyu.Functions.Api;
using Siyu.Functions.Operations;
using Siyu.Functions.Tenants;
using Siyu.Storage.Analytics;
using Siyu.Storage.Profiles;
using Siyu.Storage.Tables;
using Siyu.Storage.Tenants;

namespace Siyu.Functions.Analytics;

public sealed record AnalysisProgress(int Partitions, int Done);

/// <summary>An analysis job as the API shows it: where it is, and its result once done (funnel steps, cohort rows, or the audience's totals).</summary>
public sealed record AnalysisJobView(string Id, string Kind, string Status, AnalysisRequest Request, DateTimeOffset RequestedAt, DateTimeOffset? CompletedAt,
    AnalysisProgress Progress, long? People, IReadOnlyList<FunnelStep>? Funnel, IReadOnlyList<CohortRow>? Cohort, AnalysisPartial? Audience, string? Error, string Location);

/// <summary>
/// Analysis jobs: <c>POST /api/analytics/jobs</c> stores the request and starts its orchestration (202 at once);
/// <c>GET /api/analytics/jobs/{id}</c> shows its progress and, when done, its result. Each partition is read once per
/// job, by one activity: the profile rows (consent, traits, segments, activity), and for a funnel the event rows, for
/// the audience the consent ledger's withdrawals. Merged-away and erasing profiles are not counted.
/// </summary>
public sealed class AnalysisJobs(AnalysisStore store, StorageTables tables, TenantStore tenants, DurableAccess durable, TimeProvider clock, ILogger<AnalysisJobs> log)
{
    public const int MaxIdLength = 32;

    public static void Map(RouteGroupBuilder group)
    {
        group.MapPost("/jobs", StartJobAsync)
            .Allow(Role.Marketer, Role.Admin)
            .WithName("StartAnalysis")
            .WithSummary("Start an analysis job: {\"kind\": \"funnel\", \"steps\": [\"view\", \"add_to_cart\", \"order_paid\"], \"windowDays\": 7, \"from\", \"to\"}, {\"kind\": \"cohort\", \"weeks\": 8} or {\"kind\": \"audience\"}")
            .WithDescription("Answers 202 with the job; GET its location for progress and the result. A durable orchestration reads every profile partition once.")
            .Accepts<JsonObject>("application/json")
            .Produces<AnalysisJobView>(StatusCodes.Status202Accepted)
            .ProducesProblem(StatusCodes.Status400BadRequest);

        group.MapGet("/jobs/{id}", GetJobAsync)
            .Allow(Role.Marketer, Role.Admin)
            .WithName("GetAnalysis")
            .WithSummary("An analysis job: status (running, done, failed), partitions done, and its result: funnel steps with conversion and 95 % intervals, cohort rows, or the audience's totals")
            .Produces<AnalysisJobView>()
            .ProducesProblem(StatusCodes.Status404NotFound);
    }

    private static async Task<IResult> StartJobAsync(HttpContext http, AnalysisJobs jobs, CancellationToken ct)
    {
        var (node, problem) = await RequestBody.ReadNodeAsync(http.Request, 16 * 1024, ct);
        if (problem is not null) return problem;
        var doc = node as JsonObject;
        var errors = new List<(string Field, string Message)>();
        var request = AnalysisRequest.Parse(doc, errors);
        if (request is null || errors.Count > 0)
            return Problems.Invalid("invalid_analysis", "analysis", errors.Select(e => new FieldError(e.Field, "invalid_analysis", e.Message)).ToList());
        var caller = http.Caller();
        var job = await jobs.StartAsync(caller.TenantId, Ids.Random(16), request, caller.KeyId, ct);
        return Results.Json(View(job, new AnalysisProgress(Ids.ProfileBuckets, 0)), JsonSerializerOptions.Web, statusCode: StatusCodes.Status202Accepted);
    }

    private static async Task<IResult> GetJobAsync(string id, HttpContext http, AnalysisStore store, DurableAccess durable, CancellationToken ct)
    {
        var tenant = http.Caller().TenantId;
        if (id.Length is 0 or > MaxIdLength || !Ids.IsIdText(id) || await store.GetAsync(tenant, id, ct) is not { } job)
            return Problems.NotFound("analysis_not_found", $"no analysis job '{id}' in this tenant");
        var progress = new AnalysisProgress(Ids.ProfileBuckets, job.Status == "running" ? 0 : Ids.ProfileBuckets);
        if (job.Status == "running" && await durable.Client.GetInstanceAsync(OperationIds.Analysis(tenant, id), ct) is { SerializedCustomStatus: { Length: > 0 } status })
        {
            if (DoneOf(status) is { } done) progress = progress with { Done = done };
        }
        return Results.Ok(View(job, progress));
    }

    /// <summary>The partitions done, from the orchestration's checkpoint (an object, or the same as a JSON string, as the task hub gives it).</summary>
    private static int? DoneOf(string status)
    {
        var node = JsonNode.Parse(status);
        if (node is JsonValue v && v.TryGetValue<string>(out var inner)) node = JsonNode.Parse(inner);
        return node is JsonObject o && (o["done"] ?? o["Done"]) is JsonValue d && d.TryGetValue<int>(out var n) ? n : null;
    }

    private static AnalysisJobView View(AnalysisJob job, AnalysisProgress progress)
    {
        var t = job.Totals;
        return new AnalysisJobView(job.Id, job.Request.Kind, job.Status, job.Request, job.RequestedAt, job.CompletedAt, progress, t?.People,
            t is not null && job.Request.Kind == AnalysisKinds.Funnel ? Funnels.Result(job.Request, t) : null,
            t is not null && job.Request.Kind == AnalysisKinds.Cohort ? Cohorts.Result(t, job.Request.Weeks, job.RequestedAt) : null,
            job.Request.Kind == AnalysisKinds.Audience ? t : null, job.Error, $"/api/analytics/jobs/{job.Id}");
    }

    /// <summary>Stores the job and starts its orchestration; a job id already stored is started again only if its orchestration is gone.</summary>
    public async Task<AnalysisJob> StartAsync(string tenantId, string jobId, AnalysisRequest request, string by, CancellationToken ct)
    {
        var job = new AnalysisJob(jobId, request, "running", by, clock.GetUtcNow());
        if (!await store.CreateAsync(tenantId, job, ct)) job = (await store.GetAsync(tenantId, jobId, ct))!;
        await durable.StartOnceAsync(AnalysisOrchestration.Name, OperationIds.Analysis(tenantId, jobId), new AnalysisJobRef(tenantId, jobId), ct);
        return job;
    }

    /// <summary>Daily, for every tenant: today's audience snapshot (one per tenant and day, however often this runs).</summary>
    public async Task StartDailySnapshotsAsync(CancellationToken ct)
    {
        var day = TimeSlots.Day(clock.GetUtcNow()).Replace("-", "", StringComparison.Ordinal);
        foreach (var tenant in await tenants.ListAsync(ct))
        {
            try { await StartAsync(tenant.Id, "day" + day, new AnalysisRequest(AnalysisKinds.Audience), "schedule", ct); }
            catch (Exception e) when (e is not OperationCanceledException) { log.LogWarning(e, "The daily audience snapshot of tenant {Tenant} did not start", tenant.Id); }
        }
    }

    /// <summary>One profile partition's counts for a job. Reads only; the same counts however often it runs.</summary>
    public async Task<AnalysisPartial> AnalysePartitionAsync(AnalysisPartition part, CancellationToken ct)
    {
        var job = await store.GetAsync(part.TenantId, part.JobId, ct) ?? throw new PermanentStepFailure($"no analysis job {part.JobId}");
        var request = job.Request;
        var partition = StorageTables.BucketPartition(part.TenantId, part.Bucket);
        var partial = new AnalysisPartial();
        var live = new Dictionary<string, ProfileState>(StringComparer.Ordinal);
        await foreach (var row in tables.Profiles.QueryAsync<TableEntity>(TableClient.CreateQueryFilter($"PartitionKey eq {partition} and Kind eq {"profile"}"), cancellationToken: ct))
        {
            var profile = ProfileStore.FromEntity(row);
            if (AudienceCounts.IsLive(profile)) live[profile.ProfileId] = profile;
        }
        partial.People = live.Count;
        switch (request.Kind)
        {
            case AnalysisKinds.Audience:
                partial.People = 0;
                foreach (var p in live.Values) AudienceCounts.Count(partial, p);
                var withdrawn = TableClient.CreateQueryFilter($"PartitionKey eq {partition} and Kind eq {"consent"} and Status eq {"withdrawn"}");
                await foreach (var row in tables.Profiles.QueryAsync<TableEntity>(withdrawn, select: ["RowKey", "OccurredAt"], cancellationToken: ct))
                    if (live.ContainsKey(OwnerOf(row.RowKey)) && row.GetDateTimeOffset("OccurredAt") is { } at)
                        partial.WithdrawalsByDay = AnalysisPartial.Bump(partial.WithdrawalsByDay, TimeSlots.Day(at));
                break;
            case AnalysisKinds.Cohort:
                foreach (var p in live.Values)
                    if (p.FirstSeen is { } first) Cohorts.Count(partial, first, AudienceCounts.ActiveDays(p), request.Weeks, job.RequestedAt);
                break;
            case AnalysisKinds.Funnel:
                var steps = request.Steps ?? [];
                // Events from the start of the range's first day (China time): later steps may follow the range's end, within the window.
                var filter = request.From is { } from
                    ? TableClient.CreateQueryFilter($"PartitionKey eq {partition} and Kind eq {"event"} and OccurredAt ge {new DateTimeOffset(from.ToDateTime(TimeOnly.MinValue), TimeSlots.ChinaOffset)}")
                    : TableClient.CreateQueryFilter($"PartitionKey eq {partition} and Kind eq {"event"}");
                var events = new Dictionary<string, List<(string, DateTimeOffset)>>(StringComparer.Ordinal);
                await foreach (var row in tables.Profiles.QueryAsync<TableEntity>(filter, select: ["RowKey", "Name", "OccurredAt"], cancellationToken: ct))
                {
                    var name = row.GetString("Name");
                    if (name is null || !steps.Contains(name) || row.GetDateTimeOffset("OccurredAt") is not { } at) continue;
                    var owner = OwnerOf(row.RowKey);
                    if (!live.ContainsKey(owner)) continue;
                    if (!events.TryGetValue(owner, out var list)) events[owner] = list = [];
                    list.Add((name, at));
                }
                partial.Reached = new long[steps.Count];
                foreach (var (_, list) in events) Funnels.Count(partial, steps.Count, Funnels.StepsReached(list, request));
                break;
        }
        return partial;
    }

    private static string OwnerOf(string rowKey) => rowKey[..Math.Max(0, rowKey.IndexOf('~'))];

    public async Task CompleteAsync(AnalysisOutcome outcome, CancellationToken ct)
    {
        var job = await store.GetAsync(outcome.TenantId, outcome.JobId, ct) ?? throw new PermanentStepFailure($"no analysis job {outcome.JobId}");
        await store.CompleteAsync(outcome.TenantId, job with
        {
            Status = outcome.Error is null ? "done" : "failed", CompletedAt = clock.GetUtcNow(), Totals = outcome.Totals, Error = outcome.Error,
        }, ct);
    }
}
