using System.Text.Json;
using Azure;
using Siyu.Core.Consent;
using Siyu.Core.Tenants;
using Siyu.Functions.Api;
using Siyu.Functions.Audit;
using Siyu.Functions.Tenants;
using Siyu.Storage.Profiles;
using Siyu.Storage.Tables;

namespace Siyu.Functions.Privacy;

/// <summary>
/// A person's preferences (preferred channels, quiet hours and time zone, caps per channel, topics), kept on the
/// profile and enforced at send time by <see cref="ContactPolicy.CanContact"/>.
/// </summary>
public static class PreferencesEndpoints
{
    private const int MaxBodyBytes = 16 * 1024;

    public static void MapPreferences(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/api/profiles/{id}/preferences").WithTags("Consent");
        group.MapGet("/", async (string id, HttpContext http, ProfileStore profiles, AuditLog audit, CancellationToken ct) =>
            {
                if (await LiveProfiles.ReadAsync(profiles, http.Caller().TenantId, id, ct) is not { } state) return LiveProfiles.NotFound(id);
                await audit.RecordAsync(http, AuditLog.Actions.PreferencesRead, id);
                return Results.Ok(state.Preferences ?? new Preferences());
            })
            .Allow(Role.Ingest, Role.Marketer, Role.Admin)
            .WithName("GetPreferences")
            .WithSummary("A person's preferences (defaults when none were set)")
            .Produces<Preferences>()
            .ProducesProblem(StatusCodes.Status404NotFound);

        group.MapPut("/", WriteAsync)
            .Allow(Role.Ingest, Role.Admin)
            .WithName("PutPreferences")
            .WithSummary("Replace a person's preferences")
            .WithDescription("Body: {preferredChannels, quietHours: {start: \"22:00\", end: \"08:00\"}, timeZone: \"Asia/Shanghai\", " +
                             "caps: {sms: {perDay: 1, perWeek: 3}}, topics: [\"new-arrivals\"]}. Every problem is listed at once.")
            .Accepts<Preferences>("application/json")
            .Produces<Preferences>()
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status404NotFound);
    }

    private static async Task<IResult> WriteAsync(string id, HttpContext http, ProfileStore profiles, AuditLog audit, TimeProvider clock, CancellationToken ct)
    {
        var (json, problem) = await RequestBody.ReadJsonAsync(http.Request, MaxBodyBytes, ct);
        if (problem is not null) return problem;
        Preferences? preferences;
        using (json)
        {
            if (json!.RootElement.ValueKind != JsonValueKind.Object) return Problems.BadRequest("invalid_preferences", "the body must be a JSON object");
            try { preferences = json.RootElement.Deserialize<Preferences>(EntityJson.Options); }
            catch (JsonException e) { return Problems.BadRequest("invalid_preferences", $"the preferences do not read: {e.Message}"); }
        }
        if (preferences is null) return Problems.BadRequest("invalid_preferences", "the body must be a JSON object");
        preferences = preferences with
        {
            PreferredChannels = preferences.PreferredChannels ?? [],
            Topics = preferences.Topics ?? [],
            Caps = preferences.Caps ?? new Dictionary<string, ChannelCap>(),
            TimeZone = preferences.TimeZone ?? Preferences.DefaultTimeZone,
            UpdatedAt = clock.GetUtcNow(),
        };
        var problems = preferences.Validate();
        if (problems.Count > 0)
            return Problems.BadRequest("invalid_preferences", string.Join("; ", problems.Select(p => $"{p.Field}: {p.Message}")),
                new Dictionary<string, object?> { ["errors"] = problems.Select(p => new { field = p.Field, message = p.Message }).ToList() });

        var tenant = http.Caller().TenantId;
        for (var attempt = 0; attempt < 10; attempt++)
        {
            var stored = await profiles.ReadAsync(tenant, id, ct);
            if (stored is not { } s || s.State.ErasureRequestedAt is not null) return LiveProfiles.NotFound(id);
            s.State.Preferences = preferences;
            // Audited before the change: a change that could not be audited is not made.
            if (attempt == 0) await audit.RecordAsync(http, AuditLog.Actions.PreferencesChanged, id);
            try
            {
                // Under the ETag: an event folded in meanwhile is never overwritten; we read again and reapply.
                await profiles.Table.UpdateEntityAsync(ProfileStore.ToEntity(tenant, s.State), s.ETag, Azure.Data.Tables.TableUpdateMode.Replace, ct);
                return Results.Ok(preferences);
            }
            catch (RequestFailedException e) when (e.Status is 412 or 404) { }
        }
        return Problems.Conflict("busy_profile", "the profile kept changing while the preferences were written; retry");
    }
}
