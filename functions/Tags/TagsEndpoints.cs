using System.Text.Json;
using Azure;
using Siyu.Core.Consent;
using Siyu.Core.Privacy;
using Siyu.Core.Profiles;
using Siyu.Core.Tenants;
using Siyu.Functions.Api;
using Siyu.Functions.Audience;
using Siyu.Functions.Audit;
using Siyu.Functions.Privacy;
using Siyu.Functions.Tenants;
using Siyu.Storage.Privacy;
using Siyu.Storage.Profiles;

namespace Siyu.Functions.Tags;

public sealed record TagDefinitionRequest(string? Group, string? Description, bool Sensitive, string? Purpose);

public sealed record TagView(string Name, string? Group, string? Description, bool Sensitive, string? Purpose)
{
    public static TagView From(TagDefinition t) => new(t.Name, t.Group, t.Description, t.Sensitive, t.SensitivePurpose);
}

public sealed record TagRequest(IReadOnlyList<string>? Tags);

/// <summary>
/// The tenant's tag taxonomy, and tagging one person by hand. A tag must be in the taxonomy before it is used; a
/// sensitive tag (declared by an admin under a <c>sensitive-*</c> purpose) is given only by admins, only to a person
/// whose consent for that purpose is granted, is removed when that consent is withdrawn, and is shown to admins only.
/// </summary>
public static class TagsEndpoints
{
    public const int MaxTagsPerRequest = 50;

    public static void MapTags(this IEndpointRouteBuilder app)
    {
        var taxonomy = app.MapGroup("/api/tags").WithTags("Tags");
        taxonomy.MapGet("/", async (HttpContext http, DefinitionStore definitions, CancellationToken ct) =>
                Results.Ok((await definitions.GetAsync(http.Caller().TenantId, ct)).Tags.OrderBy(t => t.Name, StringComparer.Ordinal).Select(TagView.From).ToList()))
            .Allow(Role.Marketer, Role.Admin)
            .WithName("ListTags")
            .WithSummary("The tag taxonomy")
            .Produces<List<TagView>>();

        taxonomy.MapPut("/{name}", PutDefinitionAsync)
            .Allow(Role.Marketer, Role.Admin)
            .WithName("PutTag")
            .WithSummary("Define a tag: {\"group\", \"description\", \"sensitive\", \"purpose\"} (sensitive tags: admins only)")
            .Accepts<TagDefinitionRequest>("application/json")
            .Produces<TagView>()
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status403Forbidden);

        var profileTags = app.MapGroup("/api/profiles/{id}/tags").WithTags("Tags");
        profileTags.MapPost("/", AddAsync)
            .Allow(Role.Marketer, Role.Admin)
            .WithName("TagProfile")
            .WithSummary("Tag a person: {\"tags\": [\"core-fan\"]} (up to 50 tags from the taxonomy)")
            .Accepts<TagRequest>("application/json")
            .Produces<Dictionary<string, TagMark>>()
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status409Conflict);

        profileTags.MapDelete("/{tag}", RemoveAsync)
            .Allow(Role.Marketer, Role.Admin)
            .WithName("UntagProfile")
            .WithSummary("Remove a tag from a person")
            .Produces(StatusCodes.Status204NoContent)
            .ProducesProblem(StatusCodes.Status404NotFound);
    }

    private static async Task<IResult> PutDefinitionAsync(string name, HttpContext http, DefinitionStore definitions, AuditLog audit, CancellationToken ct)
    {
        if (!TagDefinition.IsValidName(name))
            return Problems.BadRequest("invalid_tag", $"a tag name is 1-{TagDefinition.MaxNameLength} characters, without control characters, '/', '\\', '#', '?' or outer spaces");
        var (request, problem) = await RequestBody.ReadObjectAsync<TagDefinitionRequest>(http.Request, 4096, JsonSerializerOptions.Web,
            "invalid_tag_definition", "{\"group\": …, \"description\": …, \"sensitive\": false}", ct);
        if (request is null) return problem!;
        var errors = new List<string>();
        if (request.Group is { } g && (g.Length > TagDefinition.MaxNameLength || g.Any(char.IsControl))) errors.Add($"group: at most {TagDefinition.MaxNameLength} characters without control characters");
        if (request.Description is { Length: > TagDefinition.MaxTextLength }) errors.Add($"description: at most {TagDefinition.MaxTextLength} characters");
        if (request.Sensitive && (request.Purpose is null || !ConsentVocabulary.IsPurpose(request.Purpose) || !ConsentVocabulary.IsSensitive(request.Purpose)))
            errors.Add("purpose: a sensitive tag needs a sensitive purpose: " + string.Join(", ", ConsentVocabulary.Purposes.Where(ConsentVocabulary.IsSensitive)));
        if (errors.Count > 0) return Problems.Invalid("invalid_tag_definition", $"tag '{name}'", errors);

        var caller = http.Caller();
        var existing = (await definitions.GetAsync(caller.TenantId, ct)).Tag(name);
        if ((request.Sensitive || existing?.Sensitive == true) && caller.Role != Role.Admin)
            return Problems.Forbidden("wrong_role", "only an admin key may define or change a sensitive tag");

        var tag = new TagDefinition(name, request.Group, request.Description, request.Sensitive ? request.Purpose : null);
        await audit.RecordAsync(http, AuditLog.Actions.DefinitionsChanged, null, $"tag {name}{(tag.Sensitive ? $": sensitive ({tag.SensitivePurpose})" : "")}");
        await definitions.PutTagAsync(caller.TenantId, tag, ct);
        return Results.Ok(TagView.From(tag));
    }

    private static async Task<IResult> AddAsync(string id, HttpContext http, ProfileRefresher profiles, DefinitionStore definitions, AuditLog audit,
        TimeProvider clock, CancellationToken ct)
    {
        var (request, problem) = await RequestBody.ReadObjectAsync<TagRequest>(http.Request, 16 * 1024, JsonSerializerOptions.Web,
            "invalid_tags", "{\"tags\": [\"tag-name\", …]}", ct);
        if (request is null) return problem!;
        if (request.Tags is not { Count: > 0 } names) return Problems.BadRequest("invalid_tags", "the body must be {\"tags\": [\"tag-name\", …]}");
        if (names.Count > MaxTagsPerRequest) return Problems.BadRequest("too_many_tags", $"at most {MaxTagsPerRequest} tags per request");

        var caller = http.Caller();
        var defs = await definitions.GetAsync(caller.TenantId, ct);
        var unknown = names.Where(n => defs.Tag(n) is null).Distinct().ToList();
        if (unknown.Count > 0) return Problems.BadRequest("unknown_tag", $"not in the tag taxonomy: {string.Join(", ", unknown)} (define them with PUT /api/tags/{{name}})");
        if (caller.Role != Role.Admin && names.Any(defs.IsSensitiveTag))
            return Problems.Forbidden("wrong_role", "only an admin key may give a sensitive tag");

        var now = clock.GetUtcNow();
        var added = new List<string>();
        return await ChangeAsync(http, profiles, audit, id, "tag " + string.Join(",", names), state =>
        {
            var refused = names.Where(n => !defs.MayTag(n, state.Consent)).ToList();
            if (refused.Count > 0)
                return Problems.Conflict("consent_required", $"the person has not granted the consent these sensitive tags need: {string.Join(", ", refused)}");
            added.Clear();
            foreach (var name in names.Distinct())
                if (state.Tags.TryAdd(name, new TagMark(now, caller.KeyId))) added.Add(name);
            return null;
        }, state => added.Select(t => ProfileStore.ToTagHistoryEntity(caller.TenantId, state.ProfileId, t, true, caller.KeyId, now)),
        state => Results.Ok(defs.VisibleTags(state.Tags, caller.Role == Role.Admin)), ct);
    }

    private static async Task<IResult> RemoveAsync(string id, string tag, HttpContext http, ProfileRefresher profiles, DefinitionStore definitions, AuditLog audit,
        TimeProvider clock, CancellationToken ct)
    {
        var caller = http.Caller();
        var defs = await definitions.GetAsync(caller.TenantId, ct);
        if (caller.Role != Role.Admin && defs.IsSensitiveTag(tag)) return Problems.Forbidden("wrong_role", "only an admin key may remove a sensitive tag");
        var now = clock.GetUtcNow();
        return await ChangeAsync(http, profiles, audit, id, "untag " + tag, state =>
            state.Tags.Remove(tag) ? null : Problems.NotFound("tag_not_on_profile", $"the person does not carry '{tag}'"),
            state => [ProfileStore.ToTagHistoryEntity(caller.TenantId, state.ProfileId, tag, false, caller.KeyId, now)],
            _ => Results.NoContent(), ct);
    }

    /// <summary>
    /// Changes a profile's tags under its ETag (an event folded in meanwhile is never lost), audited first, with the tag
    /// history rows and the segment changes the new tags make, in one write.
    /// </summary>
    private static async Task<IResult> ChangeAsync(HttpContext http, ProfileRefresher profiles, AuditLog audit, string id, string detail,
        Func<ProfileState, IResult?> change, Func<ProfileState, IEnumerable<Azure.Data.Tables.TableEntity>> history, Func<ProfileState, IResult> done,
        CancellationToken ct)
    {
        IResult? refused = null;
        var erasing = false;
        var (result, state) = await profiles.UpdateAsync(http.Caller().TenantId, id, s =>
            {
                erasing = s.ErasureRequestedAt is not null;
                return !erasing && (refused = change(s)) is null;
            }, history,
            () => audit.RecordAsync(http, AuditLog.Actions.TagsChanged, id, detail), ct: ct);
        return result switch
        {
            _ when erasing => LiveProfiles.NotFound(id),
            ProfileUpdate.Written => done(state!),
            ProfileUpdate.Missing => LiveProfiles.NotFound(id),
            ProfileUpdate.Unchanged => refused!,
            _ => Problems.Conflict("busy_profile", "the profile kept changing while it was being tagged; retry"),
        };
    }
}
