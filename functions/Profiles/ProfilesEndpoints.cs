using System.Text.Json.Nodes;
using Siyu.Core.Identities;
using Siyu.Core.Privacy;
using Siyu.Core.Profiles;
using Siyu.Core.Tenants;
using Siyu.Core.Traits;
using Siyu.Functions.Api;
using Siyu.Functions.Audit;
using Siyu.Functions.Privacy;
using Siyu.Functions.Tenants;
using Siyu.Storage.Identities;
using Siyu.Storage.Privacy;
using Siyu.Storage.Profiles;

namespace Siyu.Functions.Profiles;

public sealed record IdentityView(string Type, string Value, string? AppId);

public sealed record ProfileView(
    string Id, DateTimeOffset CreatedAt, DateTimeOffset? FirstSeen, DateTimeOffset? LastSeen, long EventCount,
    IReadOnlyList<IdentityView> Identities, IReadOnlyDictionary<string, JsonNode?> Attributes, IReadOnlyDictionary<string, TagMark> Tags,
    IReadOnlyDictionary<string, EventCounter> Counters, OrderTotals Orders, IReadOnlyList<RecentEvent> RecentEvents,
    ProfileTraits? Traits, IReadOnlyDictionary<string, DateTimeOffset> Segments, IReadOnlyList<string> MergedFrom)
{
    /// <summary>The profile as a caller sees it: sensitive attributes only for those who may see them.</summary>
    public static ProfileView From(ProfileState p, DataDefinitions definitions, bool maySeeSensitive) => new(
        p.ProfileId, p.CreatedAt, p.FirstSeen, p.LastSeen, p.EventCount,
        p.Identities.Select(ToView).ToList(), definitions.Visible(p.Attributes, maySeeSensitive), definitions.VisibleTags(p.Tags, maySeeSensitive),
        p.Counters, p.Orders, p.Recent, p.Traits, p.Segments, p.MergedFrom ?? []);

    private static IdentityView ToView(string key) =>
        IdentityRules.TryParseKey(key, out var i) ? new(IdentityRules.Name(i.Type), i.Value, i.AppId) : new("unknown", key, null);
}

public sealed record EventPage(IReadOnlyList<StoredEvent> Events, string? Continuation);

/// <summary>Reading profiles: by id, by any identity, and a profile's event history.</summary>
public static class ProfilesEndpoints
{
    public static void MapProfiles(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/api/profiles").WithTags("Profiles");

        group.MapGet("/{id}", async (string id, HttpContext http, ProfileStore profiles, DefinitionStore definitions, AuditLog audit, CancellationToken ct) =>
            {
                if (await LiveProfiles.ReadAsync(profiles, http.Caller().TenantId, id, ct) is not { } state) return LiveProfiles.NotFound(id);
                await audit.RecordAsync(http, AuditLog.Actions.ProfileRead, state.ProfileId, state.ProfileId == id ? null : $"named by merged id {id}");
                return Results.Ok(await ViewAsync(http, state, definitions, ct));
            })
            .Allow(Role.Marketer, Role.Admin)
            .WithName("GetProfile")
            .WithSummary("A profile: identities, attributes, traits, tags, segments, counters, order totals, recent events and the ids merged into it")
            .WithDescription("The id of a profile that was merged into another (OneID) still works: it answers with the surviving profile, whose 'mergedFrom' lists it.")
            .Produces<ProfileView>()
            .ProducesProblem(StatusCodes.Status404NotFound);

        group.MapGet("/", FindAsync)
            .Allow(Role.Marketer, Role.Admin)
            .WithName("FindProfile")
            .WithSummary("The profile of one identity: ?identity=phone:13800138000, or ?identity=openid:oAbc&appId=wx123")
            .Produces<ProfileView>()
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status404NotFound);

        group.MapGet("/{id}/events", async (string id, int? limit, string? continuation, HttpContext http, ProfileStore profiles, AuditLog audit, CancellationToken ct) =>
            {
                var size = Math.Clamp(limit ?? 50, 1, 500);
                var tenant = http.Caller().TenantId;
                if (await LiveProfiles.ReadAsync(profiles, tenant, id, ct) is not { } state) return LiveProfiles.NotFound(id);
                id = state.ProfileId;
                var (events, next) = await profiles.ReadEventsAsync(tenant, id, size, continuation, ct);
                await audit.RecordAsync(http, AuditLog.Actions.EventsRead, id);
                return Results.Ok(new EventPage(events, next));
            })
            .Allow(Role.Marketer, Role.Admin)
            .WithName("GetProfileEvents")
            .WithSummary("A profile's stored events, a page at a time (pass back 'continuation')")
            .Produces<EventPage>()
            .ProducesProblem(StatusCodes.Status404NotFound);
    }

    private static async Task<ProfileView> ViewAsync(HttpContext http, ProfileState state, DefinitionStore definitions, CancellationToken ct)
    {
        var caller = http.Caller();
        return ProfileView.From(state, await definitions.GetAsync(caller.TenantId, ct), caller.Role == Role.Admin);
    }

    private static async Task<IResult> FindAsync(string? identity, string? appId, HttpContext http, IdentityStore identities, ProfileStore profiles,
        DefinitionStore definitions, AuditLog audit, CancellationToken ct)
    {
        var colon = identity?.IndexOf(':') ?? -1;
        if (identity is null || colon <= 0)
            return Problems.BadRequest("invalid_identity", "pass ?identity=type:value, e.g. phone:13800138000 (openid also needs &appId=)");
        if (!IdentityRules.TryParseType(identity[..colon], out var type))
            return Problems.BadRequest("invalid_identity", $"unknown identity type '{identity[..colon]}'");
        if (!IdentityRules.TryCreate(type, identity[(colon + 1)..], appId, out var id, out var error))
            return Problems.BadRequest("invalid_identity", error!);

        var tenant = http.Caller().TenantId;
        var profileId = await identities.LookupAsync(tenant, id.Key, ct);
        if (profileId is not null && await LiveProfiles.ReadAsync(profiles, tenant, profileId, ct) is { } state)
        {
            await audit.RecordAsync(http, AuditLog.Actions.ProfileRead, profileId, "found by identity");
            return Results.Ok(await ViewAsync(http, state, definitions, ct));
        }
        return Problems.NotFound("profile_not_found", $"no profile has identity {id.Key}");
    }
}
