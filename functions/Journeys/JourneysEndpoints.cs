using System.Text.Json;
using System.Text.Json.Nodes;
using Siyu.Core.Delivery;
using Siyu.Core.Events;
using Siyu.Core.Identities;
using Siyu.Core.Journeys;
using Siyu.Core.Storage;
using Siyu.Core.Tenants;
using Siyu.Core.Validation;
using Siyu.Functions.Api;
using Siyu.Functions.Audit;
using Siyu.Functions.Privacy;
using Siyu.Functions.Tenants;
using Siyu.Storage.Audience;
using Siyu.Storage.Delivery;
using Siyu.Storage.Identities;
using Siyu.Storage.Journeys;
using Siyu.Storage.Privacy;
using Siyu.Storage.Profiles;

namespace Siyu.Functions.Journeys;

public sealed record JourneyView(string Id, string Name, string Status, int Version, JsonNode? Draft, DateTimeOffset CreatedAt, DateTimeOffset UpdatedAt,
    DateTimeOffset? PublishedAt, IReadOnlyList<FieldError>? Problems = null)
{
    /// <summary>A saved draft's <paramref name="problems"/> are what publishing would refuse, in the shape of every error list.</summary>
    public static JourneyView From(StoredJourney j, IReadOnlyList<string>? problems = null) =>
        new(j.Id, j.Name, j.Status, j.Version, j.Draft, j.CreatedAt, j.UpdatedAt, j.PublishedAt,
            problems is null ? null : FieldError.FromTexts(problems, "invalid_journey"));
}

public sealed record JourneySummary(string Id, string Name, string Status, int Version, DateTimeOffset UpdatedAt);

/// <summary>One person to enter: a profile id or an identity ("phone:13800138000"), optional context and run key.</summary>
public sealed record EnterPerson(string? ProfileId, string? Identity, JsonObject? Context, string? Key);

/// <summary>One person (the fields of <see cref="EnterPerson"/>) or many under "people".</summary>
public sealed record EnterRequest(string? ProfileId, string? Identity, JsonObject? Context, string? Key, List<EnterPerson>? People);

/// <summary>What became of each person, in the order sent; those who could not be entered are "invalid", with their error in <see cref="Errors"/>.</summary>
public sealed record EnterResponse(int Entered, int AlreadyIn, int NotFound, int Busy, IReadOnlyList<EnterOutcome> Results, int Invalid = 0,
    IReadOnlyList<ItemError>? Errors = null);

public sealed record EnterOutcome(string? ProfileId, string? Identity, string Outcome);

/// <summary>A published version: its phase, its runs still going, when it drained, and the orchestration that follows it.</summary>
public sealed record JourneyVersionView(int Version, string Phase, long Active, DateTimeOffset? DrainedAt, Siyu.Functions.Operations.OperationView? Orchestration);

public sealed record NodeStatsView(string Id, string Type, long Entered, long Current, IReadOnlyDictionary<string, long> Left);

public sealed record BranchStatsView(string Name, bool Control, long Assigned, long Converted, double? ConversionRate);

public sealed record SplitStatsView(string Node, IReadOnlyList<BranchStatsView> Branches);

public sealed record JourneyStatsView(string Journey, string Status, int Version, long Entered, long Active, long Completed, long Exited, long Converted,
    double? ConversionRate, IReadOnlyList<NodeStatsView> Nodes, IReadOnlyList<SplitStatsView> Splits);

public sealed record RunView(string Journey, int Version, int Run, string Status, string? Node, DateTimeOffset? DueAt, DateTimeOffset EnteredAt,
    DateTimeOffset? EndedAt, string? EndReason, IReadOnlyDictionary<string, string>? Splits, DateTimeOffset? ConvertedAt, JsonObject? Context,
    IReadOnlyList<PathStep> Path);

public sealed record ProfileJourneysView(string ProfileId, IReadOnlyList<RunView> Journeys, IReadOnlyList<StoredDelivery> Deliveries);

/// <summary>
/// Journeys: drafts, publishing (every problem at once), pause, resume, archive; entering people; results per node and
/// per split branch; and where one person is in each journey.
/// </summary>
public static class JourneysEndpoints
{
    public const int MaxDocumentBytes = 256 * 1024;
    public const int MaxContextChars = 16 * 1024;

    public static void MapJourneys(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/api/journeys").WithTags("Journeys");

        group.MapGet("/", async (HttpContext http, JourneyStore store, CancellationToken ct) =>
                Results.Ok((await store.ListAsync(http.Caller().TenantId, ct)).Select(j => new JourneySummary(j.Id, j.Name, j.Status, j.Version, j.UpdatedAt)).ToList()))
            .Allow(Role.Marketer, Role.Admin)
            .WithName("ListJourneys")
            .WithSummary("Every journey of the tenant: status and latest published version")
            .Produces<List<JourneySummary>>();

        group.MapPut("/{id}", PutAsync)
            .Allow(Role.Marketer, Role.Admin)
            .WithName("PutJourney")
            .WithSummary("Save a journey draft (the journey document); the answer lists what publishing would refuse, if anything")
            .WithDescription("The format (entry, exitOn, goal, start, nodes of type delay, waitForEvent, condition, split, send, tag, untag, setAttribute, " +
                             "webhook, exit) is described in shared/Siyu.Core/Journeys/README.md. A draft is not run until it is published.")
            .Accepts<JsonObject>("application/json")
            .Produces<JourneyView>()
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status409Conflict);

        group.MapGet("/{id}", async (string id, HttpContext http, JourneyStore store, CancellationToken ct) =>
                await Find(store, http, id, ct) is { } j ? Results.Ok(JourneyView.From(j)) : NotFound(id))
            .Allow(Role.Marketer, Role.Admin)
            .WithName("GetJourney")
            .WithSummary("A journey: status, latest version, current draft")
            .Produces<JourneyView>()
            .ProducesProblem(StatusCodes.Status404NotFound);

        group.MapGet("/{id}/versions/{version:int}", async (string id, int version, HttpContext http, JourneyStore store, CancellationToken ct) =>
                JourneyParser.IsValidId(id) && await store.GetVersionAsync(http.Caller().TenantId, id, version, ct) is { } doc
                    ? Results.Ok(doc)
                    : Problems.NotFound("journey_version_not_found", $"journey '{id}' has no published version {version}"))
            .Allow(Role.Marketer, Role.Admin)
            .WithName("GetJourneyVersion")
            .WithSummary("A published version of a journey, as published (runs keep the version they entered with)")
            .Produces<JsonObject>()
            .ProducesProblem(StatusCodes.Status404NotFound);

        group.MapGet("/{id}/versions", VersionsAsync)
            .Allow(Role.Marketer, Role.Admin)
            .WithName("ListJourneyVersions")
            .WithSummary("Every published version: its phase (live, paused, superseded, archived, drained), runs still going, and its orchestration")
            .Produces<List<JourneyVersionView>>()
            .ProducesProblem(StatusCodes.Status404NotFound);

        group.MapPost("/{id}/publish", PublishAsync)
            .Allow(Role.Marketer, Role.Admin)
            .WithName("PublishJourney")
            .WithSummary("Validate the draft and publish it as the next version; a 400 lists every problem at once")
            .WithDescription("A draft journey goes live; a paused one stays paused on its new version. People already on their way keep their version.")
            .Produces<JourneyView>()
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status409Conflict);

        MapStatus(group, "pause", JourneyStatus.Live, JourneyStatus.Paused, "Pause: no one enters; runs hold where they are until resumed");
        MapStatus(group, "resume", JourneyStatus.Paused, JourneyStatus.Live, "Resume a paused journey: runs go on from where they held");
        MapStatus(group, "archive", null, JourneyStatus.Archived, "Archive for good: no one enters; runs leave at their next step");

        group.MapPost("/{id}/enter", EnterAsync)
            .Allow(Role.Marketer, Role.Admin)
            .WithName("EnterJourney")
            .WithSummary("Enter one person ({\"profileId\" or \"identity\", \"context\"}) or up to 1,000 ({\"people\": [...]}) into a live journey")
            .WithDescription("The re-entry policy applies: people it keeps out are answered 'alreadyIn'. 'context' variables are available to " +
                             "conditions and templates as context.*; 'key' names the run of an everyTime journey. 409 when the journey is not live.")
            .Accepts<EnterRequest>("application/json")
            .Produces<EnterResponse>()
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status409Conflict);

        group.MapGet("/{id}/stats", StatsAsync)
            .Allow(Role.Marketer, Role.Admin)
            .WithName("GetJourneyStats")
            .WithSummary("Results: totals; per node entered, there now, left by each branch; per split branch (and control) goal conversions and rate")
            .Produces<JourneyStatsView>()
            .ProducesProblem(StatusCodes.Status404NotFound);

        app.MapGet("/api/profiles/{id}/journeys", ProfileJourneysAsync)
            .WithTags("Journeys")
            .Allow(Role.Marketer, Role.Admin)
            .WithName("GetProfileJourneys")
            .WithSummary("Where this person is in each journey, the path taken, and the sends requested for them")
            .Produces<ProfileJourneysView>()
            .ProducesProblem(StatusCodes.Status404NotFound);
    }

    private static IResult NotFound(string id) => Problems.NotFound("journey_not_found", $"no journey '{id}' in this tenant");

    private static async Task<StoredJourney?> Find(JourneyStore store, HttpContext http, string id, CancellationToken ct) =>
        JourneyParser.IsValidId(id) ? await store.GetAsync(http.Caller().TenantId, id, ct) : null;

    private static async Task<IResult> PutAsync(string id, HttpContext http, JourneyStore store, AudienceStore audience, DefinitionStore definitions,
        TemplateStore templates, JourneyCatalog catalog, AuditLog audit, TimeProvider clock, CancellationToken ct)
    {
        if (!JourneyParser.IsValidId(id)) return Problems.BadRequest("invalid_journey_id", $"a journey id {JourneyParser.IdRule}");
        var (document, problem) = await RequestBody.ReadNodeAsync(http.Request, MaxDocumentBytes, ct);
        if (problem is not null) return problem;
        if (document is not JsonObject o) return Problems.BadRequest("invalid_journey", "the body must be a journey document: a JSON object with entry, start and nodes");
        var name = o["name"] is JsonValue v && v.TryGetValue<string>(out var n) && JourneyParser.IsValidName(n) ? n.Trim() : id;

        var tenant = http.Caller().TenantId;
        var existing = await store.GetAsync(tenant, id, ct);
        if (existing?.Status == JourneyStatus.Archived) return Problems.Conflict("journey_archived", $"journey '{id}' is archived; use a new id");
        if (!await store.SaveDraftAsync(tenant, id, name, document, existing, clock.GetUtcNow(), ct))
            return Problems.Conflict("journey_changed", $"journey '{id}' was changed at the same moment; send it again");
        await audit.RecordAsync(http, AuditLog.Actions.JourneysChanged, null, $"journey {id} draft saved");
        var problems = await ValidateAsync(tenant, document, audience, definitions, templates, ct);
        return Results.Ok(JourneyView.From((await store.GetAsync(tenant, id, ct))!, problems));
    }

    /// <summary>What publishing would refuse in this document, every problem at once (the demo seed checks its journey with it too).</summary>
    internal static async Task<List<string>> ValidateAsync(string tenant, JsonNode document, AudienceStore audience, DefinitionStore definitions,
        TemplateStore templates, CancellationToken ct)
    {
        var stored = await audience.ReadAllAsync(tenant, ct);
        var taxonomy = await definitions.GetAsync(tenant, ct);
        var errors = new List<string>();
        // The parser checks tags against the taxonomy and segment references against the saved segments.
        var definition = JourneyParser.Parse(document, new StoredCatalog(stored.Segments, tag => taxonomy.Tag(tag) is not null), errors);
        // Every send names a template of its channel and fills in every variable without a default.
        foreach (var send in definition?.Nodes.Values.OfType<SendNode>() ?? [])
        {
            if (await templates.GetAsync(tenant, send.Template, ct) is not { } template)
                errors.Add($"nodes.{send.Id}.template: no template '{send.Template}'; create it with PUT /api/templates/{send.Template}");
            else errors.AddRange(MessageTemplates.CheckSend(template.Template, send.Channel, send.Variables.Keys).Select(p => $"nodes.{send.Id}.variables: {p}"));
        }
        return errors;
    }

    private static async Task<IResult> PublishAsync(string id, HttpContext http, JourneyStore store, AudienceStore audience, DefinitionStore definitions,
        TemplateStore templates, JourneyCatalog catalog, JourneyVersions versions, AuditLog audit, TimeProvider clock, CancellationToken ct)
    {
        var tenant = http.Caller().TenantId;
        if (await Find(store, http, id, ct) is not { } journey) return NotFound(id);
        if (journey.Status == JourneyStatus.Archived) return Problems.Conflict("journey_archived", $"journey '{id}' is archived and cannot be published again");
        if (journey.Draft is null) return Problems.BadRequest("invalid_journey", "there is no draft to publish");
        var errors = await ValidateAsync(tenant, journey.Draft, audience, definitions, templates, ct);
        if (errors.Count > 0) return Problems.Invalid("invalid_journey", $"journey '{id}'", errors);
        if (await store.PublishAsync(tenant, journey, journey.Name, journey.Draft, clock.GetUtcNow(), ct) is not { } version)
            return Problems.Conflict("journey_changed", $"journey '{id}' was changed at the same moment; publish again");
        catalog.Invalidate(tenant);
        await versions.PublishedAsync(tenant, id, version, ct);
        await audit.RecordAsync(http, AuditLog.Actions.JourneysChanged, null, $"journey {id} v{version} published");
        return Results.Ok(JourneyView.From((await store.GetAsync(tenant, id, ct))!));
    }

    private static async Task<IResult> VersionsAsync(string id, HttpContext http, JourneyStore store, RunStore runs, JourneyVersions versions, CancellationToken ct)
    {
        var tenant = http.Caller().TenantId;
        if (await Find(store, http, id, ct) is not { } journey) return NotFound(id);
        var stats = await runs.StatsAsync(tenant, id, ct);
        var list = new List<JourneyVersionView>();
        for (var v = journey.Version; v >= 1; v--)
        {
            var orchestration = await versions.ViewAsync(tenant, id, v, ct);
            var drained = await store.GetDrainedAtAsync(tenant, id, v, ct);
            var phase = drained is not null ? VersionPhase.Drained
                : journey.Status == JourneyStatus.Archived ? VersionPhase.Archived
                : v < journey.Version ? VersionPhase.Superseded
                : journey.Status == JourneyStatus.Paused ? VersionPhase.Paused : VersionPhase.Live;
            list.Add(new JourneyVersionView(v, phase, Math.Max(0, stats.ActiveIn(v)), drained, orchestration));
        }
        return Results.Ok(list);
    }

    private static void MapStatus(RouteGroupBuilder group, string action, string? from, string to, string summary) =>
        group.MapPost($"/{{id}}/{action}", async (string id, HttpContext http, JourneyStore store, JourneyCatalog catalog, JourneyVersions versions, AuditLog audit,
                TimeProvider clock, CancellationToken ct) =>
            {
                var tenant = http.Caller().TenantId;
                if (await Find(store, http, id, ct) is not { } journey) return NotFound(id);
                if (journey.Status == to) return Results.Ok(JourneyView.From(journey));
                if (journey.Status == JourneyStatus.Archived || (from is not null && journey.Status != from) || journey.Version == 0)
                    return Problems.Conflict($"journey_{journey.Status}", $"journey '{id}' is {journey.Status}; {action} needs a {from ?? "published"} journey");
                if (!await store.SetStatusAsync(tenant, journey, to, clock.GetUtcNow(), ct))
                    return Problems.Conflict("journey_changed", $"journey '{id}' was changed at the same moment; try again");
                catalog.Invalidate(tenant);
                await versions.ChangedAsync(tenant, id, journey.Version, ct);
                await audit.RecordAsync(http, AuditLog.Actions.JourneysChanged, null, $"journey {id} {to}");
                return Results.Ok(JourneyView.From((await store.GetAsync(tenant, id, ct))!));
            })
            .Allow(Role.Marketer, Role.Admin)
            .WithName(char.ToUpperInvariant(action[0]) + action[1..] + "Journey")
            .WithSummary(summary)
            .Produces<JourneyView>()
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status409Conflict);

    private static async Task<IResult> EnterAsync(string id, HttpContext http, JourneyStore store, JourneyCatalog catalog, JourneyEntries entries,
        IdentityStore identities, ProfileStore profiles, AuditLog audit, Microsoft.Extensions.Options.IOptions<JourneySettings> settings, CancellationToken ct)
    {
        var tenant = http.Caller().TenantId;
        var max = settings.Value.MaxEntriesPerRequest;
        var (read, problem) = await RequestBody.ReadBatchAsync(http.Request, 2 * 1024 * 1024, "people", "people", max, ct,
            new RequestBody.BatchOptions(OrSingle: true, Code: "invalid_entry"));
        if (problem is not null) return problem;
        // Each person is judged on their own: one who cannot be entered gets an error, and the others are entered.
        var valid = new List<(int Index, EnterPerson Person)>();
        var invalid = new List<ItemError>();
        bool single;
        using (var batch = read!)
        {
            single = batch.Single;
            foreach (var (index, item, refused) in batch.Each())
            {
                EnterPerson? person = null;
                var error = refused ?? CheckPerson(item, index, out person);
                if (error is null) valid.Add((index, person!));
                else invalid.Add(batch.Place(error));
            }
        }
        if (single && invalid.Count > 0)
            return Problems.Invalid("invalid_entry", "the entry", invalid.Select(e => new FieldError(e.Path, e.Code, e.Message)).ToList());
        if (valid.Count == 0)
            return Problems.BadRequest("invalid_entry", "no person in the batch can be entered", new Dictionary<string, object?> { ["errors"] = invalid });
        var people = valid.Select(v => v.Person).ToList();

        if (await Find(store, http, id, ct) is not { } stored) return NotFound(id);
        if (stored.Status != JourneyStatus.Live)
            return Problems.Conflict($"journey_{stored.Status}", stored.Status == JourneyStatus.Draft
                ? $"journey '{id}' is not published yet"
                : $"journey '{id}' is {stored.Status}: no one can enter it");
        if (await catalog.VersionAsync(tenant, id, stored.Version, ct) is not { } latest)
            return Problems.Conflict("journey_changed", $"journey '{id}' changed at the same moment; try again");
        var journey = new ActiveJourney(stored, latest);

        // People named by identity are looked up; a person we do not know, or who was erased, is "notFound".
        // The profile read here also serves each run's first step, taken as the run is written.
        var resolved = new (EnterPerson Person, string? ProfileId, Siyu.Core.Profiles.ProfileState? Profile)[people.Count];
        await Parallel.ForEachAsync(Enumerable.Range(0, people.Count), new ParallelOptions { MaxDegreeOfParallelism = 16, CancellationToken = ct }, async (i, token) =>
        {
            var p = people[i];
            var pid = p.ProfileId ?? await identities.LookupAsync(tenant, IdentityRules.NormaliseKey(p.Identity)!, token);
            if (pid is not null && await LiveProfiles.ReadAsync(profiles, tenant, pid, token) is { } live) resolved[i] = (p, live.ProfileId, live);
            else resolved[i] = (p, null, null);
        });
        var results = await entries.EnterAsync(tenant, journey,
            resolved.Where(r => r.ProfileId is not null).Select(r => new EntryRequest(r.ProfileId!, r.Person.Context, r.Person.Key, r.Profile)).ToList(),
            "api:" + http.Caller().KeyId, ct);
        var byProfile = results.GroupBy(r => r.ProfileId).ToDictionary(g => g.Key, g => g.First().Outcome, StringComparer.Ordinal);
        var outcomes = resolved.Select(r => new EnterOutcome(r.ProfileId, r.Person.Identity,
            r.ProfileId is null ? "notFound" : byProfile.GetValueOrDefault(r.ProfileId, EntryOutcomes.AlreadyIn))).ToList();
        // The results stay in the order people were sent: the invalid in their places.
        foreach (var e in invalid) outcomes.Insert(e.Index, new EnterOutcome(null, null, Invalid));
        await audit.RecordAsync(http, AuditLog.Actions.JourneyEntered, null,
            $"journey {id}: {outcomes.Count(o => o.Outcome == EntryOutcomes.Entered)} of {outcomes.Count} entered");
        return Results.Ok(new EnterResponse(outcomes.Count(o => o.Outcome == EntryOutcomes.Entered), outcomes.Count(o => o.Outcome == EntryOutcomes.AlreadyIn),
            outcomes.Count(o => o.Outcome == "notFound"), outcomes.Count(o => o.Outcome == EntryOutcomes.Busy), outcomes, invalid.Count, invalid));
    }

    private const string Invalid = "invalid";

    /// <summary>One person to enter, as sent: their error (with its path under the item), or null and the person.</summary>
    private static ItemError? CheckPerson(JsonElement item, int index, out EnterPerson? person)
    {
        var shape = new List<FieldError>();
        person = JsonShape.Read<EnterPerson>(item, JsonSerializerOptions.Web, "", shape);
        if (person is null)
            return shape.Count > 0 && item.ValueKind == JsonValueKind.Object
                ? ItemError.At(index, null, shape[0].Path, shape[0].Code, $"{shape[0].Message}{(shape.Count > 1 ? $" (and {shape.Count - 1} more)" : "")}")
                : ItemError.At(index, null, "", "invalid_person", "each person is an object: {\"profileId\": \"…\"} or {\"identity\": \"phone:13800138000\"}");
        var p = person;
        var failed = Problem(p);
        if (failed is not null) person = null;
        return failed;

        ItemError? Problem(EnterPerson p)
        {
            ItemError Fail(string field, string code, string message) => ItemError.At(index, null, field, code, message);
        if ((p.ProfileId is null) == (p.Identity is null)) return Fail("profileId", "missing_person", "name the person by profileId or identity (one of the two)");
        if (p.ProfileId is not null && !Ids.IsProfileId(p.ProfileId)) return Fail("profileId", "invalid_profile_id", $"'{p.ProfileId}' is not a profile id");
        if (p.Identity is not null && IdentityRules.NormaliseKey(p.Identity) is null)
            return Fail("identity", "invalid_identity", $"'{p.Identity}' is not an identity such as phone:13800138000");
        if (p.Context is { } c && c.ToJsonString().Length > MaxContextChars) return Fail("context", "context_too_large", $"at most {MaxContextChars / 1024} KB");
            if (p.Key is { } k && (k.Length is 0 or > 200)) return Fail("key", "invalid_key", "1-200 characters");
            return null;
        }
    }

    private static async Task<IResult> StatsAsync(string id, HttpContext http, JourneyStore store, JourneyCatalog catalog, RunStore runs, CancellationToken ct)
    {
        var tenant = http.Caller().TenantId;
        if (await Find(store, http, id, ct) is not { } journey) return NotFound(id);
        var stats = await runs.StatsAsync(tenant, id, ct);
        var latest = journey.Version > 0 ? await catalog.VersionAsync(tenant, id, journey.Version, ct) : null;
        return Results.Ok(StatsView(id, journey, latest, stats));
    }

    /// <summary>A journey's counters as results: per node of its latest version (and nodes since removed), per split branch.</summary>
    public static JourneyStatsView StatsView(string id, StoredJourney journey, JourneyDefinition? latest, JourneyStats stats)
    {
        var nodes = stats.Nodes.Keys.Union(latest?.Nodes.Keys ?? [], StringComparer.Ordinal)
            .OrderBy(n => n == latest?.Start ? 0 : 1).ThenBy(n => n, StringComparer.Ordinal)
            .Select(n =>
            {
                var counts = stats.Nodes.GetValueOrDefault(n) ?? new NodeCounts();
                var node = latest?.Nodes.GetValueOrDefault(n);
                // Exit nodes are where runs end, not where they are.
                var current = node is ExitNode ? 0 : Math.Max(0, counts.Entered - counts.LeftTotal);
                return new NodeStatsView(n, node?.Type ?? "removed", counts.Entered, current, counts.Left);
            }).ToList();
        var splits = (latest?.Nodes.Values.OfType<SplitNode>() ?? []).Select(s => new SplitStatsView(s.Id, s.Branches.Select(b =>
        {
            var assigned = stats.Nodes.GetValueOrDefault(s.Id)?.Left.GetValueOrDefault(b.Name) ?? 0;
            var converted = stats.ConvertedBy.GetValueOrDefault($"{s.Id}:{b.Name}");
            return new BranchStatsView(b.Name, b.Control, assigned, converted, assigned == 0 ? null : Math.Round((double)converted / assigned, 4));
        }).ToList())).ToList();
        var active = Math.Max(0, stats.Entered - stats.Completed - stats.Exited);
        return new JourneyStatsView(id, journey.Status, journey.Version, stats.Entered, active, stats.Completed, stats.Exited, stats.Converted,
            stats.Entered == 0 ? null : Math.Round((double)stats.Converted / stats.Entered, 4), nodes, splits);
    }

    private static async Task<IResult> ProfileJourneysAsync(string id, HttpContext http, ProfileStore profiles, RunStore runs, AuditLog audit, CancellationToken ct)
    {
        var tenant = http.Caller().TenantId;
        if (await LiveProfiles.ReadAsync(profiles, tenant, id, ct) is not { } state) return LiveProfiles.NotFound(id);
        var list = await runs.ForProfileAsync(tenant, state.ProfileId, ct);
        var deliveries = await runs.DeliveriesAsync(tenant, state.ProfileId, ct);
        await audit.RecordAsync(http, AuditLog.Actions.ProfileJourneysRead, state.ProfileId);
        return Results.Ok(new ProfileJourneysView(state.ProfileId,
            list.Select(r => r.Instance).OrderBy(i => i.EnteredAt).Select(i => new RunView(i.JourneyId, i.Version, i.Run, i.Status, i.Node, i.DueAt, i.EnteredAt,
                i.EndedAt, i.EndReason, i.Splits, i.ConvertedAt, i.Context, i.Path)).ToList(),
            deliveries.OrderBy(d => d.RequestedAt).ToList()));
    }
}
