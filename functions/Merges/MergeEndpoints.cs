using System.Text.Json;
using Siyu.Core.Tenants;
using Siyu.Functions.Api;
using Siyu.Functions.Audit;
using Siyu.Functions.Privacy;
using Siyu.Functions.Tenants;

namespace Siyu.Functions.Merges;

public sealed record MergeRequest(string? ProfileId);

public sealed record MergeView(string SurvivorId, IReadOnlyList<string> MergedFrom);

public sealed record IdentityRepairView(int Partitions);

/// <summary>
/// Merging two profiles by hand, for when a person is known to be one but no event says so (a service agent matched
/// them). Ingestion merges by itself when one event names identities of two profiles.
/// </summary>
public static class MergeEndpoints
{
    public static void MapMerges(this IEndpointRouteBuilder app)
    {
        app.MapPost("/api/profiles/{id}/merge", MergeAsync)
            .WithTags("Profiles")
            .Allow(Role.Admin)
            .WithName("MergeProfiles")
            .WithSummary("Merge another profile of this tenant with this one: {\"profileId\": \"…\"}")
            .WithDescription("The profile created first survives; the other becomes an alias of it that keeps resolving. Attributes keep the " +
                             "latest identify by event time; consent keeps the decision that occurred last; counters, orders, events, tags and " +
                             "history move to the survivor. Idempotent: merging two profiles that are already one answers with the survivor.")
            .Accepts<MergeRequest>("application/json")
            .Produces<MergeView>()
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status409Conflict);

        app.MapPost("/api/identities/repair", RepairAsync)
            .WithTags("Profiles")
            .Allow(Role.Admin)
            .WithName("RepairIdentities")
            .WithSummary("Find people split over two profiles (one lists an identity the index gives to the other) and merge them")
            .WithDescription("A one-off job over every profile partition of the tenant, run by the sweep: each identity a profile lists is " +
                             "checked against the identity index; two live profiles sharing one are merged as ingestion would have merged " +
                             "them, and an identity with no index row is claimed. 202 at once; merges are logged and counted " +
                             "(siyu.sweep.split_profiles_merged). Idempotent.")
            .Produces<IdentityRepairView>(StatusCodes.Status202Accepted);
    }

    private static async Task<IResult> RepairAsync(HttpContext http, Segments.AudienceSweep sweep, AuditLog audit, CancellationToken ct)
    {
        var tenant = http.Caller().TenantId;
        await audit.RecordAsync(http, AuditLog.Actions.IdentityRepair, null, "identity repair of every profile partition");
        await sweep.RequestAsync(tenant, ct, repairIdentities: true);
        return Results.Accepted(value: new IdentityRepairView(Siyu.Core.Storage.Ids.ProfileBuckets));
    }

    private static async Task<IResult> MergeAsync(string id, HttpContext http, ProfileMerger merger, Storage.Profiles.ProfileStore profiles,
        AuditLog audit, CancellationToken ct)
    {
        var (request, problem) = await RequestBody.ReadObjectAsync<MergeRequest>(http.Request, 4096, JsonSerializerOptions.Web,
            "invalid_merge", "{\"profileId\": \"the other profile's id\"}", ct);
        if (request is null) return problem!;
        if (string.IsNullOrEmpty(request.ProfileId)) return Problems.BadRequest("invalid_merge", "name the other profile: {\"profileId\": \"…\"}");

        var tenant = http.Caller().TenantId;
        // Both must be people of this tenant: an id from another tenant is simply not found here.
        foreach (var named in new[] { id, request.ProfileId })
            if (await LiveProfiles.ReadAsync(profiles, tenant, named, ct) is null) return LiveProfiles.NotFound(named);

        await audit.RecordAsync(http, AuditLog.Actions.Merge, id, $"merge with {request.ProfileId}");
        var (result, survivorId) = await merger.MergeAsync(tenant, id, request.ProfileId, ct);
        return result switch
        {
            MergeResult.NotFound => Problems.NotFound("profile_not_found", "one of the profiles no longer exists"),
            MergeResult.Erasing => Problems.Conflict("profile_erasing", "one of the profiles is being erased"),
            _ => Results.Ok(new MergeView(survivorId!, (await LiveProfiles.ReadAsync(profiles, tenant, survivorId!, ct))?.MergedFrom ?? [])),
        };
    }
}
