using Azure.Data.Tables;
using System.Text.Json;
using Siyu.Core.Identities;
using Siyu.Core.Privacy;
using Siyu.Core.Profiles;
using Siyu.Core.Storage;
using Siyu.Core.Tenants;
using Siyu.Core.Validation;
using Siyu.Functions.Api;
using Siyu.Functions.Audience;
using Siyu.Functions.Audit;
using Siyu.Functions.Operations;
using Siyu.Functions.Tenants;
using Siyu.Storage.Identities;
using Siyu.Storage.Jobs;
using Siyu.Storage.Privacy;
using Siyu.Storage.Profiles;

namespace Siyu.Functions.Tags;

public sealed record BulkTagRequest(IReadOnlyList<string?>? ProfileIds, IReadOnlyList<string?>? Identities, string? Action);

/// <summary>The job, and the entries that name no one (each with its error); the others are tagged.</summary>
public sealed record BulkTagAccepted(string JobId, string Status, int Total, string Location, int Rejected = 0, IReadOnlyList<FieldError>? Errors = null);

/// <summary>
/// Tagging many people at once (up to <see cref="MaxTargets"/> per call): the call answers 202 with a job at once; the
/// job's orchestration (<see cref="BulkTagOrchestration"/>) fans its chunks out as activities, each idempotent, and
/// the job shows its progress. Every person is
/// tagged as by hand: consent for sensitive tags checked, tag history written, segments refreshed in the same write.
/// </summary>
public sealed class BulkTagging(
    TagJobStore jobs, ProfileRefresher refresher, ProfileStore profiles, IdentityStore identities, DefinitionStore definitions, DurableAccess durable, TimeProvider clock)
{
    public const int MaxTargets = 10_000;
    public const int ChunkSize = 500;

    public static void Map(IEndpointRouteBuilder app)
    {
        app.MapPost("/api/tags/{name}/bulk", StartAsync)
            .WithTags("Tags")
            .Allow(Role.Marketer, Role.Admin)
            .WithName("BulkTag")
            .WithSummary($"Tag (or with \"action\": \"remove\", untag) up to {MaxTargets} people: {{\"profileIds\": […]}} or {{\"identities\": [\"phone:138…\"]}}")
            .WithDescription("Answers 202 with a job; GET /api/tags/jobs/{jobId} shows its progress. People not found, being erased, or without the " +
                             "consent a sensitive tag needs are counted as skipped.")
            .Accepts<BulkTagRequest>("application/json")
            .Produces<BulkTagAccepted>(StatusCodes.Status202Accepted)
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status403Forbidden);

        app.MapGet("/api/tags/jobs/{jobId}", async (string jobId, HttpContext http, TagJobStore jobs, CancellationToken ct) =>
                Ids.IsIdText(jobId) && jobId.Length == JobIdLength && await jobs.GetAsync(http.Caller().TenantId, jobId, ct) is { } job
                    ? Results.Ok(job)
                    : Problems.NotFound("job_not_found", $"no tagging job '{jobId}' in this tenant"))
            .WithTags("Tags")
            .Allow(Role.Marketer, Role.Admin)
            .WithName("GetTagJob")
            .WithSummary("Progress of a bulk tagging job: status (queued, running, done), processed, tagged, unchanged, skipped, failed")
            .Produces<TagJob>()
            .ProducesProblem(StatusCodes.Status404NotFound);
    }

    private const int JobIdLength = 16;

    private static async Task<IResult> StartAsync(string name, HttpContext http, BulkTagging bulk, DefinitionStore definitions, AuditLog audit, CancellationToken ct)
    {
        if (!TagDefinition.IsValidName(name))
            return Problems.BadRequest("invalid_tag", $"a tag name is 1-{TagDefinition.MaxNameLength} characters, without control characters, '/', '\\', '#', '?' or outer spaces");
        var (request, problem) = await RequestBody.ReadObjectAsync<BulkTagRequest>(http.Request, 1024 * 1024, JsonSerializerOptions.Web,
            "invalid_bulk_tag", "{\"profileIds\": [\"…\"]} or {\"identities\": [\"phone:13800138000\", \"openid:wx123:oAbc\"]}", ct);
        if (request is null) return problem!;
        var action = request.Action ?? "add";
        if (action is not ("add" or "remove")) return Problems.BadRequest("invalid_bulk_tag", "action must be \"add\" or \"remove\"");
        if ((request.ProfileIds is null) == (request.Identities is null))
            return Problems.BadRequest("invalid_bulk_tag", "name the people by \"profileIds\" or by \"identities\" (one of the two)");
        var named = (request.ProfileIds ?? request.Identities)!;
        if (named.Count == 0) return Problems.BadRequest("invalid_bulk_tag", "the list of people is empty");
        if (named.Count > MaxTargets)
            return Problems.BadRequest("too_many_profiles", $"at most {MaxTargets} people per call; this one names {named.Count}. Split it into several calls.");
        // Each entry on its own: one that names no one gets its error, and the others are tagged. Identities as a client
        // writes them ("phone:138 0013 8000") are normalised to the keys the index holds.
        var field = request.ProfileIds is not null ? "profileIds" : "identities";
        var targets = new List<string>();
        var errors = new List<FieldError>();
        for (var i = 0; i < named.Count; i++)
        {
            var entry = named[i];
            var target = entry is null ? null : request.ProfileIds is not null ? (Ids.IsProfileId(entry) ? entry : null) : IdentityRules.NormaliseKey(entry);
            if (target is not null) targets.Add(target);
            else errors.Add(new FieldError(FieldError.Item(field, i), request.ProfileIds is not null ? "invalid_profile_id" : "invalid_identity",
                entry is null ? "must be a string, not null"
                    : request.ProfileIds is not null ? $"'{entry}' is not a profile id" : $"'{entry}' is not an identity such as phone:13800138000"));
        }
        if (targets.Count == 0)
            return Problems.Invalid("invalid_bulk_tag", $"{field} ({errors.Count} entr{(errors.Count == 1 ? "y" : "ies")})", errors.Take(RequestBody.MaxErrors).ToList());

        var caller = http.Caller();
        var defs = await definitions.GetAsync(caller.TenantId, ct);
        if (defs.Tag(name) is null) return Problems.BadRequest("unknown_tag", $"'{name}' is not in the tag taxonomy (define it with PUT /api/tags/{{name}})");
        if (defs.IsSensitiveTag(name) && caller.Role != Role.Admin) return Problems.Forbidden("wrong_role", "only an admin key may give or remove a sensitive tag");

        var jobId = Ids.Random(JobIdLength);
        var kind = request.ProfileIds is not null ? "p:" : "i:";
        var chunks = targets.Distinct().Chunk(ChunkSize).Select(c => (IReadOnlyList<string>)c.Select(t => kind + t).ToList()).ToList();
        await audit.RecordAsync(http, AuditLog.Actions.BulkTag, null, $"{action} {name} for {targets.Count} people (job {jobId})");
        await bulk.EnqueueAsync(caller.TenantId, jobId, name, action, caller.KeyId, chunks, ct);
        var location = $"/api/tags/jobs/{jobId}";
        return Results.Json(new BulkTagAccepted(jobId, "queued", chunks.Sum(c => c.Count), location, errors.Count, errors.Take(RequestBody.MaxErrors).ToList()),
            statusCode: StatusCodes.Status202Accepted);
    }

    private async Task EnqueueAsync(string tenantId, string jobId, string tag, string action, string by, IReadOnlyList<IReadOnlyList<string>> chunks, CancellationToken ct)
    {
        await jobs.CreateAsync(tenantId, jobId, tag, action, by, chunks, ct);
        await durable.StartOnceAsync(BulkTagOrchestration.Name, OperationIds.BulkTag(tenantId, jobId), new BulkTagJobRef(tenantId, jobId, chunks.Count), ct);
    }

    /// <summary>Tags one chunk of a job, once: a chunk already done (an activity run again) is left as it is. True when the chunk is done.</summary>
    public async Task<bool> RunChunkAsync(BulkTagChunk c, CancellationToken ct)
    {
        var chunk = await jobs.GetChunkAsync(c.TenantId, c.JobId, c.Chunk, ct)
                    ?? throw new Operations.PermanentStepFailure($"no chunk {c.Chunk} of job {c.JobId}");
        if (chunk.Done) return true;
        var defs = await definitions.GetAsync(c.TenantId, ct);
        var add = chunk.Action == "add";
        // The job's time, not this run's: a run after a crash writes the same marks and history rows, and can tell its own earlier changes.
        var now = chunk.At ?? clock.GetUtcNow();
        int tagged = 0, unchanged = 0, skipped = 0, failed = 0;
        await Parallel.ForEachAsync(chunk.Targets, new ParallelOptions { MaxDegreeOfParallelism = 16, CancellationToken = ct }, async (target, token) =>
        {
            var profileId = target.StartsWith("p:", StringComparison.Ordinal) ? target[2..] : await identities.LookupAsync(c.TenantId, target[2..], token);
            if (profileId is null) { Interlocked.Increment(ref skipped); return; }
            var refused = false;
            var (result, _) = await refresher.UpdateAsync(c.TenantId, profileId, s =>
                {
                    refused = s.ErasureRequestedAt is not null || (add && !defs.MayTag(chunk.Tag, s.Consent));
                    if (refused) return false;
                    return add ? s.Tags.TryAdd(chunk.Tag, new TagMark(now, chunk.By)) : s.Tags.Remove(chunk.Tag);
                },
                s => [ProfileStore.ToTagHistoryEntity(c.TenantId, s.ProfileId, chunk.Tag, add, chunk.By, now, $"bulk job {c.JobId}")],
                ct: token);
            switch (result)
            {
                case ProfileUpdate.Written: Interlocked.Increment(ref tagged); break;
                // Already so: by this job's earlier run of the chunk (its history row is there), or from before the job.
                case ProfileUpdate.Unchanged when !refused:
                    if (chunk.At is not null && await ChangedByThisJobAsync(c.TenantId, profileId, chunk.Tag, add, chunk.By, now, token)) Interlocked.Increment(ref tagged);
                    else Interlocked.Increment(ref unchanged);
                    break;
                case ProfileUpdate.Busy: Interlocked.Increment(ref failed); break;
                default: Interlocked.Increment(ref skipped); break;
            }
        });
        await jobs.CompleteChunkAsync(c.TenantId, c.JobId, c.Chunk, new ChunkResult(tagged, unchanged, skipped, failed), ct);
        return true;
    }

    /// <summary>Whether the person's tag history holds this job's change (same tag, action, author and job time).</summary>
    private async Task<bool> ChangedByThisJobAsync(string tenantId, string profileId, string tag, bool added, string by, DateTimeOffset at, CancellationToken ct)
    {
        var row = ProfileStore.ToTagHistoryEntity(tenantId, profileId, tag, added, by, at);
        var stored = await profiles.Table.GetEntityIfExistsAsync<TableEntity>(row.PartitionKey, row.RowKey, ["By"], ct);
        return stored.HasValue && stored.Value!.GetString("By") == by;
    }
}
