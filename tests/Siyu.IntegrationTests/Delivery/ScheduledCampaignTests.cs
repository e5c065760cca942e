using System.Globalization;
using System.Net;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using Siyu.IntegrationTests.Infrastructure;
using static Siyu.IntegrationTests.Delivery.SendingBrand;

namespace Siyu.IntegrationTests.Delivery;

/// <summary>The delivery app on a clock the test moves, with scheduled starts looking at it every second.</summary>
public sealed class ScheduledApp : DeliveryApp
{
    // A minute ahead of the wall clock, so consents given "now" by the test's helpers have occurred by the app's clock.
    public FakeTimeProvider Clock { get; } = new(DateTimeOffset.UtcNow.AddMinutes(1));

    public ScheduledApp() => With("Delivery:CampaignStartLook", "00:00:01");

    protected override void ConfigureMore(AppBuilder builder)
    {
        base.ConfigureMore(builder);
        builder.ConfigureServices(s => s.AddSingleton<TimeProvider>(Clock));
    }
}

/// <summary>
/// Campaigns with a <c>startAt</c>: accepted, listed and read back like any other (a stored campaign is never checked
/// against the clock again), started once their time comes, and cancellable before it does.
/// </summary>
public sealed class ScheduledCampaignTests(ScheduledApp app) : IClassFixture<ScheduledApp>
{
    private static object SmsAt(IEnumerable<string> phones, DateTimeOffset startAt, string name) => new
    {
        name,
        audience = new { identities = phones.Select(p => "phone:" + p).ToArray() },
        message = new { template = "sms_offer", variables = new Dictionary<string, string> { ["name"] = "{{attributes.name}}", ["offer"] = "{{context.offer}}" } },
        context = new { offer = "CNY 20 off" },
        // In Beijing time, as a marketer would write it.
        startAt = startAt.ToOffset(TimeSpan.FromHours(8)).ToString("yyyy-MM-dd'T'HH:mm:sszzz", CultureInfo.InvariantCulture),
    };

    [Fact]
    public async Task A_scheduled_campaign_is_listed_waits_for_its_time_and_then_sends_once()
    {
        var brand = await SendingBrand.CreateAsync(app);
        var people = await brand.PeopleAsync(6);
        var startAt = app.Clock.GetUtcNow().AddDays(1);
        var body = SmsAt(people, startAt, "tomorrow");

        var created = await brand.StartAsync(body, key: "tomorrow-sms");
        Assert.True(created.StatusCode == HttpStatusCode.Created, await created.Content.ReadAsStringAsync());
        var id = (await created.Json()).GetProperty("id").GetString()!;
        Assert.Equal("scheduled", (await created.Json()).GetProperty("status").GetString());

        // It reads back, lists, and a retry of the same request answers with the same campaign.
        var read = await brand.Tenant.Marketer().GetAsync($"/api/campaigns/{id}");
        Assert.Equal(HttpStatusCode.OK, read.StatusCode);
        Assert.Equal(startAt.ToUnixTimeSeconds(), (await read.Json()).GetProperty("startAt").GetDateTimeOffset().ToUnixTimeSeconds());
        var list = await brand.Tenant.Marketer().GetAsync("/api/campaigns");
        Assert.Equal(HttpStatusCode.OK, list.StatusCode);
        Assert.Contains(id, await list.Content.ReadAsStringAsync());
        var again = await brand.StartAsync(body, key: "tomorrow-sms");
        Assert.Equal(HttpStatusCode.OK, again.StatusCode);
        Assert.Equal(id, (await again.Json()).GetProperty("id").GetString());

        // Its start looks at the clock every second; for three looks it is not yet time.
        await Task.Delay(TimeSpan.FromSeconds(3));
        Assert.Equal("scheduled", (await brand.CampaignAsync(id)).GetProperty("status").GetString());
        Assert.Equal(0, brand.AcceptedFor(people));

        app.Clock.SetUtcNow(startAt);
        var done = await brand.WaitDoneAsync(id);
        Assert.Equal("done", done.GetProperty("status").GetString());
        Assert.Equal(6, Progress(done, "sent"));
        Assert.Equal(6, brand.AcceptedFor(people));
    }

    [Fact]
    public async Task A_campaign_far_ahead_reads_back_and_is_cancelled_before_it_starts()
    {
        var brand = await SendingBrand.CreateAsync(app);
        var people = await brand.PeopleAsync(3);
        var startAt = app.Clock.GetUtcNow().AddDays(80);
        var id = await brand.StartOkAsync(SmsAt(people, startAt, "in 80 days"));
        Assert.Equal("scheduled", (await brand.CampaignAsync(id)).GetProperty("status").GetString());
        Assert.Equal(HttpStatusCode.OK, (await brand.Tenant.Marketer().GetAsync("/api/campaigns")).StatusCode);

        var cancel = await brand.Tenant.Marketer().PostAsync($"/api/campaigns/{id}/cancel", null);
        Assert.Equal(HttpStatusCode.OK, cancel.StatusCode);
        Assert.Equal("cancelled", (await cancel.Json()).GetProperty("status").GetString());

        // Its time comes (the clock moves on, and the start looks again): nothing is sent.
        app.Clock.SetUtcNow(startAt.AddSeconds(1));
        await Task.Delay(TimeSpan.FromSeconds(3));
        var after = await brand.CampaignAsync(id);
        Assert.Equal("cancelled", after.GetProperty("status").GetString());
        Assert.Equal(0, Progress(after, "sent"));
        Assert.Equal(0, brand.AcceptedFor(people));
    }

    [Fact]
    public async Task A_start_more_than_90_days_ahead_is_refused_when_asked()
    {
        var brand = await SendingBrand.CreateAsync(app);
        var response = await brand.StartAsync(SmsAt(["13800138000"], app.Clock.GetUtcNow().AddDays(91), "too far"));
        await response.AssertProblem(HttpStatusCode.BadRequest, "invalid_campaign");
    }
}
