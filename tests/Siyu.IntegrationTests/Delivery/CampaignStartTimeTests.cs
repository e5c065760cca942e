using System.Net;
using Siyu.IntegrationTests.Infrastructure;

namespace Siyu.IntegrationTests.Delivery;

/// <summary>A campaign with a start time is created, shown and cancelled like any other (the stored campaign reads back).</summary>
public sealed class CampaignStartTimeTests(DeliveryApp app) : IClassFixture<DeliveryApp>
{
    [Theory]
    [InlineData(2)]    // a start in two hours: scheduled
    [InlineData(-24)]  // a start already past: running at once
    public async Task A_campaign_with_a_start_time_is_created_and_reads_back(int hoursFromNow)
    {
        var brand = await SendingBrand.CreateAsync(app);
        var people = await brand.PeopleAsync(2);
        var startAt = DateTimeOffset.UtcNow.AddHours(hoursFromNow).ToOffset(TimeSpan.FromHours(8));

        var response = await brand.StartAsync(new
        {
            name = "Double 11 reminder",
            audience = new { identities = people.Select(p => "phone:" + p).ToArray() },
            message = new { template = "sms_offer", variables = new Dictionary<string, string> { ["offer"] = "CNY 20 off" } },
            startAt = startAt.ToString("yyyy-MM-dd'T'HH:mm:sszzz"),
        }, key: "scheduled-" + hoursFromNow);

        Assert.True(response.StatusCode == HttpStatusCode.Created, await response.Content.ReadAsStringAsync());
        var id = (await response.Json()).GetProperty("id").GetString()!;
        var shown = await brand.CampaignAsync(id);
        Assert.Equal(startAt.ToUnixTimeSeconds(), shown.GetProperty("startAt").GetDateTimeOffset().ToUnixTimeSeconds());
        if (hoursFromNow > 0)
        {
            Assert.Equal("scheduled", shown.GetProperty("status").GetString());
            Assert.Equal(HttpStatusCode.OK, (await brand.Tenant.Marketer().PostAsync($"/api/campaigns/{id}/cancel", null)).StatusCode);
        }
        else
        {
            var done = await brand.WaitDoneAsync(id);
            Assert.Equal(2, SendingBrand.Progress(done, "sent"));
        }
    }
}
