using System.Net;
using System.Net.Http.Json;
using System.Text;
using Siyu.IntegrationTests.Consent;
using Siyu.IntegrationTests.Infrastructure;
using Siyu.IntegrationTests.Journeys;
using static Siyu.IntegrationTests.Delivery.SendingBrand;

namespace Siyu.IntegrationTests.Delivery;

/// <summary>
/// A brand on WeCom's own API (the fake's): campaigns become customer-message tasks of its member, never more a month
/// per customer than WeCom allows (here 2: Delivery:WeComMonthlyLimit), and journeys tell a customer's member about
/// them by app message.
/// </summary>
public sealed class WeComTests(DeliveryApp app) : IClassFixture<DeliveryApp>
{
    private sealed record WeComBrand(TestTenant Tenant, string CorpId, string Secret, SendingBrand Brand);

    private async Task<WeComBrand> BrandAsync()
    {
        var brand = await SendingBrand.CreateAsync(app);
        var corpId = "ww" + Guid.NewGuid().ToString("N")[..16];
        var secret = "secret-" + Guid.NewGuid().ToString("N");
        app.Fake.RegisterWeComCorp(corpId, secret);
        app.Fake.RegisterWeComAgent(corpId, 1000002);
        app.Fake.WeComMonthlyLimit = DeliveryApp.WeComMonthlyLimit;
        var put = await brand.Tenant.Admin().PutAsJsonAsync("/api/tenants/current/channels/wecom",
            new { provider = "wecom", appId = corpId, apiKey = secret, agentId = "1000002", sender = "zhangsan" });
        Assert.True(put.IsSuccessStatusCode, await put.Content.ReadAsStringAsync());
        await brand.Tenant.PutTemplate("spring_wecom", """
            {"channel": "wecom", "providerTemplate": "msg_template", "topic": "offers",
             "fields": {"content": "{{name}}，春季新品到店了"}, "variables": {"name": {"default": "您"}}}
            """);
        return new WeComBrand(brand.Tenant, corpId, secret, brand);
    }

    /// <summary>Customers of member zhangsan with marketing consent on wecom, each with their external_userid.</summary>
    private async Task<List<string>> CustomersAsync(TestTenant tenant, int count, string? owner = null)
    {
        var ids = Enumerable.Range(0, count).Select(_ => "wm" + Guid.NewGuid().ToString("N")[..20]).ToList();
        foreach (var id in ids) app.Fake.RegisterWeComCustomer(id, "zhangsan");
        var events = ids.Select(id => new
        {
            messageId = "id-" + id, type = "identify", identities = new { userId = "u-" + id },
            traits = new Dictionary<string, object?> { ["name"] = "静静", ["wecomExternalUserId"] = id, ["wecomOwnerUserId"] = owner },
        });
        Assert.Equal(HttpStatusCode.Accepted, (await tenant.Ingest().PostEvents(events.ToArray())).StatusCode);
        var decisions = ids.Select(id => new
        {
            identities = new { userId = "u-" + id }, purpose = "marketing", channel = "wecom", status = "granted", source = "wecom_add_friend",
            evidence = "added the member and agreed", occurredAt = DateTimeOffset.UtcNow.AddSeconds(-1).ToString("O"),
        }).ToArray();
        Assert.Equal(HttpStatusCode.Accepted, (await ConsentApi.PostConsents(tenant.Ingest(), decisions)).StatusCode);
        foreach (var id in ids)
        {
            var pid = await tenant.Marketer().ProfileIdOf("userId:u-" + id);
            await Eventually.Get(() => tenant.Marketer().Consents(pid), c => c.Current("marketing", "wecom") == "granted", what: $"{id} granted");
        }
        return ids;
    }

    private static object Offer(IEnumerable<string> ids, string name) => new
    {
        name,
        audience = new { identities = ids.Select(id => "userId:u-" + id).ToArray() },
        message = new { template = "spring_wecom", variables = new Dictionary<string, string> { ["name"] = "{{attributes.name}}" } },
    };

    [Theory]
    [InlineData("""{"provider": "wecom", "apiKey": "s"}""", "appId")]
    [InlineData("""{"provider": "wecom", "appId": "ww-not/valid", "apiKey": "s"}""", "appId")]
    [InlineData("""{"provider": "wecom", "appId": "ww1", "apiKey": "s", "agentId": "app"}""", "agentId")]
    [InlineData("""{"provider": "wecom", "appId": "ww1", "apiKey": "s", "dedupes": true}""", "dedupes")]
    [InlineData("""{"provider": "wecom", "appId": "ww1"}""", "apiKey")]
    [InlineData("""{"apiKey": "s", "agentId": "1000002"}""", "agentId")]
    public async Task A_wecom_account_without_what_wecom_needs_is_refused(string body, string field)
    {
        var tenant = await app.NewTenantAsync();

        var put = await tenant.Admin().PutAsync("/api/tenants/current/channels/wecom", new StringContent(body, Encoding.UTF8, "application/json"));

        await put.AssertProblem(HttpStatusCode.BadRequest, "invalid_channel");
        Assert.Contains(field, await put.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task The_account_shows_its_corp_agent_and_member_but_never_its_secret()
    {
        var b = await BrandAsync();

        var listed = await (await b.Tenant.Admin().GetAsync("/api/tenants/current/channels")).Json();
        var wecom = listed.EnumerateArray().Single(c => c.GetProperty("channel").GetString() == "wecom");
        Assert.Equal(("wecom", b.CorpId, "1000002", "zhangsan", false), (wecom.GetProperty("provider").GetString(), wecom.GetProperty("appId").GetString(),
            wecom.GetProperty("agentId").GetString(), wecom.GetProperty("sender").GetString(), wecom.GetProperty("dedupes").GetBoolean()));
        Assert.DoesNotContain(b.Secret, listed.GetRawText());
    }

    [Fact]
    public async Task Campaigns_become_tasks_of_the_member_and_a_customer_over_the_monthly_number_is_refused_here_not_by_WeCom()
    {
        var b = await BrandAsync();
        var customers = await CustomersAsync(b.Tenant, 3);

        for (var i = 1; i <= DeliveryApp.WeComMonthlyLimit; i++)
        {
            var done = await b.Brand.WaitDoneAsync(await b.Brand.StartOkAsync(Offer(customers, $"spring-{i}")));
            Assert.Equal(3, Progress(done, "sent"));
        }
        var over = await b.Brand.WaitDoneAsync(await b.Brand.StartOkAsync(Offer(customers, "spring-over")));

        Assert.Equal((0L, 3L), (Progress(over, "sent"), Suppressed(over, "cap_reached")));
        foreach (var id in customers)
            Assert.Equal(DeliveryApp.WeComMonthlyLimit, app.Fake.Accepted.Count(m => m.Recipient == id));
        var task = app.Fake.Accepted.First(m => m.Recipient == customers[0]);
        Assert.Equal(("msg_template", "zhangsan", "静静，春季新品到店了", b.CorpId), (task.Template, task.Sender, task.Fields["content"], task.AppId));
        Assert.Equal(0, app.Fake.WeComOverLimit);
        var pid = await b.Tenant.Marketer().ProfileIdOf("userId:u-" + customers[0]);
        var refused = (await (await b.Tenant.Marketer().GetAsync($"/api/profiles/{pid}/deliveries")).Json()).EnumerateArray()
            .Single(d => d.GetProperty("status").GetString() == "suppressed");
        Assert.Contains("this month on wecom", refused.GetProperty("detail").GetString());
    }

    [Fact]
    public async Task A_journey_tells_the_customers_member_by_app_message()
    {
        var b = await BrandAsync();
        app.Fake.RegisterWeComMember("lisi");
        var customers = await CustomersAsync(b.Tenant, 1, owner: "lisi");
        await b.Tenant.PutTemplate("tell_owner", """
            {"channel": "wecom", "providerTemplate": "app_message", "purpose": "personalisation",
             "fields": {"content": "你的客户{{name}}刚下单，记得跟进"}, "variables": {"name": {}}}
            """);
        await b.Tenant.PublishAsync("tell_owner_on_order", """
            {
              "name": "Tell the member about an order",
              "entry": { "on": "event", "event": "order_paid", "reentry": "everyTime" },
              "start": "tell",
              "nodes": {
                "tell": { "type": "send", "channel": "wecom", "template": "tell_owner", "variables": { "name": "{{attributes.name}}" }, "next": "done" },
                "done": { "type": "exit" }
              }
            }
            """);
        var decision = new
        {
            identities = new { userId = "u-" + customers[0] }, purpose = "personalisation", channel = "wecom", status = "granted", source = "privacy_notice",
            evidence = "accepted v3", occurredAt = DateTimeOffset.UtcNow.AddSeconds(-1).ToString("O"),
        };
        Assert.Equal(HttpStatusCode.Accepted, (await ConsentApi.PostConsents(b.Tenant.Ingest(), [decision])).StatusCode);
        var pid = await b.Tenant.Marketer().ProfileIdOf("userId:u-" + customers[0]);
        await Eventually.Get(() => b.Tenant.Marketer().Consents(pid), c => c.Current("personalisation", "wecom") == "granted", what: "personalisation granted");

        Assert.Equal(HttpStatusCode.Accepted, (await b.Tenant.Ingest().PostEvents(
            new { type = "track", messageId = "paid-" + customers[0], @event = "order_paid", identities = new { userId = "u-" + customers[0] } })).StatusCode);

        var message = await Eventually.Get(() => Task.FromResult(app.Fake.Accepted.FirstOrDefault(m => m.Recipient == "lisi" && m.Template == "app_message")),
            m => m is not null, what: "the app message to lisi");
        Assert.Equal(("你的客户静静刚下单，记得跟进", "1000002"), (message!.Fields["content"], message.Sender));
    }
}
