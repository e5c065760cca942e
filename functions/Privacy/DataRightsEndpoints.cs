using System.Text.Json;
using System.Text.Json.Nodes;
using Azure;
using Siyu.Core.Privacy;
using Siyu.Core.Tenants;
using Siyu.Functions.Api;
using Siyu.Functions.Audit;
using Siyu.Functions.Profiles;
using Siyu.Functions.Tenants;
using Siyu.Storage.Privacy;
using Siyu.Storage.Profiles;
using Siyu.Storage.Tables;

namespace Siyu.Functions.Privacy;

public sealed record ErasureView(string ProfileId, string Status);

/// <summary>A person's rights over their data: a copy of everything held (export), and erasure.</summary>
public static class DataRightsEndpoints
{
    public static void MapDataRights(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/api/profiles/{id}").WithTags("Consent");

        group.MapGet("/export", ExportAsync)
            .Allow(Role.Marketer, Role.Admin)
            .WithName("ExportProfile")
            .WithSummary("Everything held about the person as one JSON document (sensitive attributes only for admins)")
            .Produces<JsonObject>()
            .ProducesProblem(StatusCodes.Status404NotFound);

        group.MapDelete("/", EraseAsync)
            .Allow(Role.Admin)
            .WithName("EraseProfile")
            .WithSummary("Erase the person from every table (202 while it runs, 204 once erased)")
            .WithDescription("Idempotent and resumable. Afterwards only salted, keyed hashes of the person's identifiers remain, so later events " +
                             "about them are counted and dropped; a fresh consent (a consent grant, a WeChat follow) brings them back as a new profile.")
            .Produces<ErasureView>(StatusCodes.Status202Accepted)
            .Produces(StatusCodes.Status204NoContent)
            .ProducesProblem(StatusCodes.Status403Forbidden)
            .ProducesProblem(StatusCodes.Status404NotFound);
    }

    private static async Task<IResult> ExportAsync(string id, HttpContext http, ProfileStore profiles, DefinitionStore definitions,
        IEnumerable<IPersonalDataHolder> holders, AuditLog audit, TimeProvider clock, CancellationToken ct)
    {
        var caller = http.Caller();
        if (await LiveProfiles.ReadAsync(profiles, caller.TenantId, id, ct) is not { } state) return LiveProfiles.NotFound(id);
        id = state.ProfileId;
        var defs = await definitions.GetAsync(caller.TenantId, ct);
        var maySeeSensitive = caller.Role == Role.Admin;
        var subject = new PersonalDataSubject(caller.TenantId, id, state, defs, maySeeSensitive);

        var doc = new JsonObject
        {
            ["exportedAt"] = clock.GetUtcNow(),
            ["profileId"] = id,
            ["profile"] = JsonSerializer.SerializeToNode(ProfileView.From(state, defs, maySeeSensitive), EntityJson.Options),
            ["consents"] = JsonSerializer.SerializeToNode(ConsentEndpoints.View(state.Consent, await profiles.ReadConsentHistoryAsync(caller.TenantId, id, ct)), EntityJson.Options),
            ["preferences"] = state.Preferences is null ? null : JsonSerializer.SerializeToNode(state.Preferences, EntityJson.Options),
        };
        foreach (var holder in holders) doc[holder.Section] = await holder.ExportAsync(subject, ct);
        var hidden = state.Attributes.Keys.Count(defs.IsSensitive) + state.Tags.Keys.Count(defs.IsSensitiveTag);
        if (!maySeeSensitive && hidden > 0)
            doc["omitted"] = new JsonArray(JsonValue.Create($"{hidden} sensitive attribute(s) or tag(s): only an admin key may export them"));

        await audit.RecordAsync(http, AuditLog.Actions.Export, id, maySeeSensitive ? "with sensitive attributes" : "without sensitive attributes");
        return Results.Json(doc, EntityJson.Options);
    }

    private static async Task<IResult> EraseAsync(string id, HttpContext http, Erasure erasure, ProfileStore profiles, AuditLog audit, CancellationToken ct)
    {
        var caller = http.Caller();
        if (!Core.Storage.Ids.IsProfileId(id)) return LiveProfiles.NotFound(id);
        // A merged profile's id names the person it was merged into: erasing it erases them.
        if (await profiles.ResolveAsync(caller.TenantId, id, ct) is { } resolved) id = resolved.State.ProfileId;
        try
        {
            var result = await erasure.RequestAsync(caller.TenantId, id, "request", caller.KeyId, ct);
            if (result == ErasureRequest.NotFound) return LiveProfiles.NotFound(id);
            await audit.RecordAsync(http, AuditLog.Actions.Erase, id, result == ErasureRequest.AlreadyErased ? "already erased" : "erasure started");
            return result == ErasureRequest.AlreadyErased
                ? Results.NoContent()
                : Results.Json(new ErasureView(id, "erasing"), statusCode: StatusCodes.Status202Accepted);
        }
        catch (RequestFailedException e) { return Problems.Unavailable($"the erasure could not be started ({e.Status}); retry, it is idempotent"); }
    }
}
