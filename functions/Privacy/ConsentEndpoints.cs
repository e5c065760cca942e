using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Azure;
using Microsoft.Extensions.Options;
using Siyu.Core.Consent;
using Siyu.Core.Events;
using Siyu.Core.Storage;
using Siyu.Core.Tenants;
using Siyu.Functions.Api;
using Siyu.Functions.Audit;
using Siyu.Functions.Hosting;
using Siyu.Functions.Ingestion;
using Siyu.Functions.Tenants;
using Siyu.Storage.Profiles;

namespace Siyu.Functions.Privacy;

public sealed record ConsentAccepted(int Index, string Id);

public sealed record ConsentResponse(int Accepted, int Rejected, IReadOnlyList<ConsentAccepted> Ids, IReadOnlyList<ItemError> Errors);

public sealed record ConsentView(string Purpose, string Channel, string? Scope, string Status, DateTimeOffset OccurredAt, string Source, string Id);

public sealed record ConsentsView(
    IReadOnlyList<ConsentView> Current, IReadOnlyDictionary<string, int> Entitlements, IReadOnlyList<ConsentRecord> History);

public sealed record ContactCheckView(bool Allowed, string Verdict, string Reason, DateTimeOffset? NotBefore);

/// <summary>
/// The consent ledger over HTTP. <c>POST /api/consents</c> records decisions (as <c>consent</c> events, through the
/// same queue and processor as every other event, so a decision and the profile it changes commit together);
/// <c>GET /api/profiles/{id}/consents</c> shows the current state and the full history; <c>contact-check</c> asks
/// <see cref="ContactPolicy.CanContact"/> the question every sender asks.
/// </summary>
public static class ConsentEndpoints
{
    public const int MaxConsentsPerRequest = 500;
    private const string DerivedIdPrefix = "consent-";

    public static void MapConsents(this IEndpointRouteBuilder app)
    {
        app.MapPost("/api/consents", RecordAsync)
            .Allow(Role.Ingest, Role.Admin)
            .WithName("PostConsents")
            .WithTags("Consent")
            .WithSummary("Record consent decisions (up to 500 per request)")
            .WithDescription("Body: {\"consents\": [{profileId | identities, purpose, channel, status, source, evidence?, scope?, occurredAt, id?}]}. " +
                             "Each item is judged on its own. The ledger is append-only; the current state per purpose and channel is the decision " +
                             "that occurred last, whatever order decisions arrive in. Idempotent by id (derived from the content when not given).")
            .Accepts<JsonElement>("application/json")
            .Produces<ConsentResponse>(StatusCodes.Status202Accepted)
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status413PayloadTooLarge);

        var profiles = app.MapGroup("/api/profiles/{id}").WithTags("Consent");
        profiles.MapGet("/consents", ReadAsync)
            .Allow(Role.Marketer, Role.Admin)
            .WithName("GetProfileConsents")
            .WithSummary("A profile's current consent per purpose and channel, its subscribe-message entitlements, and the full ledger")
            .Produces<ConsentsView>()
            .ProducesProblem(StatusCodes.Status404NotFound);

        profiles.MapGet("/contact-check", CheckAsync)
            .Allow(Role.Marketer, Role.Admin)
            .WithName("CheckContact")
            .WithSummary("May we contact this person now? ?purpose=marketing&channel=sms[&template=&personalised=true&topic=]")
            .Produces<ContactCheckView>()
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status404NotFound);
    }

    private static async Task<IResult> RecordAsync(HttpContext http, IngestQueue queue, ProfileStore profiles, AuditLog audit,
        IOptions<IngestionSettings> settings, TimeProvider clock, CancellationToken ct)
    {
        var (read, problem) = await RequestBody.ReadBatchAsync(http.Request, settings.Value.MaxBodyBytes, "consents", "consents", MaxConsentsPerRequest, ct);
        if (problem is not null) return problem;
        using var batch = read!;

        var tenant = http.Caller().TenantId;
        var now = clock.GetUtcNow();
        var accepted = new List<(int Index, IncomingEvent Event)>();
        var errors = new List<ItemError>();
        foreach (var (index, item, refused) in batch.Each())
        {
            if (refused is not null) errors.Add(batch.Place(refused));
            else if (TryRead(item, index, now, settings.Value.MaxFutureSkew, out var evt, out var error)) accepted.Add((index, evt!));
            else errors.Add(batch.Place(error!));
        }

        // A profile named by id must exist in this tenant; another tenant's id is simply not found here.
        var named = accepted.Where(a => a.Event.ProfileId is not null).Select(a => a.Event.ProfileId!).Distinct().ToList();
        var missing = new HashSet<string>(StringComparer.Ordinal);
        try
        {
            await Parallel.ForEachAsync(named, new ParallelOptions { MaxDegreeOfParallelism = 16, CancellationToken = ct }, async (id, token) =>
            {
                var p = await profiles.ReadAsync(tenant, id, token);
                if (p is null || p.Value.State.ErasureRequestedAt is not null) lock (missing) missing.Add(id);
            });
        }
        catch (RequestFailedException e) { return Problems.Unavailable($"profiles could not be read ({e.Status})"); }
        foreach (var a in accepted.Where(a => a.Event.ProfileId is { } id && missing.Contains(id)).ToList())
        {
            errors.Add(batch.Place(ItemError.At(a.Index, a.Event.MessageId, "profileId", "profile_not_found", $"no profile '{a.Event.ProfileId}' in this tenant")));
            accepted.Remove(a);
        }
        errors.Sort((x, y) => x.Index.CompareTo(y.Index));

        if (accepted.Count == 0)
            return Problems.BadRequest("no_valid_consents", "no consent in the batch is valid", new Dictionary<string, object?> { ["errors"] = errors });

        try
        {
            await audit.RecordAsync(http, AuditLog.Actions.ConsentRecorded, accepted.Select(a =>
            {
                var p = a.Event.Properties!;
                // A derived id is a hash of the decision, identifiers included: it stays out of the log, which outlives erasure.
                var id = a.Event.MessageId.StartsWith(DerivedIdPrefix, StringComparison.Ordinal) ? "" : $" id={a.Event.MessageId}";
                return (a.Event.ProfileId, (string?)$"{p["purpose"]}/{p["channel"]}{(p["scope"] is { } s ? "/" + s : "")} {p["status"]}{id}");
            }));
            await queue.EnqueueAsync(tenant, accepted.Select(a => a.Event).ToList(), ct);
        }
        catch (RequestFailedException e)
        {
            return Problems.Unavailable($"consents could not be recorded ({e.Status}); retry the whole batch, it is idempotent");
        }
        return Results.Json(new ConsentResponse(accepted.Count, errors.Count, accepted.Select(a => new ConsentAccepted(a.Index, a.Event.MessageId)).ToList(), errors),
            statusCode: StatusCodes.Status202Accepted);
    }

    /// <summary>One item of <c>POST /api/consents</c> as a consent event, or why not.</summary>
    public static bool TryRead(JsonElement item, int index, DateTimeOffset now, TimeSpan maxFutureSkew, out IncomingEvent? evt, out ItemError? error)
    {
        evt = null;
        error = null;
        string? id = null;
        ItemError Fail(string code, string message, string field = "") => ItemError.At(index, id, field, code, message);

        if (item.ValueKind != JsonValueKind.Object) { error = Fail("invalid_item", "each consent must be a JSON object"); return false; }
        if (EventJson.HasDuplicateNames(item)) { error = Fail("duplicate_property", "the item names the same property twice"); return false; }
        var fields = JsonNode.Parse(item.GetRawText())!.AsObject();

        if (fields["id"] is { } idNode)
        {
            id = idNode.GetValueKind() == JsonValueKind.String ? idNode.GetValue<string>() : null;
            if (string.IsNullOrWhiteSpace(id) || id.Length > EventValidator.MaxMessageIdLength || id.Any(char.IsControl))
            { error = Fail("invalid_id", $"id must be 1-{EventValidator.MaxMessageIdLength} characters without control characters", "id"); return false; }
        }

        var profileId = fields["profileId"] is JsonValue pv && pv.TryGetValue<string>(out var pid) ? pid : null;
        var hasIdentities = item.TryGetProperty("identities", out var idsEl) && idsEl.ValueKind != JsonValueKind.Null;
        if (fields["profileId"] is not null && profileId is null) { error = Fail("invalid_profile_id", "profileId must be a string", "profileId"); return false; }
        if (profileId is not null && hasIdentities) { error = Fail("ambiguous_profile", "name the person by profileId or by identities, not both", "profileId"); return false; }
        List<Siyu.Core.Identities.Identity> identities = [];
        if (profileId is not null)
        {
            if (!Ids.IsProfileId(profileId)) { error = Fail("profile_not_found", $"no profile '{profileId}' in this tenant", "profileId"); return false; }
        }
        else if (!EventValidator.TryIdentities(item, out identities, out var idError))
        {
            error = Fail(idError is null ? "missing_profile" : "invalid_identity", idError ?? "name the person: profileId, or identities such as {\"phone\": \"13800138000\"}", "identities");
            return false;
        }

        if (!ConsentRules.TryRead(fields, out _, out var consentError)) { error = Fail(consentError.Code, consentError.Message, ConsentRules.FieldOf(consentError.Code)); return false; }

        if (fields["occurredAt"] is not JsonValue occurredNode)
        { error = Fail("missing_occurred_at", "occurredAt is required: when the person decided (ISO 8601)", "occurredAt"); return false; }
        if (!occurredNode.TryGetValue<string>(out var occurredText) || !EventValidator.TryParseTime(occurredText, out var occurredAt))
        { error = Fail("invalid_occurred_at", "occurredAt must be an ISO 8601 date-time", "occurredAt"); return false; }
        if (occurredAt > now + maxFutureSkew) { error = Fail("occurred_at_in_future", "occurredAt is in the future", "occurredAt"); return false; }
        if (occurredAt < EventValidator.Earliest) { error = Fail("invalid_occurred_at", "occurredAt is before the year 2000", "occurredAt"); return false; }

        var properties = new JsonObject();
        foreach (var name in new[] { "purpose", "channel", "status", "source", "evidence", "scope" })
            if (fields[name] is { } v && v.GetValueKind() != JsonValueKind.Null) properties[name] = v.DeepClone();

        id ??= DerivedId(profileId, identities, properties, occurredAt);
        evt = new IncomingEvent
        {
            MessageId = id,
            Type = EventType.Consent,
            Name = ConsentFacts.EventName,
            Identities = identities,
            ProfileId = profileId,
            Properties = properties,
            Timestamp = occurredAt.ToUniversalTime(),
            ReceivedAt = now,
            Source = "api",
        };
        return true;
    }

    /// <summary>The same decision posted twice gets the same id, so a client retry without ids records it once.</summary>
    private static string DerivedId(string? profileId, IEnumerable<Siyu.Core.Identities.Identity> identities, JsonObject properties, DateTimeOffset at)
    {
        var canonical = $"{profileId}|{string.Join(",", identities.Select(i => i.Key).Order(StringComparer.Ordinal))}|{EventJson.Text(properties)}|{at.UtcTicks}";
        return DerivedIdPrefix + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(canonical)))[..32];
    }

    private static async Task<IResult> ReadAsync(string id, HttpContext http, ProfileStore profiles, AuditLog audit, CancellationToken ct)
    {
        var tenant = http.Caller().TenantId;
        if (!Ids.IsProfileId(id)) return LiveProfiles.NotFound(id);
        if (await profiles.ResolveAsync(tenant, id, ct) is { } resolved) id = resolved.State.ProfileId;
        // The ledger first: ledger rows commit with the profile row, so the profile read afterwards reflects at least
        // every decision listed (reading the other way round could list a decision the current state does not show yet).
        var history = await profiles.ReadConsentHistoryAsync(tenant, id, ct);
        if (await LiveProfiles.ReadAsync(profiles, tenant, id, ct) is not { } state) return LiveProfiles.NotFound(id);
        await audit.RecordAsync(http, AuditLog.Actions.ConsentRead, id);
        return Results.Ok(View(state.Consent, history));
    }

    public static ConsentsView View(ConsentState consent, IReadOnlyList<ConsentRecord> history) => new(
        consent.Current.OrderBy(c => c.Key, StringComparer.Ordinal).Select(c =>
        {
            var parts = c.Key.Split('/', 3);
            return new ConsentView(parts[0], parts[1], parts.Length > 2 ? parts[2] : null, c.Value.Status.Name(), c.Value.OccurredAt, c.Value.Source, c.Value.Id);
        }).ToList(),
        consent.Entitlements,
        history);

    private static async Task<IResult> CheckAsync(string id, string? purpose, string? channel, string? template, bool? personalised, string? topic,
        HttpContext http, ProfileStore profiles, AuditLog audit, TimeProvider clock, CancellationToken ct)
    {
        if (!ConsentVocabulary.IsPurpose(purpose))
            return Problems.BadRequest("unknown_purpose", $"purpose must be one of {string.Join(", ", ConsentVocabulary.Purposes)}");
        if (!ConsentVocabulary.IsChannel(channel) || channel == ConsentVocabulary.AllChannels)
            return Problems.BadRequest("unknown_channel", "channel must be one channel: " + string.Join(", ", ConsentVocabulary.Channels.Where(c => c != ConsentVocabulary.AllChannels)));
        if (await LiveProfiles.ReadAsync(profiles, http.Caller().TenantId, id, ct) is not { } state) return LiveProfiles.NotFound(id);
        var decision = ContactPolicy.CanContact(state.Consent, state.Preferences, new ContactRequest(purpose!, channel!, template, personalised ?? false, topic), clock.GetUtcNow());
        await audit.RecordAsync(http, AuditLog.Actions.ConsentRead, id, $"contact-check {purpose}/{channel}");
        return Results.Ok(new ContactCheckView(decision.Allowed, ToSnake(decision.Verdict.ToString()), decision.Reason, decision.NotBefore));
    }

    private static string ToSnake(string name) => string.Concat(name.Select((c, i) => char.IsUpper(c) && i > 0 ? "_" + char.ToLowerInvariant(c) : char.ToLowerInvariant(c).ToString()));
}
