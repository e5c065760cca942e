using System.Text.Json;
using Siyu.Core.Consent;
using Siyu.Core.Tenants;
using Siyu.Core.Validation;
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
        var (preferences, problem) = await RequestBody.ReadObjectAsync<Preferences>(http.Request, MaxBodyBytes, EntityJson.Options,
            "invalid_preferences", "a JSON object of preferences", ct);
        if (preferences is null) return problem!;
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
            return Problems.Invalid("invalid_preferences", "the preferences", FieldError.FromFields(problems, "invalid_preferences"));

        var (result, _) = await LiveProfiles.UpdateAsync(profiles, http.Caller().TenantId, id, state =>
        {
            state.Preferences = preferences;
            return true;
        }, () => audit.RecordAsync(http, AuditLog.Actions.PreferencesChanged, id), ct);
        return result switch
        {
            ProfileUpdate.Written => Results.Ok(preferences),
            ProfileUpdate.Missing => LiveProfiles.NotFound(id),
            _ => Problems.Conflict("busy_profile", "the profile kept changing while the preferences were written; retry"),
        };
    }
}
