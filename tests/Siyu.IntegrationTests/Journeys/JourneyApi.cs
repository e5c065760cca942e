using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Siyu.IntegrationTests.Infrastructure;

namespace Siyu.IntegrationTests.Journeys;

/// <summary>Journey calls as a marketer's script makes them.</summary>
public static class JourneyApi
{
    /// <summary>
    /// The cart recovery journey: add to cart, and no payment within 2 hours, gets a WeChat reminder; no payment within a
    /// further day, and half get a coupon by SMS while the other half are a control group. Paying is the goal.
    /// </summary>
    public const string CartRecovery = """
        {
          "name": "Cart recovery",
          "entry": { "on": "event", "event": "add_to_cart", "reentry": "once" },
          "exitOn": [ { "event": "unsubscribe" } ],
          "goal": { "event": "order_paid", "within": "7d" },
          "start": "wait_pay",
          "nodes": {
            "wait_pay": { "type": "waitForEvent", "event": "order_paid", "timeout": "2h", "arrived": "paid", "timedOut": "remind" },
            "remind": { "type": "send", "channel": "wechat_oa", "template": "cart_reminder",
                        "variables": { "product": "{{context.event.product}}" }, "next": "wait_day" },
            "wait_day": { "type": "waitForEvent", "event": "order_paid", "timeout": "1d", "arrived": "paid", "timedOut": "split" },
            "split": { "type": "split", "branches": [
              { "name": "coupon", "weight": 50, "next": "coupon" },
              { "name": "control", "weight": 50, "control": true } ] },
            "coupon": { "type": "send", "channel": "sms", "template": "half_price_coupon", "next": "done" },
            "paid": { "type": "exit" },
            "done": { "type": "exit" }
          }
        }
        """;

    /// <summary>The message templates the journeys of these tests send: publishing checks that each exists and is filled in.</summary>
    public static async Task EnsureTemplatesAsync(this TestTenant tenant)
    {
        foreach (var id in new[] { "half_price_coupon", "hello", "nudge", "welcome", "thanks", "follow_up" })
            await PutTemplate(tenant, id, "{\"channel\": \"sms\", \"providerTemplate\": \"SMS_" + id + "\", \"fields\": {\"text\": \"" + id + " 回T退订\"}}");
        await PutTemplate(tenant, "welcome_back", """{"channel": "sms", "providerTemplate": "SMS_wb", "fields": {"text": "Welcome back to {{city}} 回T退订"}, "variables": {"city": {}}}""");
        await PutTemplate(tenant, "cart_reminder",
            """{"channel": "wechat_oa", "appId": "wxcart", "providerTemplate": "TPL_cart", "fields": {"first": "Your cart: {{product}}"}, "variables": {"product": {}}}""");
    }

    public static async Task PutTemplate(this TestTenant tenant, string id, string document)
    {
        var put = await tenant.Marketer().PutAsync($"/api/templates/{id}", new StringContent(document, System.Text.Encoding.UTF8, "application/json"));
        Assert.True(put.StatusCode == HttpStatusCode.OK, await put.Content.ReadAsStringAsync());
    }

    public static async Task PublishAsync(this TestTenant tenant, string id, string document)
    {
        await tenant.EnsureTemplatesAsync();
        var put = await tenant.Marketer().PutAsync($"/api/journeys/{id}", new StringContent(document, System.Text.Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.OK, put.StatusCode);
        Assert.Equal(0, (await put.Json()).GetProperty("problems").GetArrayLength());
        var publish = await tenant.Marketer().PostAsync($"/api/journeys/{id}/publish", null);
        Assert.True(publish.StatusCode == HttpStatusCode.OK, await publish.Content.ReadAsStringAsync());
    }

    public static async Task<JsonElement> Stats(this TestTenant tenant, string id) => await (await tenant.Marketer().GetAsync($"/api/journeys/{id}/stats")).Json();

    public static long NodeEntered(this JsonElement stats, string node) => Node(stats, node).GetProperty("entered").GetInt64();

    public static long NodeCurrent(this JsonElement stats, string node) => Node(stats, node).GetProperty("current").GetInt64();

    public static long NodeLeft(this JsonElement stats, string node, string branch) =>
        Node(stats, node).GetProperty("left").TryGetProperty(branch, out var n) ? n.GetInt64() : 0;

    private static JsonElement Node(JsonElement stats, string node) =>
        stats.GetProperty("nodes").EnumerateArray().Single(n => n.GetProperty("id").GetString() == node);

    /// <summary>The stats once <paramref name="done"/> holds (runs move in the background).</summary>
    public static Task<JsonElement> WaitForStats(this TestTenant tenant, string id, Func<JsonElement, bool> done, string what, int seconds = 60) =>
        Eventually.Get(() => tenant.Stats(id), done, TimeSpan.FromSeconds(seconds), what);

    public static async Task<JsonElement> Runs(this TestTenant tenant, string profileId) =>
        await (await tenant.Marketer().GetAsync($"/api/profiles/{profileId}/journeys")).Json();

    public static async Task<HttpResponseMessage> Enter(this TestTenant tenant, string id, object body) =>
        await tenant.Marketer().PostAsJsonAsync($"/api/journeys/{id}/enter", body);
}
