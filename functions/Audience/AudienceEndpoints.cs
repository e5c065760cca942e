using System.Text.Json;
using System.Text.Json.Nodes;
using Siyu.Core.Audience;
using Siyu.Core.Tags;
using Siyu.Core.Tenants;
using Siyu.Core.Traits;
using Siyu.Functions.Api;
using Siyu.Functions.Audit;
using Siyu.Functions.Privacy;
using Siyu.Functions.Segments;
using Siyu.Functions.Tenants;
using Siyu.Storage.Audience;
using Siyu.Storage.Privacy;
using Siyu.Storage.Profiles;

namespace Siyu.Functions.Audience;

public sealed record TagRuleView(string Id, JsonNode Rule, DateTimeOffset UpdatedAt);

/// <summary>
/// Trait thresholds and tag rules: the tenant's words for "active", "dormant", "high value", and the tags given by
/// what people do. A change to either is swept over every profile at once.
/// </summary>
public static class AudienceEndpoints
{
    public static void MapAudience(this IEndpointRouteBuilder app)
    {
        var traits = app.MapGroup("/api/traits").WithTags("Traits");
        traits.MapGet("/settings", async (HttpContext http, AudienceStore audience, CancellationToken ct) =>
                Results.Ok((await audience.ReadAllAsync(http.Caller().TenantId, ct)).Traits))
            .Allow(Role.Marketer, Role.Admin)
            .WithName("GetTraitSettings")
            .WithSummary("Lifecycle and RFM thresholds (defaults until set)")
            .Produces<TraitSettings>();

        traits.MapPut("/settings", PutTraitSettingsAsync)
            .Allow(Role.Admin)
            .WithName("PutTraitSettings")
            .WithSummary("Set lifecycle and RFM thresholds; a 400 lists every problem")
            .Accepts<TraitSettings>("application/json")
            .Produces<TraitSettings>()
            .ProducesProblem(StatusCodes.Status400BadRequest);

        var rules = app.MapGroup("/api/tag-rules").WithTags("Tags");
        rules.MapGet("/", async (HttpContext http, AudienceStore audience, CancellationToken ct) =>
                Results.Ok((await audience.ReadAllAsync(http.Caller().TenantId, ct)).TagRules.Select(r => new TagRuleView(r.Id, r.Rule, r.UpdatedAt)).ToList()))
            .Allow(Role.Marketer, Role.Admin)
            .WithName("ListTagRules")
            .WithSummary("Every tag rule of the tenant")
            .Produces<List<TagRuleView>>();

        rules.MapPut("/{id}", PutTagRuleAsync)
            .Allow(Role.Marketer, Role.Admin)
            .WithName("PutTagRule")
            .WithSummary("Tag people by what they do: {\"tag\", \"event\", \"where\": [filters]} or {\"tag\", \"event\", \"atLeast\", \"withinDays\"}")
            .WithDescription("Applied to every event as it is ingested (the tag history names the rule). A rule giving a sensitive tag needs an admin, " +
                             "and tags only people who granted its purpose.")
            .Produces<TagRuleView>()
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status403Forbidden);

        rules.MapDelete("/{id}", async (string id, HttpContext http, AudienceStore audience, AuditLog audit, CancellationToken ct) =>
            {
                var tenant = http.Caller().TenantId;
                if (!TagRules.IsValidId(id) || (await audience.ReadAllAsync(tenant, ct)).TagRules.All(r => r.Id != id))
                    return Problems.NotFound("tag_rule_not_found", $"no tag rule '{id}' in this tenant");
                await audit.RecordAsync(http, AuditLog.Actions.DefinitionsChanged, null, $"tag rule {id} deleted");
                await audience.DeleteTagRuleAsync(tenant, id, ct);
                return Results.NoContent();
            })
            .Allow(Role.Marketer, Role.Admin)
            .WithName("DeleteTagRule")
            .WithSummary("Delete a tag rule (tags it gave stay)")
            .Produces(StatusCodes.Status204NoContent)
            .ProducesProblem(StatusCodes.Status404NotFound);

        app.MapGet("/api/profiles/{id}/tags/history", async (string id, int? limit, HttpContext http, ProfileStore profiles, DefinitionStore definitions,
                AuditLog audit, CancellationToken ct) =>
            {
                var caller = http.Caller();
                if (await LiveProfiles.ReadAsync(profiles, caller.TenantId, id, ct) is not { } state) return LiveProfiles.NotFound(id);
                var defs = await definitions.GetAsync(caller.TenantId, ct);
                var history = await profiles.ReadTagHistoryAsync(caller.TenantId, state.ProfileId, Math.Clamp(limit ?? 100, 1, 1000), ct);
                await audit.RecordAsync(http, AuditLog.Actions.ProfileRead, state.ProfileId, "tag history");
                return Results.Ok(caller.Role == Role.Admin ? history : history.Where(h => !defs.IsSensitiveTag(h.Tag)).ToList());
            })
            .WithTags("Tags")
            .Allow(Role.Marketer, Role.Admin)
            .WithName("GetTagHistory")
            .WithSummary("Who or which rule added or removed each of the person's tags, and when (newest first)")
            .Produces<List<TagHistoryEntry>>()
            .ProducesProblem(StatusCodes.Status404NotFound);
    }

    private static async Task<IResult> PutTraitSettingsAsync(HttpContext http, AudienceStore audience, AudienceSweep sweep, AuditLog audit, CancellationToken ct)
    {
        var (settings, problem) = await RequestBody.ReadObjectAsync<TraitSettings>(http.Request, 4096, JsonSerializerOptions.Web,
            "invalid_trait_settings", "{\"newWithinDays\": 14, \"activeWithinDays\": 30, \"dormantAfterDays\": 90, \"recencyDays\": [30, 90, 180, 365], …}", ct);
        if (settings is null) return problem!;
        if (settings.Validate() is { Count: > 0 } errors) return Problems.Invalid("invalid_trait_settings", "the trait settings", errors);
        var tenant = http.Caller().TenantId;
        await audit.RecordAsync(http, AuditLog.Actions.DefinitionsChanged, null, "trait settings");
        await audience.PutTraitSettingsAsync(tenant, settings, ct);
        await sweep.RequestAsync(tenant, ct);
        return Results.Ok(settings);
    }

    private static async Task<IResult> PutTagRuleAsync(string id, HttpContext http, AudienceStore audience, DefinitionStore definitions, AuditLog audit,
        TimeProvider clock, CancellationToken ct)
    {
        if (!TagRules.IsValidId(id)) return Problems.BadRequest("invalid_tag_rule_id", "a tag rule id is 1-64 characters of a-z, 0-9, '-' and '_'");
        var (json, problem) = await RequestBody.ReadJsonAsync(http.Request, 16 * 1024, ct);
        if (json is null) return problem!;
        JsonNode? rule;
        using (json) rule = JsonNode.Parse(json.RootElement.GetRawText());
        var caller = http.Caller();
        var defs = await definitions.GetAsync(caller.TenantId, ct);
        var stored = await audience.ReadAllAsync(caller.TenantId, ct);
        var errors = new List<string>();
        if (stored.TagRules.All(r => r.Id != id) && stored.TagRules.Count >= AudienceDefinitions.MaxTagRules)
            errors.Add($"a tenant has at most {AudienceDefinitions.MaxTagRules} tag rules");
        var parsed = TagRules.Parse(id, rule, tag => defs.Tag(tag) is not null, errors);
        if (errors.Count > 0 || parsed is null) return Problems.Invalid("invalid_tag_rule", $"tag rule '{id}'", errors);
        if (defs.IsSensitiveTag(parsed.Tag) && caller.Role != Role.Admin)
            return Problems.Forbidden("wrong_role", "only an admin key may make a rule that gives a sensitive tag");

        await audit.RecordAsync(http, AuditLog.Actions.DefinitionsChanged, null, $"tag rule {id}: {parsed.Tag} on {parsed.Event}");
        await audience.PutTagRuleAsync(caller.TenantId, id, rule!, ct);
        return Results.Ok(new TagRuleView(id, rule!, clock.GetUtcNow()));
    }
}
