using System.Globalization;
using System.Text.Json.Nodes;
using Siyu.Core.Analytics;
using Siyu.Core.Delivery;
using Siyu.Core.Journeys;
using Siyu.Core.Tenants;
using Siyu.Functions.Api;
using Siyu.Functions.Campaigns;
using Siyu.Functions.Journeys;
using Siyu.Functions.Tenants;
using Siyu.Storage.Analytics;
using Siyu.Storage.Delivery;
using Siyu.Storage.Journeys;
using Siyu.Storage.Audience;
using Siyu.Storage.Privacy;

namespace Siyu.Functions.Analytics;

/// <summary>Where a figure comes from and how fresh it is: counted as things happen (fresh as of the read), or by an analysis job (as of its end).</summary>
public sealed record Freshness(string Source, DateTimeOffset AsOf, string Note);

public sealed record EdgeView(string From, string Branch, string? To, long People);

public sealed record BranchAnalyticsView(string Name, bool Control, long Assigned, long Converted, Proportion Conversion, Lift? VersusControl);

public sealed record SplitAnalyticsView(string Node, IReadOnlyList<BranchAnalyticsView> Branches);

/// <summary>One day of a journey: what entered, ended and converted that day; per node what entered and left by which branch; per split branch the conversions.</summary>
public sealed record JourneyDayView(string Day, long Entered, long Completed, long Exited, long Converted, IReadOnlyDictionary<string, long> NodesEntered,
    IReadOnlyDictionary<string, Dictionary<string, long>> NodesLeft, IReadOnlyDictionary<string, long> BranchConverted);

public sealed record JourneyAnalyticsView(string Journey, string Name, string Status, int Version, string? Start, long Entered, long Active, long Completed, long Exited,
    Proportion Conversion, IReadOnlyList<NodeStatsView> Nodes, IReadOnlyList<EdgeView> Edges, IReadOnlyList<SplitAnalyticsView> Splits,
    IReadOnlyList<JourneyDayView> Daily, Freshness Freshness);

public sealed record CampaignSlotView(string At, CampaignProgress Progress);

public sealed record CampaignAnalyticsView(string Campaign, string Name, string Status, bool Done, CampaignProgressView Progress, IReadOnlyList<CampaignSlotView> PerMinute, Freshness Freshness);

public sealed record ChannelDayView(string Day, string Channel, long Sent, long Delivered, long Failed, IReadOnlyDictionary<string, long> FailedBy,
    IReadOnlyDictionary<string, long> Suppressed, IReadOnlyDictionary<string, long> Deferred);

public sealed record DeliveryAnalyticsView(string From, string To, IReadOnlyList<string> Channels, IReadOnlyList<ChannelDayView> Days, IReadOnlyList<ChannelDayView> Totals,
    Freshness Freshness);

public sealed record ConsentRateView(string Purpose, string Channel, long Granted, long Withdrawn, Proportion Share);

public sealed record ShareView(string Name, long People, double? Share);

public sealed record SegmentSizeView(string Id, string Name, long People, double? Share);

public sealed record AudienceDayView(string Day, long People, IReadOnlyDictionary<string, long> Segments, IReadOnlyDictionary<string, long> ConsentGranted);

public sealed record AudienceAnalyticsView(long People, IReadOnlyList<ConsentRateView> Consent, IReadOnlyList<ShareView> Rfm, IReadOnlyList<ShareView> Lifecycle,
    IReadOnlyList<SegmentSizeView> Segments, IReadOnlyList<ShareView> WithdrawalsByDay, IReadOnlyList<AudienceDayView> History, string? Job, Freshness? Freshness);

/// <summary>
/// Results a marketer reads, per tenant, as JSON: journeys, campaigns and delivery from counters kept as things happen
/// (sharded over the profile buckets, written in the same transactions as what they count); the audience, funnels and
/// cohorts from analysis jobs (<see cref="AnalysisOrchestration"/>), never a scan per request.
/// </summary>
public static class AnalyticsEndpoints
{
    public const int MaxDays = 92;

    public static void MapAnalytics(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/api/analytics").WithTags("Analytics");

        group.MapGet("/journeys/{id}", JourneyAsync)
            .Allow(Role.Marketer, Role.Admin)
            .WithName("GetJourneyAnalytics")
            .WithSummary("A journey's graph with live counts: per node entered, there now, left by branch; per split branch the goal conversion with its 95 % interval and the difference to control; the same per day (from, to: yyyy-MM-dd, China time; default the last 14 days)")
            .Produces<JourneyAnalyticsView>()
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status404NotFound);

        group.MapGet("/campaigns/{id}", CampaignAsync)
            .Allow(Role.Marketer, Role.Admin)
            .WithName("GetCampaignAnalytics")
            .WithSummary("A campaign's outcomes (targeted, sent, delivered, failed by reason, suppressed by reason) and the same per minute while it runs")
            .Produces<CampaignAnalyticsView>()
            .ProducesProblem(StatusCodes.Status404NotFound);

        group.MapGet("/delivery", DeliveryAsync)
            .Allow(Role.Marketer, Role.Admin)
            .WithName("GetDeliveryAnalytics")
            .WithSummary("Per channel and day (from, to: yyyy-MM-dd, China time; default the last 14 days): sent, delivered, failed by reason, suppressed by reason (consent, caps…), and sends held for later by reason (quiet hours, a cap's window, provider retries)")
            .Produces<DeliveryAnalyticsView>()
            .ProducesProblem(StatusCodes.Status400BadRequest);

        group.MapGet("/audience", AudienceAsync)
            .Allow(Role.Marketer, Role.Admin)
            .WithName("GetAudienceAnalytics")
            .WithSummary("The last audience snapshot: consent rate per purpose × channel, withdrawals per day, RFM tiers, lifecycle stages, segment sizes; and one snapshot per day (from, to) for sizes over time")
            .WithDescription("Made by the audience analysis job: daily at 02:00 China time, and whenever POST /api/analytics/jobs {\"kind\": \"audience\"} asks.")
            .Produces<AudienceAnalyticsView>()
            .ProducesProblem(StatusCodes.Status400BadRequest);

        AnalysisJobs.Map(group);
    }

    /// <summary>A day range from the query (yyyy-MM-dd, China time), by default the last 14 days; at most <see cref="MaxDays"/>.</summary>
    internal static (string From, string To, IResult? Problem) Range(string? from, string? to, DateTimeOffset now)
    {
        var today = DateOnly.ParseExact(TimeSlots.Day(now), "yyyy-MM-dd", CultureInfo.InvariantCulture);
        var end = today;
        if (to is not null && !TimeSlots.TryParseDay(to, out end)) return ("", "", Problems.BadRequest("invalid_range", "'to' is a day as yyyy-MM-dd (China time)"));
        var start = end.AddDays(-13);
        if (from is not null && !TimeSlots.TryParseDay(from, out start)) return ("", "", Problems.BadRequest("invalid_range", "'from' is a day as yyyy-MM-dd (China time)"));
        if (end < start) return ("", "", Problems.BadRequest("invalid_range", "'to' is before 'from'"));
        if (end.DayNumber - start.DayNumber + 1 > MaxDays) return ("", "", Problems.BadRequest("invalid_range", $"at most {MaxDays} days at a time"));
        return (start.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture), end.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture), null);
    }

    private static Freshness Counted(TimeProvider clock) => new("counters", clock.GetUtcNow(), "counted in the same write as what they count; as fresh as this read");

    private static async Task<IResult> JourneyAsync(string id, string? from, string? to, HttpContext http, JourneyStore store, JourneyCatalog catalog, RunStore runs,
        TimeProvider clock, CancellationToken ct)
    {
        var tenant = http.Caller().TenantId;
        var (start, end, problem) = Range(from, to, clock.GetUtcNow());
        if (problem is not null) return problem;
        if (!JourneyParser.IsValidId(id) || await store.GetAsync(tenant, id, ct) is not { } journey)
            return Problems.NotFound("journey_not_found", $"no journey '{id}' in this tenant");
        var statsTask = runs.StatsAsync(tenant, id, ct);
        var dailyTask = runs.DailyStatsAsync(tenant, id, start, end, ct);
        var latest = journey.Version > 0 ? await catalog.VersionAsync(tenant, id, journey.Version, ct) : null;
        var stats = await statsTask;
        var view = JourneysEndpoints.StatsView(id, journey, latest, stats);
        var edges = (latest?.Nodes.Values ?? []).SelectMany(n => n.Exits.Select(e =>
            new EdgeView(n.Id, e.Branch, e.Target, stats.Nodes.GetValueOrDefault(n.Id)?.Left.GetValueOrDefault(e.Branch) ?? 0))).ToList();
        // Control branches end the run where they are: drawn as an edge to nowhere, with their count.
        edges.AddRange((latest?.Nodes.Values.OfType<SplitNode>() ?? []).SelectMany(s => s.Branches.Where(b => b.Control)
            .Select(b => new EdgeView(s.Id, b.Name, null, stats.Nodes.GetValueOrDefault(s.Id)?.Left.GetValueOrDefault(b.Name) ?? 0))));
        var splits = view.Splits.Select(s =>
        {
            var control = s.Branches.FirstOrDefault(b => b.Control);
            return new SplitAnalyticsView(s.Node, s.Branches.Select(b => new BranchAnalyticsView(b.Name, b.Control, b.Assigned, b.Converted,
                Proportions.Of(b.Converted, b.Assigned),
                control is null || b.Control ? null : Proportions.Difference(b.Converted, b.Assigned, control.Converted, control.Assigned))).ToList());
        }).ToList();
        var daily = (await dailyTask).Select(d => new JourneyDayView(d.Key, d.Value.Entered, d.Value.Completed, d.Value.Exited, d.Value.Converted,
            d.Value.Nodes.ToDictionary(n => n.Key, n => n.Value.Entered, StringComparer.Ordinal),
            d.Value.Nodes.ToDictionary(n => n.Key, n => n.Value.Left, StringComparer.Ordinal), d.Value.ConvertedBy)).ToList();
        return Results.Ok(new JourneyAnalyticsView(id, journey.Name, journey.Status, journey.Version, latest?.Start, view.Entered, view.Active, view.Completed, view.Exited,
            Proportions.Of(view.Converted, view.Entered), view.Nodes, edges, splits, daily, Counted(clock)));
    }

    private static async Task<IResult> CampaignAsync(string id, HttpContext http, CampaignStore store, DeliveryStore deliveries, TimeProvider clock, CancellationToken ct)
    {
        var tenant = http.Caller().TenantId;
        if (!Siyu.Core.Storage.Ids.IsIdText(id) || await store.GetAsync(tenant, id, ct) is not { } campaign)
            return Problems.NotFound("campaign_not_found", $"no campaign '{id}' in this tenant");
        var owner = DeliveryStore.CampaignOwner(id);
        var first = campaign.StartedAt ?? campaign.CreatedAt;
        var last = campaign.FinishedAt ?? clock.GetUtcNow();
        // Receipts settle after the last send: the series reads on to now, bounded to a day past the start.
        if (last - first > TimeSpan.FromDays(1)) first = last - TimeSpan.FromDays(1);
        var seriesTask = deliveries.SeriesAsync(tenant, owner, 'm', TimeSlots.Minute(first), TimeSlots.Minute(clock.GetUtcNow()), ct);
        var view = await CampaignEndpoints.ViewAsync(campaign, store, deliveries, ct);
        var series = (await seriesTask).Select(s => new CampaignSlotView(s.Key, s.Value)).ToList();
        return Results.Ok(new CampaignAnalyticsView(id, campaign.Definition.Name, view.Status, view.Done, view.Progress, series, Counted(clock)));
    }

    private static async Task<IResult> DeliveryAsync(string? from, string? to, string? channel, HttpContext http, DeliveryStore deliveries, TimeProvider clock, CancellationToken ct)
    {
        var tenant = http.Caller().TenantId;
        var (start, end, problem) = Range(from, to, clock.GetUtcNow());
        if (problem is not null) return problem;
        if (channel is not null && !MessageTemplates.Channels.Contains(channel))
            return Problems.BadRequest("invalid_channel", $"channel is one of {string.Join(", ", MessageTemplates.Channels)}");
        var channels = channel is not null ? [channel] : MessageTemplates.Channels.ToArray();
        var series = await Task.WhenAll(channels.Select(async c => (Channel: c, Days: await deliveries.SeriesAsync(tenant, DeliveryStore.ChannelOwner(c), 'd', start, end, ct))));
        static ChannelDayView Row(string day, string channel, CampaignProgress p) =>
            new(day, channel, p.Sent, p.Delivered, p.Failed, p.FailedBy.Where(kv => kv.Value != 0).ToDictionary(), p.Suppressed.Where(kv => kv.Value != 0).ToDictionary(), p.DeferredBy.Where(kv => kv.Value != 0).ToDictionary());
        var days = series.SelectMany(s => s.Days.Select(d => Row(d.Key, s.Channel, d.Value))).OrderBy(d => d.Day, StringComparer.Ordinal).ThenBy(d => d.Channel, StringComparer.Ordinal).ToList();
        var totals = series.Where(s => s.Days.Count > 0).Select(s =>
        {
            var sum = new CampaignProgress();
            foreach (var d in s.Days.Values) sum.Add(d);
            return Row($"{start}..{end}", s.Channel, sum);
        }).ToList();
        return Results.Ok(new DeliveryAnalyticsView(start, end, series.Where(s => s.Days.Count > 0).Select(s => s.Channel).ToList(), days, totals, Counted(clock)));
    }

    private static async Task<IResult> AudienceAsync(string? from, string? to, HttpContext http, AnalysisStore analyses, AudienceStore audience, TimeProvider clock, CancellationToken ct)
    {
        var tenant = http.Caller().TenantId;
        var now = clock.GetUtcNow();
        var (start, end, problem) = Range(from, to, now);
        if (problem is not null) return problem;
        // Every snapshot up to the range's end, in one query: the newest is the one shown, those in the range the history.
        var allTask = analyses.DaysAsync(tenant, "0000-00-00", string.CompareOrdinal(end, TimeSlots.Day(now)) > 0 ? end : TimeSlots.Day(now), ct);
        var segmentNames = (await audience.ReadAllAsync(tenant, ct)).Segments.ToDictionary(s => s.Id, s => s.Name, StringComparer.Ordinal);
        var all = await allTask;
        var days = all.Where(d => string.CompareOrdinal(d.Day, start) >= 0 && string.CompareOrdinal(d.Day, end) <= 0).ToList();
        var history = days.Select(d => new AudienceDayView(d.Day, d.Totals.People, (IReadOnlyDictionary<string, long>?)d.Totals.Segments ?? new Dictionary<string, long>(),
            (IReadOnlyDictionary<string, long>?)d.Totals.ConsentGranted ?? new Dictionary<string, long>())).ToList();
        if (all.Count == 0)
            return Results.Ok(new AudienceAnalyticsView(0, [], [], [], [], [], history, null, null));
        var (_, at, t) = all[^1];
        double? Share(long n) => t.People == 0 ? null : Math.Round((double)n / t.People, 4);
        var consent = (t.ConsentGranted?.Keys ?? Enumerable.Empty<string>()).Union(t.ConsentWithdrawn?.Keys ?? Enumerable.Empty<string>()).Select(k =>
        {
            var parts = k.Split('/');
            var granted = t.ConsentGranted?.GetValueOrDefault(k) ?? 0;
            return new ConsentRateView(parts[0], parts.Length > 1 ? parts[1] : "", granted, t.ConsentWithdrawn?.GetValueOrDefault(k) ?? 0, Proportions.Of(granted, t.People));
        }).OrderBy(c => c.Purpose, StringComparer.Ordinal).ThenBy(c => c.Channel, StringComparer.Ordinal).ToList();
        var rfm = Siyu.Core.Traits.RfmSegments.All.Append("none").Select(s => new ShareView(s, t.Rfm?.GetValueOrDefault(s) ?? 0, Share(t.Rfm?.GetValueOrDefault(s) ?? 0))).ToList();
        var lifecycle = Siyu.Core.Traits.LifecycleStages.All.Append("unknown").Select(s => new ShareView(s, t.Lifecycle?.GetValueOrDefault(s) ?? 0, Share(t.Lifecycle?.GetValueOrDefault(s) ?? 0))).ToList();
        var segments = segmentNames.Select(kv => new SegmentSizeView(kv.Key, kv.Value, t.Segments?.GetValueOrDefault(kv.Key) ?? 0, Share(t.Segments?.GetValueOrDefault(kv.Key) ?? 0))).ToList();
        var withdrawals = (t.WithdrawalsByDay ?? new(StringComparer.Ordinal)).Where(kv => string.CompareOrdinal(kv.Key, start) >= 0 && string.CompareOrdinal(kv.Key, end) <= 0)
            .Select(kv => new ShareView(kv.Key, kv.Value, null)).ToList();
        return Results.Ok(new AudienceAnalyticsView(t.People, consent, rfm, lifecycle, segments, withdrawals, history, null,
            new Freshness("analysis job", at, "the audience snapshot: daily at 02:00 China time and on demand (POST /api/analytics/jobs {\"kind\": \"audience\"})")));
    }
}
