using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using Siyu.Core.Delivery;
using Siyu.Core.Tenants;
using Siyu.Functions.Api;
using Siyu.Functions.Audit;
using Siyu.Functions.Delivery;
using Siyu.Functions.Operations;
using Siyu.Functions.Tenants;
using Siyu.Storage.Audience;
using Siyu.Storage.Delivery;
using Siyu.Storage.Journeys;

namespace Siyu.Functions.Campaigns;

public sealed record CampaignView(string Id, string Name, string Status, bool Done, DateTimeOffset CreatedAt, DateTimeOffset? StartAt, DateTimeOffset? StartedAt,
    DateTimeOffset? CancelledAt, JsonObject Definition, CampaignProgressView Progress)
{
    /// <summary>When its orchestration found every recipient decided, and the counts it wrote then.</summary>
    public DateTimeOffset? FinishedAt { get; init; }
    public JsonObject? Summary { get; init; }
    /// <summary>The campaign's orchestration: runtime status and last checkpoint.</summary>
    public OperationView? Orchestration { get; init; }
}

public sealed record CampaignProgressView(long Targeted, long Entered, long AlreadyIn, long Sent, long Delivered, long Failed, long Holdout, long Cancelled,
    long NotFound, long SuppressedTotal, IReadOnlyDictionary<string, long> Suppressed, long Pending, int FanOutParts, int FanOutDone)
{
    /// <summary>Of <see cref="Failed"/>, by reason (the provider's code, outcome_unknown…).</summary>
    public IReadOnlyDictionary<string, long> FailedBy { get; init; } = new Dictionary<string, long>();
}

/// <summary>What a cancel answers: the campaign as now stored. Its counts settle after; GET /api/campaigns/{id} shows them.</summary>
public sealed record CampaignCancelView(string Id, string Name, string Status, DateTimeOffset? CancelledAt)
{
    public static CampaignCancelView Of(StoredCampaign c) => new(c.Id, c.Definition.Name, c.Status, c.CancelledAt);
}

public sealed record CampaignSummary(string Id, string Name, string Status, DateTimeOffset CreatedAt, DateTimeOffset? StartAt);

/// <summary>
/// Campaigns: start one for a segment or an uploaded list (a journey to enter, or one message to send; now or at a
/// time; with a holdout), watch its progress, cancel it. An <c>Idempotency-Key</c> makes a repeated start the same
/// campaign.
/// </summary>
public static class CampaignEndpoints
{
    public const int MaxBodyBytes = 6 * 1024 * 1024;

    public static void MapCampaigns(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/api/campaigns").WithTags("Campaigns");

        group.MapPost("/", CreateAsync)
            .Allow(Role.Marketer, Role.Admin)
            .WithName("StartCampaign")
            .WithSummary("Start a campaign: {name, audience: {segment} | {identities: [...]}, journey | message: {template, variables}, context?, startAt?, holdoutPercent?}")
            .WithDescription("Send an Idempotency-Key header so a retried start is the same campaign (200 with it) instead of a second one. " +
                             "The same key with a different body is 409. Up to 100,000 identities per list.")
            .Accepts<JsonObject>("application/json")
            .Produces<CampaignView>(StatusCodes.Status201Created)
            .Produces<CampaignView>()
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status409Conflict);

        group.MapGet("/", async (HttpContext http, CampaignStore store, CancellationToken ct) =>
                Results.Ok((await store.ListAsync(http.Caller().TenantId, ct)).Select(c => new CampaignSummary(c.Id, c.Definition.Name, c.Status, c.CreatedAt, c.Definition.StartAt)).ToList()))
            .Allow(Role.Marketer, Role.Admin)
            .WithName("ListCampaigns")
            .WithSummary("Every campaign of the tenant, newest first")
            .Produces<List<CampaignSummary>>();

        group.MapGet("/{id}", async (string id, HttpContext http, CampaignStore store, DeliveryStore deliveries, DurableAccess durable, CancellationToken ct) =>
                await store.GetAsync(http.Caller().TenantId, id, ct) is { } c ? Results.Ok(await ViewAsync(c, store, deliveries, durable, ct)) : NotFound(id))
            .Allow(Role.Marketer, Role.Admin)
            .WithName("GetCampaign")
            .WithSummary("A campaign and its progress: targeted, entered or sent, delivered, suppressed by reason, failed, holdout, pending, done; its orchestration's status and last checkpoint")
            .Produces<CampaignView>()
            .ProducesProblem(StatusCodes.Status404NotFound);

        group.MapPost("/{id}/cancel", CancelAsync)
            .Allow(Role.Marketer, Role.Admin)
            .WithName("CancelCampaign")
            .WithSummary("Cancel: answered once the campaign is marked cancelled; no send starts more than a second after that (the fan-out stops at its next page, queued sends are recorded cancelled); sent messages stay sent. GET the campaign for the counts as they settle")
            .Produces<CampaignCancelView>()
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status409Conflict);
    }

    private static IResult NotFound(string id) => Problems.NotFound("campaign_not_found", $"no campaign '{id}'");

    private static async Task<IResult> CreateAsync(HttpContext http, CampaignStore store, DeliveryStore deliveries, TemplateStore templates, AudienceStore audience,
        JourneyStore journeys, DurableAccess durable, AuditLog audit, TimeProvider clock, CancellationToken ct)
    {
        var caller = http.Caller();
        var (node, problem) = await RequestBody.ReadNodeAsync(http.Request, MaxBodyBytes, ct);
        if (problem is not null) return problem;
        if (node is not JsonObject doc) return Problems.BadRequest("invalid_campaign", "the body must be a campaign object");

        var key = http.Request.Headers["Idempotency-Key"].ToString();
        if (key.Length > 200 || key.Any(char.IsControl)) return Problems.BadRequest("invalid_idempotency_key", "Idempotency-Key is at most 200 printable characters");
        var hash = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(doc.ToJsonString())));
        var id = key.Length > 0 ? CampaignRules.IdFor(caller.TenantId, key) : "c" + Siyu.Core.Storage.Ids.Random(19);
        if (key.Length > 0 && await store.GetAsync(caller.TenantId, id, ct) is { } earlier)
            return earlier.RequestHash == hash
                ? Results.Ok(await StartedViewAsync(earlier, store, deliveries, durable, ct))
                : Problems.Conflict("idempotency_key_reused", "this Idempotency-Key started a different campaign; use a new key for a new campaign");

        var now = clock.GetUtcNow();
        var fields = new List<(string Field, string Message)>();
        var definition = CampaignRules.Parse(doc, fields);
        if (definition is not null) CampaignRules.CheckSchedule(definition, now, fields);
        var errors = fields.Select(f => f.Field.Length == 0 ? f.Message : $"{f.Field}: {f.Message}").ToList();
        if (definition is not null)
        {
            // What the campaign names must exist now, so it cannot fail at the first recipient.
            if (definition.Segment is { } segment && await audience.GetSegmentAsync(caller.TenantId, segment, ct) is null)
                errors.Add($"audience.segment: no segment '{segment}'");
            if (definition.Journey is { } journeyId)
            {
                var journey = await journeys.GetAsync(caller.TenantId, journeyId, ct);
                if (journey is null) errors.Add($"journey: no journey '{journeyId}'");
                else if (journey.Status != JourneyStatus.Live && !(journey.Status == JourneyStatus.Paused && definition.StartAt is not null))
                    errors.Add($"journey: '{journeyId}' is {journey.Status}; a campaign enters live journeys");
            }
            if (definition.Message is { } message)
            {
                if (await templates.GetAsync(caller.TenantId, message.Template, ct) is not { } template)
                    errors.Add($"message.template: no template '{message.Template}'");
                else
                {
                    errors.AddRange(MessageTemplates.CheckSend(template.Template, null, message.Variables.Keys).Select(p => $"message.variables: {p}"));
                    foreach (var (name, text) in message.Variables)
                        foreach (var reference in Siyu.Core.Journeys.Templates.References(text))
                            if (Siyu.Core.Journeys.Templates.Problem(reference) is { } bad) errors.Add($"message.variables.{name}: {bad}");
                }
            }
        }
        if (errors.Count > 0 || definition is null) return Problems.Invalid("invalid_campaign", "the campaign", errors);

        var parts = definition.Segment is not null ? Siyu.Core.Storage.Ids.ProfileBuckets : (definition.Identities!.Count + CampaignStore.ListChunk - 1) / CampaignStore.ListChunk;
        var stored = new StoredCampaign(caller.TenantId, id, definition, doc, hash, definition.StartAt > now ? CampaignStatus.Scheduled : CampaignStatus.Running,
            parts, now, caller.KeyId, null, null, default);
        if (!await store.CreateAsync(stored, ct))
        {
            // Started at the same moment by a retry of this request.
            var same = await store.GetAsync(caller.TenantId, id, ct);
            return same?.RequestHash == hash ? Results.Ok(await StartedViewAsync(same, store, deliveries, durable, ct)) : Problems.Conflict("idempotency_key_reused", "this Idempotency-Key started a different campaign");
        }
        await audit.RecordAsync(http, AuditLog.Actions.CampaignStarted, null, $"campaign {id} ({definition.Name})");
        var created = (await store.GetAsync(caller.TenantId, id, ct))!;
        return Results.Created($"/api/campaigns/{id}", await StartedViewAsync(created, store, deliveries, durable, ct));
    }

    /// <summary>
    /// The campaign's orchestration started (once: a repeated request finds it), then the view. A stored campaign whose
    /// start was lost (the process died between the two) is started by the same request retried, or by the hourly check.
    /// </summary>
    private static async Task<CampaignView> StartedViewAsync(StoredCampaign c, CampaignStore store, DeliveryStore deliveries, DurableAccess durable, CancellationToken ct)
    {
        await durable.StartOnceAsync(CampaignOrchestration.Name, OperationIds.Campaign(c.TenantId, c.Id), new CampaignRef(c.TenantId, c.Id, Hosting.Telemetry.Current), ct);
        return await ViewAsync(c, store, deliveries, durable, ct);
    }

    /// <summary>
    /// Cancel, in as few storage round trips as there can be (it is called under load): read the campaign (or take this
    /// instance's cached copy), set its status under its ETag (what stops sends and pages: workers look at it before every send, through a cache of at most
    /// Delivery:CacheTtl), write the audit entry, answer; the orchestration's signal goes alongside. The counts settle
    /// after the answer; GET the campaign for them. A campaign whose orchestration has recorded its end cannot be cancelled.
    /// </summary>
    private static async Task<IResult> CancelAsync(string id, HttpContext http, CampaignStore store, SendingCache cache, AuditLog audit,
        DurableAccess durable, TimeProvider clock, ILoggerFactory logs, CancellationToken ct)
    {
        var tenant = http.Caller().TenantId;
        // Where the time of a cancel goes, in the answer's Server-Timing header: the benchmark reads it under load.
        var timing = new ServerTiming(http.Response);
        for (var attempt = 0; attempt < 5; attempt++)
        {
            // First the copy the senders here already hold (at most Delivery:CacheTtl old): its ETag is current unless the
            // row changed since, and then the write below fails and the row is read afresh.
            var campaign = (attempt == 0 ? cache.CachedCampaign(tenant, id) : null) ?? await timing.Time("read", store.GetAsync(tenant, id, ct));
            if (campaign is null) return NotFound(id);
            if (campaign.Status == CampaignStatus.Cancelled) return Results.Ok(CampaignCancelView.Of(campaign));
            if (campaign.FinishedAt is not null || campaign.Status == CampaignStatus.Done)
                return Problems.Conflict("campaign_done", $"campaign '{id}' has finished; there is nothing left to cancel");
            var now = clock.GetUtcNow();
            if (!await timing.Time("mark", store.SetStatusAsync(campaign, CampaignStatus.Cancelled, now, ct))) continue;
            cache.Forget(tenant, id);
            // The stored status is what stops sends and pages (the fan-out looks at it before each page); the event only
            // wakes the orchestration sooner from a wait for startAt or between pages, so the answer does not wait for it.
            // A signal lost with the process leaves the orchestration to find the status at its next look.
            _ = SignalCancelAsync(durable, tenant, id, logs.CreateLogger(typeof(CampaignEndpoints)));
            await timing.Time("audit", audit.RecordAsync(http, AuditLog.Actions.CampaignCancelled, null, $"campaign {id}"));
            timing.Write();
            return Results.Ok(CampaignCancelView.Of(campaign with { Status = CampaignStatus.Cancelled, CancelledAt = now }));
        }
        return Problems.Conflict("campaign_changed", $"campaign '{id}' kept changing; try again");
    }

    private static async Task SignalCancelAsync(DurableAccess durable, string tenant, string id, ILogger log)
    {
        try
        {
            await durable.SignalAsync(OperationIds.Campaign(tenant, id), CampaignOrchestration.CancelEvent, true, CancellationToken.None);
        }
        catch (Exception e)
        {
            log.LogWarning(e, "The cancel of campaign {Campaign} was not signalled to its orchestration; it finds the status at its next look", id);
        }
    }

    /// <summary>The view with its orchestration's status beside the counts.</summary>
    public static async Task<CampaignView> ViewAsync(StoredCampaign c, CampaignStore store, DeliveryStore deliveries, DurableAccess durable, CancellationToken ct)
    {
        var instance = durable.Client.GetInstanceAsync(OperationIds.Campaign(c.TenantId, c.Id), getInputsAndOutputs: true, ct);
        var view = await ViewAsync(c, store, deliveries, ct);
        return view with { Orchestration = await instance is { } m ? OperationView.Of(m) : null };
    }

    public static async Task<CampaignView> ViewAsync(StoredCampaign c, CampaignStore store, DeliveryStore deliveries, CancellationToken ct)
    {
        var progressTask = deliveries.StatsAsync(c.TenantId, DeliveryStore.CampaignOwner(c.Id), ct);
        var parts = await store.PartsAsync(c.TenantId, c.Id, ct);
        var p = await progressTask;
        p.NotFound += parts.Sum(x => x.NotFound);
        // A message campaign counts its targets at its checkpoints (its rows are written only when each is decided); a
        // journey campaign with the rows its fan-out writes. Each counts in one place only.
        p.Targeted += parts.Sum(x => x.Targeted);
        var fannedOut = parts.Count(x => x.Done);
        // Finished: nothing is pending, and the fan-out reached its end (or was cancelled, and what it queued is settled).
        var done = p.Pending == 0 && (c.Status == CampaignStatus.Cancelled || (c.Status == CampaignStatus.Running && fannedOut == c.Parts));
        var status = c.Status == CampaignStatus.Running && done ? CampaignStatus.Done : c.Status;
        return new CampaignView(c.Id, c.Definition.Name, status, done, c.CreatedAt, c.Definition.StartAt, c.StartedAt, c.CancelledAt,
            c.Document, new CampaignProgressView(p.Targeted, p.Entered, p.AlreadyIn, p.Sent, p.Delivered, p.Failed, p.Holdout, p.Cancelled, p.NotFound,
                p.SuppressedTotal, p.Suppressed, p.Pending, c.Parts, fannedOut) { FailedBy = p.FailedBy.Where(kv => kv.Value != 0).ToDictionary() }) { FinishedAt = c.FinishedAt, Summary = c.Summary };
    }
}
