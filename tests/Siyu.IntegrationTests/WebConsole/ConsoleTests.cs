using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Playwright;
using Siyu.IntegrationTests.Analytics;
using Siyu.IntegrationTests.Delivery;
using Siyu.IntegrationTests.Infrastructure;
using Siyu.IntegrationTests.Journeys;

namespace Siyu.IntegrationTests.WebConsole;

/// <summary>
/// The console in a real browser: what a marketer sees drawn is the API's numbers. Each test signs in through the
/// console's form with a marketer key, opens a page and compares the drawn text with what the API answers.
/// </summary>
public sealed class ConsoleTests(ConsoleApp app) : IClassFixture<ConsoleApp>
{
    private static async Task<string> Text(IPage page, string testId)
    {
        var locator = page.GetByTestId(testId);
        await locator.WaitForAsync(new LocatorWaitForOptions { Timeout = 30_000 });
        return (await locator.TextContentAsync())!.Trim();
    }

    private static long Number(string text) => long.Parse(text.Replace(",", "", StringComparison.Ordinal), System.Globalization.CultureInfo.InvariantCulture);

    [Fact]
    public async Task The_journey_page_draws_the_graph_with_the_apis_counts_on_every_node_branch_and_split()
    {
        var brand = await SendingBrand.CreateAsync(app);
        var tenant = brand.Tenant;
        Assert.Equal(HttpStatusCode.OK, (await tenant.Marketer().PutAsJsonAsync("/api/tags/coupon_test", new { group = "tests" })).StatusCode);
        await tenant.PublishAsync("coupon-test", AnalyticsTests.SplitJourney);
        var phones = await brand.PeopleAsync(40, consent: "none");
        Assert.Equal(HttpStatusCode.OK, (await tenant.Enter("coupon-test", new { people = phones.Select(p => new { identity = "phone:" + p }).ToArray() })).StatusCode);
        Assert.Equal(HttpStatusCode.Accepted, (await tenant.Ingest().PostEvents(phones.Take(15).Select(p =>
            (object)new { messageId = "paid-" + p, type = "track", @event = "order_paid", identities = new { phone = p } }).ToArray())).StatusCode);
        await tenant.WaitForStats("coupon-test", s => s.GetProperty("completed").GetInt64() == 40 && s.GetProperty("converted").GetInt64() == 15, "every run done, 15 conversions");
        var api = await (await tenant.Marketer().GetAsync("/api/analytics/journeys/coupon-test")).Json();

        var page = await app.SignedInAsync(tenant.MarketerKey);
        await page.GetByTestId("journey-coupon-test").ClickAsync();
        await page.GetByTestId("journey-graph").WaitForAsync();
        foreach (var node in api.GetProperty("nodes").EnumerateArray())
        {
            var id = node.GetProperty("id").GetString();
            Assert.Equal(node.GetProperty("entered").GetInt64(), Number(await Text(page, $"node-{id}-entered")));
            Assert.Equal(node.GetProperty("current").GetInt64(), Number(await Text(page, $"node-{id}-current")));
        }
        foreach (var edge in api.GetProperty("edges").EnumerateArray())
            Assert.Equal($"{edge.GetProperty("branch").GetString()}: {edge.GetProperty("people").GetInt64()}",
                await Text(page, $"edge-{edge.GetProperty("from").GetString()}-{edge.GetProperty("branch").GetString()}"));
        foreach (var branch in api.GetProperty("splits")[0].GetProperty("branches").EnumerateArray())
        {
            var name = branch.GetProperty("name").GetString();
            Assert.Equal(branch.GetProperty("assigned").GetInt64(), Number(await Text(page, $"branch-split-{name}-assigned")));
            Assert.Equal(branch.GetProperty("converted").GetInt64(), Number(await Text(page, $"branch-split-{name}-converted")));
            var rate = branch.GetProperty("conversion").GetProperty("rate");
            Assert.Equal(rate.ValueKind == JsonValueKind.Null ? "–" : $"{rate.GetDouble() * 100:0.0}%", await Text(page, $"branch-split-{name}-rate"));
        }
        Assert.Equal("40", await Text(page, "journey-entered"));
        Assert.StartsWith("15 · ", await Text(page, "journey-converted"));
        await ConsoleApp.ScreenshotAsync(page, "journey");

        // In Chinese the same numbers under Chinese labels.
        var zh = await app.SignedInAsync(tenant.MarketerKey, "zh");
        await zh.GotoAsync("/console/#/journeys/coupon-test");
        Assert.Equal("40", await Text(zh, "journey-entered"));
        Assert.Contains("旅程图", await zh.ContentAsync());
    }

    [Fact]
    public async Task The_campaign_page_shows_progress_moving_to_done_with_the_apis_outcomes()
    {
        var brand = await SendingBrand.CreateAsync(app);
        var granted = await brand.PeopleAsync(60);
        var withdrawn = await brand.PeopleAsync(4);
        await brand.ConsentAsync(withdrawn, "withdrawn");
        var page = await app.SignedInAsync(brand.Tenant.MarketerKey);
        app.Fake.SetLatency(TimeSpan.FromMilliseconds(400));
        try
        {
            var id = await brand.StartOkAsync(new
            {
                name = "Double 11 preview",
                audience = new { identities = granted.Concat(withdrawn).Select(p => "phone:" + p).ToArray() },
                message = new { template = "sms_offer", variables = new Dictionary<string, string> { ["offer"] = "CNY 11" } },
            });
            await page.GotoAsync($"/console/#/campaigns/{id}");
            var seen = new List<long>();
            var deadline = DateTime.UtcNow.AddSeconds(90);
            while (DateTime.UtcNow < deadline)
            {
                var progress = page.GetByTestId("campaign-progress");
                await progress.WaitForAsync();
                seen.Add(long.Parse((await progress.GetAttributeAsync("data-settled"))!, System.Globalization.CultureInfo.InvariantCulture));
                if (await Text(page, "campaign-status") == "done") break;
                await Task.Delay(300);
            }
            Assert.Equal("done", await Text(page, "campaign-status"));
            // It moved while the page watched, never back, and ended at every recipient settled.
            Assert.True(seen.Distinct().Count() >= 2, $"progress did not move on the page: {string.Join(",", seen)}");
            Assert.Equal(seen.Order().ToList(), seen);
            var api = await (await brand.Tenant.Marketer().GetAsync($"/api/analytics/campaigns/{id}")).Json();
            var p = api.GetProperty("progress");
            Assert.Equal(64, p.GetProperty("targeted").GetInt64());
            Assert.Equal(p.GetProperty("targeted").GetInt64(), Number(await Text(page, "campaign-targeted")));
            Assert.Equal(p.GetProperty("targeted").GetInt64(), Number(await Text(page, "campaign-settled")));
            Assert.Equal(p.GetProperty("sent").GetInt64(), Number(await Text(page, "campaign-kpi-sent")));
            Assert.Equal(p.GetProperty("suppressedTotal").GetInt64(), Number(await Text(page, "campaign-kpi-suppressed")));
            Assert.Equal(60, Number(await Text(page, "campaign-kpi-sent")));
            Assert.Equal("4", await page.GetByTestId("campaign-suppressed").Locator("[data-name=withdrawn]").GetAttributeAsync("data-value"));
            Assert.Equal(0, await page.GetByTestId("cancel-campaign").CountAsync());
            await ConsoleApp.ScreenshotAsync(page, "campaign");

            await page.GotoAsync("/console/#/delivery");
            Assert.Equal(60, Number(await Text(page, "delivery-sms-sent")));
            await ConsoleApp.ScreenshotAsync(page, "delivery");
        }
        finally { app.Fake.SetLatency(TimeSpan.Zero); }
    }

    [Fact]
    public async Task A_running_campaign_is_cancelled_from_its_page()
    {
        var brand = await SendingBrand.CreateAsync(app);
        var people = await brand.PeopleAsync(80);
        var page = await app.SignedInAsync(brand.Tenant.MarketerKey);
        app.Fake.SetLatency(TimeSpan.FromMilliseconds(800));
        try
        {
            var id = await brand.StartOkAsync(new
            {
                name = "to cancel",
                audience = new { identities = people.Select(p => "phone:" + p).ToArray() },
                message = new { template = "sms_offer", variables = new Dictionary<string, string> { ["offer"] = "CNY 1" } },
            });
            await page.GotoAsync($"/console/#/campaigns/{id}");
            await page.GetByTestId("cancel-campaign").ClickAsync();
            await Eventually.Get(async () => await Text(page, "campaign-status"), s => s == "cancelled", TimeSpan.FromSeconds(30), "the page shows it cancelled");
            Assert.Equal("cancelled", (await brand.CampaignAsync(id)).GetProperty("status").GetString());
        }
        finally { app.Fake.SetLatency(TimeSpan.Zero); }
    }

    [Fact]
    public async Task The_reports_page_runs_a_funnel_job_and_draws_its_steps_and_the_audience_boards_draw_the_snapshot()
    {
        var tenant = await app.NewTenantAsync();
        await AnalyticsTests.FunnelPeopleAsync(tenant);
        var page = await app.SignedInAsync(tenant.MarketerKey);
        await page.GotoAsync("/console/#/reports");
        await page.GetByTestId("funnel-steps").FillAsync("view, add_to_cart, order_paid");
        await page.GetByTestId("funnel-window").FillAsync("7");
        await page.GetByTestId("run-funnel").ClickAsync();
        long[] steps = [Number(await Text(page, "funnel-step-1")), Number(await Text(page, "funnel-step-2")), Number(await Text(page, "funnel-step-3"))];
        Assert.Equal(new long[] { 13, 10, 6 }, steps);
        var drawn = await page.GetByTestId("funnel-bars").Locator("g[data-value]").EvaluateAllAsync<long[]>("gs => gs.map(g => Number(g.dataset.value))");
        Assert.Equal(new long[] { 13, 10, 6 }, drawn);
        // The same job through the API gives the same steps.
        var job = await AnalyticsTests.RunJobAsync(tenant, new { kind = "funnel", steps = new[] { "view", "add_to_cart", "order_paid" }, windowDays = 7 });
        Assert.Equal(drawn, job.GetProperty("funnel").EnumerateArray().Select(s => s.GetProperty("people").GetInt64()).ToArray());
        await page.GetByTestId("run-cohort").ClickAsync();
        await page.GetByTestId("cohort-table").WaitForAsync(new LocatorWaitForOptions { Timeout = 60_000 });
        await ConsoleApp.ScreenshotAsync(page, "reports");

        await page.GotoAsync("/console/#/audience");
        await page.GetByTestId("refresh-snapshot").ClickAsync();
        Assert.Equal(14, Number(await Text(page, "audience-people")));
        var api = await (await tenant.Marketer().GetAsync("/api/analytics/audience")).Json();
        var lifecycle = await page.GetByTestId("lifecycle").Locator("g[data-value]").EvaluateAllAsync<long[]>("gs => gs.map(g => Number(g.dataset.value))");
        Assert.Equal(api.GetProperty("lifecycle").EnumerateArray().Select(l => l.GetProperty("people").GetInt64()).ToArray(), lifecycle);
        await ConsoleApp.ScreenshotAsync(page, "audience");
        await page.GotoAsync("/console/#/consent");
        await page.GetByTestId("refresh-snapshot").WaitForAsync();
        await ConsoleApp.ScreenshotAsync(page, "consent");
    }

    [Fact]
    public async Task The_console_keeps_no_data_a_wrong_key_is_refused_and_an_ingest_key_sees_nothing()
    {
        var tenant = await app.NewTenantAsync();
        using var http = app.CreateClient();
        var index = await http.GetAsync("/console/");
        Assert.Equal(HttpStatusCode.OK, index.StatusCode);
        Assert.Contains("default-src 'self'", index.Headers.GetValues("Content-Security-Policy").Single());
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/console/pages/journeys.js")).StatusCode);
        await (await http.GetAsync("/console/../host.json")).AssertProblem(HttpStatusCode.NotFound, "not_found");
        await (await http.GetAsync("/console/nothing.js")).AssertProblem(HttpStatusCode.NotFound, "not_found");

        var context = await app.Browser.NewContextAsync(new BrowserNewContextOptions { BaseURL = app.BaseAddress.ToString() });
        var page = await context.NewPageAsync();
        await page.GotoAsync("/console/");
        await page.GetByTestId("api-key").FillAsync("sk_wrong");
        await page.GetByTestId("sign-in").ClickAsync();
        await page.GetByTestId("sign-in-error").WaitForAsync();
        Assert.Null(await page.EvaluateAsync<string?>("() => sessionStorage.getItem('siyu.apiKey')"));

        // An ingest key authenticates but may not read results: refused by the API's roles (said in Chinese, the console's default), and not kept.
        await page.GetByTestId("api-key").FillAsync(tenant.IngestKey);
        await page.GetByTestId("sign-in").ClickAsync();
        await Microsoft.Playwright.Assertions.Expect(page.GetByTestId("sign-in-error")).ToHaveTextAsync("此密钥没有权限查看。");
        Assert.Null(await page.EvaluateAsync<string?>("() => sessionStorage.getItem('siyu.apiKey')"));
    }
}
