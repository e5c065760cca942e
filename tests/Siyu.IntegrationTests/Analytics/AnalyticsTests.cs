using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Siyu.FakeProviders;
using Siyu.IntegrationTests.Delivery;
using Siyu.IntegrationTests.Infrastructure;
using Siyu.IntegrationTests.Journeys;
using static Siyu.IntegrationTests.Delivery.SendingBrand;

namespace Siyu.IntegrationTests.Analytics;

/// <summary>
/// Results as a marketer reads them: a journey's graph with counts and split conversions, a campaign's outcomes over
/// time, delivery per channel and day, and the analysis jobs (funnel, cohort, audience) run over every partition.
/// </summary>
public sealed class AnalyticsTests(DeliveryApp app) : IClassFixture<DeliveryApp>
{
    public const string SplitJourney = """
        {
          "name": "Coupon test",
          "entry": { "on": "api", "reentry": "once" },
          "goal": { "event": "order_paid", "within": "1d" },
          "start": "split",
          "nodes": {
            "split": { "type": "split", "branches": [
              { "name": "coupon", "weight": 40, "next": "coupon" },
              { "name": "plain", "weight": 40, "next": "done" },
              { "name": "control", "weight": 20, "control": true } ] },
            "coupon": { "type": "tag", "tag": "coupon_test", "next": "done" },
            "done": { "type": "exit" }
          }
        }
        """;

    private static async Task<JsonElement> Get(TestTenant tenant, string path)
    {
        var response = await tenant.Marketer().GetAsync(path);
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"{path}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
        return await response.Json();
    }

    [Fact]
    public async Task A_journeys_analytics_match_its_stats_and_give_each_branch_its_conversion_with_an_interval_and_its_difference_to_control()
    {
        var brand = await SendingBrand.CreateAsync(app);
        var tenant = brand.Tenant;
        Assert.Equal(HttpStatusCode.OK, (await tenant.Marketer().PutAsJsonAsync("/api/tags/coupon_test", new { group = "tests" })).StatusCode);
        await tenant.PublishAsync("coupon-test", SplitJourney);
        var phones = await brand.PeopleAsync(60, consent: "none");
        var enter = await tenant.Enter("coupon-test", new { people = phones.Select(p => new { identity = "phone:" + p }).ToArray() });
        Assert.True(enter.StatusCode == HttpStatusCode.OK, await enter.Content.ReadAsStringAsync());
        await tenant.WaitForStats("coupon-test", s => s.GetProperty("completed").GetInt64() == 60, "every run through the split (a control run ends there)");
        var payers = phones.Take(25).ToList();
        Assert.Equal(HttpStatusCode.Accepted, (await tenant.Ingest().PostEvents(payers.Select(p =>
            (object)new { messageId = "paid-" + p, type = "track", @event = "order_paid", identities = new { phone = p } }).ToArray())).StatusCode);
        var stats = await tenant.WaitForStats("coupon-test", s => s.GetProperty("converted").GetInt64() == 25, "25 conversions");

        var a = await Get(tenant, "/api/analytics/journeys/coupon-test");
        Assert.Equal("split", a.GetProperty("start").GetString());
        Assert.Equal(60, a.GetProperty("entered").GetInt64());
        Assert.Equal(25, a.GetProperty("conversion").GetProperty("successes").GetInt64());
        // Every node's counts are the stats' counts.
        foreach (var node in stats.GetProperty("nodes").EnumerateArray())
        {
            var drawn = a.GetProperty("nodes").EnumerateArray().Single(n => n.GetProperty("id").GetString() == node.GetProperty("id").GetString());
            Assert.Equal(node.GetProperty("entered").GetInt64(), drawn.GetProperty("entered").GetInt64());
            Assert.Equal(node.GetProperty("current").GetInt64(), drawn.GetProperty("current").GetInt64());
        }
        // Edges: each branch of the split, the control's leading nowhere; together every person entered.
        var splitEdges = a.GetProperty("edges").EnumerateArray().Where(e => e.GetProperty("from").GetString() == "split").ToList();
        Assert.Equal(new[] { "control", "coupon", "plain" }, splitEdges.Select(e => e.GetProperty("branch").GetString()!).Order().ToArray());
        Assert.Equal(60, splitEdges.Sum(e => e.GetProperty("people").GetInt64()));
        Assert.Equal(JsonValueKind.Null, splitEdges.Single(e => e.GetProperty("branch").GetString() == "control").GetProperty("to").ValueKind);

        var branches = a.GetProperty("splits")[0].GetProperty("branches").EnumerateArray().ToList();
        Assert.Equal(25, branches.Sum(b => b.GetProperty("converted").GetInt64()));
        var control = branches.Single(b => b.GetProperty("control").GetBoolean());
        Assert.Equal(JsonValueKind.Null, control.GetProperty("versusControl").ValueKind);
        foreach (var b in branches.Where(b => b.GetProperty("assigned").GetInt64() > 0))
        {
            var c = b.GetProperty("conversion");
            var rate = c.GetProperty("rate").GetDouble();
            Assert.Equal(Math.Round((double)b.GetProperty("converted").GetInt64() / b.GetProperty("assigned").GetInt64(), 4), rate);
            Assert.InRange(c.GetProperty("low").GetDouble(), 0, rate);
            Assert.InRange(c.GetProperty("high").GetDouble(), rate, 1);
            if (b.GetProperty("control").GetBoolean() || control.GetProperty("assigned").GetInt64() == 0) continue;
            var lift = b.GetProperty("versusControl");
            Assert.Equal(Math.Round(rate - control.GetProperty("conversion").GetProperty("rate").GetDouble(), 4), lift.GetProperty("difference").GetDouble(), 3);
            Assert.True(lift.GetProperty("low").GetDouble() <= lift.GetProperty("difference").GetDouble());
            Assert.True(lift.GetProperty("high").GetDouble() >= lift.GetProperty("difference").GetDouble());
        }
        // Per day (China time): today's row holds the same entries and conversions.
        var today = a.GetProperty("daily").EnumerateArray().Single();
        Assert.Equal(Siyu.Core.Analytics.TimeSlots.Day(DateTimeOffset.UtcNow), today.GetProperty("day").GetString());
        Assert.Equal(60, today.GetProperty("entered").GetInt64());
        Assert.Equal(25, today.GetProperty("converted").GetInt64());
        Assert.Equal(60, today.GetProperty("nodesEntered").GetProperty("split").GetInt64());
        Assert.Equal(60, today.GetProperty("nodesLeft").GetProperty("split").EnumerateObject().Sum(b => b.Value.GetInt64()));
        Assert.Equal(25, today.GetProperty("branchConverted").EnumerateObject().Sum(b => b.Value.GetInt64()));
        Assert.Equal("counters", a.GetProperty("freshness").GetProperty("source").GetString());

        // Another tenant cannot read it; a bad range is a 400.
        var other = await app.NewTenantAsync();
        await (await other.Marketer().GetAsync("/api/analytics/journeys/coupon-test")).AssertProblem(HttpStatusCode.NotFound, "journey_not_found");
        await (await tenant.Marketer().GetAsync("/api/analytics/journeys/coupon-test?from=2026-13-01")).AssertProblem(HttpStatusCode.BadRequest, "invalid_range");
        Assert.Equal(HttpStatusCode.Forbidden, (await tenant.Ingest().GetAsync("/api/analytics/journeys/coupon-test")).StatusCode);
    }

    [Fact]
    public async Task A_campaigns_outcomes_add_up_over_its_minutes_and_delivery_is_counted_per_channel_with_every_reason_including_holds()
    {
        var brand = await SendingBrand.CreateAsync(app);
        var granted = await brand.PeopleAsync(12);
        var withdrawn = await brand.PeopleAsync(3);
        await brand.ConsentAsync(withdrawn, "withdrawn");
        app.Fake.FailNext("+86" + granted[0], Fault.Http(422, "invalid_number", "not a mobile number"));
        // One more person is in their quiet hours now (Shanghai time): their message is held for later, not refused.
        var sleeper = (await brand.PeopleAsync(1))[0];
        var local = DateTimeOffset.UtcNow.ToOffset(TimeSpan.FromHours(8));
        var quiet = new { quietHours = new { start = local.AddHours(-1).ToString("HH:mm"), end = local.AddHours(3).ToString("HH:mm") } };
        var sleeperId = await Consent.ConsentApi.ProfileIdOf(brand.Tenant.Marketer(), "phone:" + sleeper);
        Assert.Equal(HttpStatusCode.OK, (await brand.Tenant.Ingest().PutAsJsonAsync($"/api/profiles/{sleeperId}/preferences", quiet)).StatusCode);
        var id = await brand.StartOkAsync(new
        {
            name = "analytics",
            audience = new { identities = granted.Concat(withdrawn).Append(sleeper).Select(p => "phone:" + p).ToArray() },
            message = new { template = "sms_offer", variables = new Dictionary<string, string> { ["offer"] = "CNY 5" } },
        });
        await Eventually.Get(() => brand.CampaignAsync(id), c => Progress(c, "sent") == 11 && Progress(c, "failed") == 1 && Progress(c, "pending") == 1,
            TimeSpan.FromSeconds(60), "all decided but the one in quiet hours");

        var a = await Get(brand.Tenant, $"/api/analytics/campaigns/{id}");
        var progress = a.GetProperty("progress");
        Assert.Equal(16, progress.GetProperty("targeted").GetInt64());
        Assert.Equal(11, progress.GetProperty("sent").GetInt64());
        Assert.Equal(1, progress.GetProperty("failed").GetInt64());
        Assert.Equal(1, progress.GetProperty("failedBy").EnumerateObject().Single().Value.GetInt64());
        Assert.Equal(3, progress.GetProperty("suppressed").GetProperty("withdrawn").GetInt64());
        var minutes = a.GetProperty("perMinute").EnumerateArray().ToList();
        Assert.NotEmpty(minutes);
        Assert.Equal(11, minutes.Sum(m => m.GetProperty("progress").GetProperty("sent").GetInt64()));
        Assert.Equal(3, minutes.Sum(m => m.GetProperty("progress").GetProperty("suppressed").TryGetProperty("withdrawn", out var n) ? n.GetInt64() : 0));

        var d = await Get(brand.Tenant, "/api/analytics/delivery");
        var sms = d.GetProperty("days").EnumerateArray().SingleOrDefault(r => r.GetProperty("channel").GetString() == "sms");
        Assert.True(sms.ValueKind == JsonValueKind.Object, d.ToString());
        Assert.Equal(Siyu.Core.Analytics.TimeSlots.Day(DateTimeOffset.UtcNow), sms.GetProperty("day").GetString());
        Assert.Equal(11, sms.GetProperty("sent").GetInt64());
        Assert.Equal(1, sms.GetProperty("failed").GetInt64());
        Assert.Equal(3, sms.GetProperty("suppressed").GetProperty("withdrawn").GetInt64());
        Assert.Equal(1, sms.GetProperty("deferred").GetProperty("quiet_hours").GetInt64());
        Assert.Equal(new[] { "sms" }, d.GetProperty("channels").EnumerateArray().Select(c => c.GetString()!).ToArray());
        await (await brand.Tenant.Marketer().GetAsync("/api/analytics/delivery?channel=fax")).AssertProblem(HttpStatusCode.BadRequest, "invalid_channel");
        await (await brand.Tenant.Marketer().GetAsync("/api/analytics/delivery?from=2026-01-01&to=2026-12-31")).AssertProblem(HttpStatusCode.BadRequest, "invalid_range");
        // Counters are per tenant: a new tenant has none.
        var other = await app.NewTenantAsync();
        Assert.Equal(0, (await Get(other, "/api/analytics/delivery")).GetProperty("days").GetArrayLength());
    }

    public static async Task<JsonElement> RunJobAsync(TestTenant tenant, object request)
    {
        var start = await tenant.Marketer().PostAsJsonAsync("/api/analytics/jobs", request);
        Assert.True(start.StatusCode == HttpStatusCode.Accepted, await start.Content.ReadAsStringAsync());
        var location = (await start.Json()).GetProperty("location").GetString()!;
        return await Eventually.Get(async () => await Get(tenant, location), j => j.GetProperty("status").GetString() != "running", TimeSpan.FromSeconds(90), "the analysis job done");
    }

    /// <summary>
    /// People with known event histories: 6 view → add_to_cart → order_paid in order; 3 view → add_to_cart; 2 only view;
    /// 1 paid before viewing (reaches view, cart); 1 added to cart 10 days after viewing (outside the 7-day window).
    /// </summary>
    public static async Task<List<string>> FunnelPeopleAsync(TestTenant tenant)
    {
        var t0 = DateTimeOffset.UtcNow.AddDays(-12);
        var phones = new List<string>();
        var events = new List<object>();
        void Person(params (string Event, double Hours)[] steps)
        {
            var phone = "137" + Random.Shared.Next(10_000_000, 99_999_999);
            phones.Add(phone);
            foreach (var (e, h) in steps)
                events.Add(new { messageId = $"{e}-{phone}-{h}", type = "track", @event = e, identities = new { phone }, timestamp = t0.AddHours(h).ToString("O") });
        }
        for (var i = 0; i < 6; i++) Person(("view", 0), ("add_to_cart", 1), ("order_paid", 2));
        for (var i = 0; i < 3; i++) Person(("view", 0), ("add_to_cart", 5));
        for (var i = 0; i < 2; i++) Person(("view", 3));
        Person(("order_paid", 0), ("view", 1), ("add_to_cart", 2));
        Person(("view", 0), ("add_to_cart", 240));
        Person(("signup", 0)); // in no step: counted among the people, reaching none
        Assert.Equal(HttpStatusCode.Accepted, (await tenant.Ingest().PostEvents(events.ToArray())).StatusCode);
        foreach (var p in phones) await Consent.ConsentApi.ProfileIdOf(tenant.Marketer(), "phone:" + p);
        await tenant.Marketer().WaitForProfile("phone:" + phones[0], 3);
        await tenant.Marketer().WaitForProfile("phone:" + phones[^2], 2);
        return phones;
    }

    [Fact]
    public async Task A_funnel_job_counts_each_ordered_step_within_its_window_and_refuses_bad_requests()
    {
        var tenant = await app.NewTenantAsync();
        await FunnelPeopleAsync(tenant);

        var job = await RunJobAsync(tenant, new { kind = "funnel", steps = new[] { "view", "add_to_cart", "order_paid" }, windowDays = 7 });
        Assert.Equal("done", job.GetProperty("status").GetString());
        Assert.Equal(32, job.GetProperty("progress").GetProperty("done").GetInt32());
        Assert.Equal(14, job.GetProperty("people").GetInt64());
        var steps = job.GetProperty("funnel").EnumerateArray().ToList();
        Assert.Equal([13L, 10L, 6L], steps.Select(s => s.GetProperty("people").GetInt64()).ToArray());
        Assert.Equal(Math.Round(10 / 13.0, 4), steps[1].GetProperty("fromPrevious").GetProperty("rate").GetDouble());
        Assert.Equal(Math.Round(6 / 13.0, 4), steps[2].GetProperty("fromFirst").GetProperty("rate").GetDouble());

        // A range on the first step: read from storage by the events' time. From the day before the histories began, the same
        // steps; from today, none (every first step was 12 days ago).
        var fromBefore = await RunJobAsync(tenant, new { kind = "funnel", steps = new[] { "view", "add_to_cart", "order_paid" }, windowDays = 7,
            from = Siyu.Core.Analytics.TimeSlots.Day(DateTimeOffset.UtcNow.AddDays(-13)) });
        Assert.Equal([13L, 10L, 6L], fromBefore.GetProperty("funnel").EnumerateArray().Select(s => s.GetProperty("people").GetInt64()).ToArray());
        var fromToday = await RunJobAsync(tenant, new { kind = "funnel", steps = new[] { "view", "add_to_cart", "order_paid" }, windowDays = 7,
            from = Siyu.Core.Analytics.TimeSlots.Day(DateTimeOffset.UtcNow) });
        Assert.Equal([0L, 0L, 0L], fromToday.GetProperty("funnel").EnumerateArray().Select(s => s.GetProperty("people").GetInt64()).ToArray());

        var bad = await tenant.Marketer().PostAsJsonAsync("/api/analytics/jobs", new { kind = "funnel", steps = new[] { "view" }, windowDays = 0 });
        var problem = await bad.Content.ReadAsStringAsync();
        await bad.AssertProblem(HttpStatusCode.BadRequest, "invalid_analysis");
        Assert.Contains("\"steps\"", problem);
        Assert.Contains("\"windowDays\"", problem);
        await (await tenant.Marketer().PostAsync("/api/analytics/jobs", new StringContent("{\"kind\":", System.Text.Encoding.UTF8, "application/json"))).AssertProblem(HttpStatusCode.BadRequest, "invalid_json");
        await (await tenant.Marketer().PostAsJsonAsync("/api/analytics/jobs", new { kind = "scan_everything" })).AssertProblem(HttpStatusCode.BadRequest, "invalid_analysis");
        await (await tenant.Marketer().PostAsJsonAsync("/api/analytics/jobs", new { kind = "funnel", steps = new[] { new string('x', 20_000), "b" } }))
            .AssertProblem(HttpStatusCode.RequestEntityTooLarge, "body_too_large");
        await (await tenant.Marketer().PostAsJsonAsync("/api/analytics/jobs", new { kind = "funnel", steps = new[] { new string('x', 101), "b" } }))
            .AssertProblem(HttpStatusCode.BadRequest, "invalid_analysis");
        await (await tenant.Marketer().PostAsync("/api/analytics/jobs", new ByteArrayContent([0xff, 0xfe, 0x00]) { Headers = { ContentType = new("application/json") } }))
            .AssertProblem(HttpStatusCode.BadRequest, "invalid_json");
        await (await tenant.Marketer().PostAsync("/api/analytics/jobs", new StringContent("null", System.Text.Encoding.UTF8, "application/json"))).AssertProblem(HttpStatusCode.BadRequest, "invalid_analysis");
        // A job is the tenant's own.
        var other = await app.NewTenantAsync();
        await (await other.Marketer().GetAsync(job.GetProperty("location").GetString())).AssertProblem(HttpStatusCode.NotFound, "analysis_not_found");
    }

    [Fact]
    public async Task Cohort_and_audience_jobs_count_first_seen_weeks_consent_rates_withdrawals_traits_and_segment_sizes()
    {
        var brand = await SendingBrand.CreateAsync(app);
        var granted = await brand.PeopleAsync(8);
        var withdrawn = await brand.PeopleAsync(2);
        await brand.ConsentAsync(withdrawn, "withdrawn");

        var cohort = await RunJobAsync(brand.Tenant, new { kind = "cohort", weeks = 4 });
        Assert.Equal("done", cohort.GetProperty("status").GetString());
        var row = cohort.GetProperty("cohort").EnumerateArray().Single();
        Assert.Equal(Siyu.Core.Analytics.TimeSlots.Week(DateTimeOffset.UtcNow), row.GetProperty("week").GetString());
        Assert.Equal(10, row.GetProperty("people").GetInt64());
        Assert.Equal(10, row.GetProperty("active")[0].GetInt64());
        Assert.Equal(1.0, row.GetProperty("share")[0].GetDouble());

        var audience = await RunJobAsync(brand.Tenant, new { kind = "audience" });
        Assert.Equal("done", audience.GetProperty("status").GetString());
        var a = await Get(brand.Tenant, "/api/analytics/audience");
        Assert.Equal(10, a.GetProperty("people").GetInt64());
        var sms = a.GetProperty("consent").EnumerateArray().Single(c => c.GetProperty("channel").GetString() == "sms");
        Assert.Equal(8, sms.GetProperty("granted").GetInt64());
        Assert.Equal(2, sms.GetProperty("withdrawn").GetInt64());
        Assert.Equal(0.8, sms.GetProperty("share").GetProperty("rate").GetDouble());
        // Two people withdrew two channels each today.
        var withdrawals = a.GetProperty("withdrawalsByDay").EnumerateArray().Single();
        Assert.Equal(Siyu.Core.Analytics.TimeSlots.Day(DateTimeOffset.UtcNow), withdrawals.GetProperty("name").GetString());
        Assert.Equal(4, withdrawals.GetProperty("people").GetInt64());
        Assert.Equal(10, a.GetProperty("rfm").EnumerateArray().Sum(r => r.GetProperty("people").GetInt64()));
        Assert.Equal(10, a.GetProperty("lifecycle").EnumerateArray().Sum(r => r.GetProperty("people").GetInt64()));
        Assert.Equal(10, a.GetProperty("history").EnumerateArray().Single().GetProperty("people").GetInt64());
        Assert.Equal("analysis job", a.GetProperty("freshness").GetProperty("source").GetString());
    }
}
