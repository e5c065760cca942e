using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Siyu.IntegrationTests.Infrastructure;

namespace Siyu.IntegrationTests.Delivery;

/// <summary>A brand's provider accounts (<c>PUT /api/tenants/current/channels/{channel}</c>): whether the provider dedupes (#14).</summary>
public sealed class ProviderAccountTests(DeliveryApp app) : IClassFixture<DeliveryApp>
{
    private static async Task<Dictionary<string, JsonElement>> ChannelsAsync(TestTenant tenant) =>
        (await (await tenant.Admin().GetAsync("/api/tenants/current/channels")).Json()).EnumerateArray()
            .ToDictionary(c => c.GetProperty("channel").GetString()!);

    [Fact]
    public async Task An_account_says_whether_its_provider_dedupes_and_each_channel_has_its_default()
    {
        var tenant = await app.NewTenantAsync();
        var admin = tenant.Admin();

        var sms = await admin.PutAsJsonAsync("/api/tenants/current/channels/sms", new { apiKey = "ak-aliyun", sender = "BRAND", dedupes = false });
        Assert.Equal(HttpStatusCode.OK, sms.StatusCode);
        Assert.False((await sms.Json()).GetProperty("dedupes").GetBoolean());
        (await admin.PutAsJsonAsync("/api/tenants/current/channels/email", new { apiKey = "ak-gateway" })).EnsureSuccessStatusCode();
        (await admin.PutAsJsonAsync("/api/tenants/current/channels/webhook", new { url = "https://crm.example/hook" })).EnsureSuccessStatusCode();
        (await admin.PutAsJsonAsync("/api/tenants/current/channels/push", new { apiKey = "ak-push", dedupes = true })).EnsureSuccessStatusCode();

        var channels = await ChannelsAsync(tenant);
        Assert.False(channels["sms"].GetProperty("dedupes").GetBoolean());
        // Not said: a gateway of the provider contract honours Idempotency-Key; a brand's own webhook receiver is not assumed to.
        Assert.True(channels["email"].GetProperty("dedupes").GetBoolean());
        Assert.False(channels["webhook"].GetProperty("dedupes").GetBoolean());
        Assert.True(channels["push"].GetProperty("dedupes").GetBoolean());

        // Said again: the account changes.
        (await admin.PutAsJsonAsync("/api/tenants/current/channels/sms", new { apiKey = "ak-aliyun", dedupes = true })).EnsureSuccessStatusCode();
        Assert.True((await ChannelsAsync(tenant))["sms"].GetProperty("dedupes").GetBoolean());
    }

    [Theory]
    [InlineData("""{"apiKey": "ak-1", "dedupes": "no"}""")]
    [InlineData("""{"apiKey": "ak-1", "dedupes": 0}""")]
    [InlineData("""{"apiKey": "ak-1", "dedupes": {}}""")]
    public async Task A_dedupes_that_is_not_a_boolean_is_refused_and_nothing_is_written(string body)
    {
        var tenant = await app.NewTenantAsync();
        var admin = tenant.Admin();
        (await admin.PutAsJsonAsync("/api/tenants/current/channels/sms", new { apiKey = "ak-0", dedupes = false })).EnsureSuccessStatusCode();

        var response = await admin.PutAsync("/api/tenants/current/channels/sms", new StringContent(body, System.Text.Encoding.UTF8, "application/json"));

        await response.AssertProblem(HttpStatusCode.BadRequest, "invalid_channel");
        Assert.Contains((await response.Json()).GetProperty("errors").EnumerateArray(), e => e.GetProperty("path").GetString() == "dedupes");
        Assert.False((await ChannelsAsync(tenant))["sms"].GetProperty("dedupes").GetBoolean());
    }

    [Fact]
    public async Task The_OpenAPI_document_describes_dedupes_on_the_account_request_and_view()
    {
        var doc = await (await app.CreateClient().GetAsync("/api/openapi.json")).Json();
        var schemas = doc.GetProperty("components").GetProperty("schemas");
        var request = schemas.GetProperty("ChannelSettingsRequest").GetProperty("properties").GetProperty("dedupes");
        Assert.Contains("outcome_unknown", request.GetProperty("description").GetString());
        Assert.True(schemas.GetProperty("ChannelView").GetProperty("properties").TryGetProperty("dedupes", out _));
    }
}
