using System.Text.Json;
using System.Text.Json.Nodes;
using Siyu.Core.Audience;
using Siyu.Core.Segments;
using Siyu.Core.Tenants;
using Siyu.Functions.Api;
using Siyu.Functions.Audit;
using Siyu.Functions.Tenants;
using Siyu.Storage.Audience;
using Siyu.Storage.Privacy;
using Siyu.Storage.Segments;

namespace Siyu.Functions.Segments;

public sealed record SegmentRequest(string? Name, string? Description, JsonNode? Rule);

public sealed record SegmentView(string Id, string Name, string? Description, JsonNode Rule, DateTimeOffset CreatedAt, DateTimeOffset UpdatedAt, long? Size)
{
    public static SegmentView From(StoredSegment s, long? size = null) => new(s.Id, s.Name, s.Description, s.Rule, s.CreatedAt, s.UpdatedAt, size);
}

public sealed record MembersPage(IReadOnlyList<SegmentMember> Members, string? Continuation);

/// <summary>
/// Segments: named rules over attributes, traits, tags, consent and event counts. Membership follows every profile
/// change at once and the passing of time through the sweep; a new or changed segment is swept in right away.
/// </summary>
public static class SegmentsEndpoints
{
    public static void MapSegments(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/api/segments").WithTags("Segments");

        group.MapGet("/", async (HttpContext http, AudienceStore audience, CancellationToken ct) =>
                Results.Ok((await audience.ReadAllAsync(http.Caller().TenantId, ct)).Segments.Select(s => SegmentView.From(s)).ToList()))
            .Allow(Role.Marketer, Role.Admin)
            .WithName("ListSegments")
            .WithSummary("Every segment of the tenant, without sizes")
            .Produces<List<SegmentView>>();

        group.MapPut("/{id}", PutAsync)
            .Allow(Role.Marketer, Role.Admin)
            .WithName("PutSegment")
            .WithSummary("Create or change a segment: {\"name\", \"description\", \"rule\"}; a 400 lists every problem of the rule")
            .WithDescription("Rule nodes: {\"and\": […]}, {\"or\": […]}, {\"not\": {…}}, {\"attribute\", \"type\", \"op\", \"value\"}, {\"trait\", \"op\", \"value\"}, " +
                             "{\"tag\"}, {\"consent\": {\"purpose\", \"channel\"}, \"status\"}, {\"event\", \"atLeast\", \"atMost\", \"withinDays\"}, {\"segment\"}. " +
                             "See the README, People and groups. Membership is computed for everyone at once (a sweep), then kept up to date.")
            .Accepts<SegmentRequest>("application/json")
            .Produces<SegmentView>()
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status409Conflict);

        group.MapGet("/{id}", async (string id, HttpContext http, AudienceStore audience, MembershipStore members, CancellationToken ct) =>
            {
                var tenant = http.Caller().TenantId;
                if (!SegmentRules.IsValidId(id) || await audience.GetSegmentAsync(tenant, id, ct) is not { } segment) return NotFound(id);
                return Results.Ok(SegmentView.From(segment, await members.CountAsync(tenant, id, ct)));
            })
            .Allow(Role.Marketer, Role.Admin)
            .WithName("GetSegment")
            .WithSummary("A segment and its size (members now)")
            .Produces<SegmentView>()
            .ProducesProblem(StatusCodes.Status404NotFound);

        group.MapGet("/{id}/members", MembersAsync)
            .Allow(Role.Marketer, Role.Admin)
            .WithName("GetSegmentMembers")
            .WithSummary("A page of a segment's members (profile id and when they entered); pass back 'continuation' for the next")
            .Produces<MembersPage>()
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status404NotFound);

        group.MapDelete("/{id}", DeleteAsync)
            .Allow(Role.Marketer, Role.Admin)
            .WithName("DeleteSegment")
            .WithSummary("Delete a segment (refused while another segment refers to it); its memberships are removed without exit events")
            .Produces(StatusCodes.Status204NoContent)
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status409Conflict);
    }

    private static IResult NotFound(string id) => Problems.NotFound("segment_not_found", $"no segment '{id}' in this tenant");

    private static async Task<IResult> PutAsync(string id, HttpContext http, AudienceStore audience, DefinitionStore definitions, AudienceSweep sweep,
        AuditLog audit, CancellationToken ct)
    {
        if (!SegmentRules.IsValidId(id)) return Problems.BadRequest("invalid_segment_id", "a segment id is 1-64 characters of a-z, 0-9, '-' and '_'");
        var (request, problem) = await RequestBody.ReadObjectAsync<SegmentRequest>(http.Request, 64 * 1024, JsonSerializerOptions.Web,
            "invalid_segment", "{\"name\": …, \"description\": …, \"rule\": {…}}", ct);
        if (request is null) return problem!;

        var tenant = http.Caller().TenantId;
        var stored = await audience.ReadAllAsync(tenant, ct);
        var taxonomy = await definitions.GetAsync(tenant, ct);
        var errors = new List<string>();
        var isNew = stored.Segments.All(s => s.Id != id);
        if (isNew && stored.Segments.Count >= AudienceDefinitions.MaxSegments)
            errors.Add($"a tenant has at most {AudienceDefinitions.MaxSegments} segments (every profile change evaluates them all)");
        var catalog = new StoredCatalog(stored.Segments.Where(s => s.Id != id), tag => taxonomy.Tag(tag) is not null);
        SegmentRules.Define(id, request.Name, request.Description, request.Rule, catalog, errors);
        if (errors.Count > 0) return Problems.Invalid("invalid_segment", $"segment '{id}'", errors);

        await audit.RecordAsync(http, AuditLog.Actions.SegmentsChanged, null, $"segment {id} {(isNew ? "created" : "changed")}");
        await audience.PutSegmentAsync(tenant, id, request.Name!.Trim(), request.Description, request.Rule!, ct);
        await sweep.RequestAsync(tenant, ct);
        return Results.Ok(SegmentView.From((await audience.GetSegmentAsync(tenant, id, ct))!));
    }

    private static async Task<IResult> MembersAsync(string id, int? limit, string? continuation, HttpContext http, AudienceStore audience,
        MembershipStore members, AuditLog audit, CancellationToken ct)
    {
        var tenant = http.Caller().TenantId;
        if (!SegmentRules.IsValidId(id) || await audience.GetSegmentAsync(tenant, id, ct) is null) return NotFound(id);
        try
        {
            var (page, next) = await members.ListAsync(tenant, id, Math.Clamp(limit ?? 100, 1, 1000), continuation, ct);
            await audit.RecordAsync(http, AuditLog.Actions.SegmentMembersRead, null, $"segment {id}: {page.Count} members");
            return Results.Ok(new MembersPage(page, next));
        }
        catch (FormatException e) { return Problems.BadRequest("invalid_continuation", e.Message); }
    }

    private static async Task<IResult> DeleteAsync(string id, HttpContext http, AudienceStore audience, AudienceSweep sweep, AuditLog audit, CancellationToken ct)
    {
        var tenant = http.Caller().TenantId;
        if (!SegmentRules.IsValidId(id)) return NotFound(id);
        var stored = await audience.ReadAllAsync(tenant, ct);
        if (stored.Segments.All(s => s.Id != id)) return NotFound(id);
        var catalog = new StoredCatalog(stored.Segments, _ => true);
        var users = stored.Segments.Where(s => s.Id != id && SegmentRules.Parse(s.Id, s.Rule, catalog, []) is { } rule && rule.SegmentRefs.Contains(id)).Select(s => s.Id).ToList();
        if (users.Count > 0) return Problems.Conflict("segment_in_use", $"segment '{id}' is used by: {string.Join(", ", users)}");

        await audit.RecordAsync(http, AuditLog.Actions.SegmentsChanged, null, $"segment {id} deleted");
        await audience.DeleteSegmentAsync(tenant, id, ct);
        await sweep.RequestAsync(tenant, ct);
        return Results.NoContent();
    }
}
