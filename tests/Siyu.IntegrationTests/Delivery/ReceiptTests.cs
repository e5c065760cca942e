using System.Net;
using System.Net.Http.Json;
using System.Text;
using Siyu.Channels;
using Siyu.IntegrationTests.Consent;
using Siyu.IntegrationTests.Infrastructure;
using Siyu.IntegrationTests.Journeys;
using Siyu.IntegrationTests.WeChat;
using static Siyu.IntegrationTests.Delivery.SendingBrand;

namespace Siyu.IntegrationTests.Delivery;

/// <summary>Delivery receipts (a provider's signed callback, WeChat's pushes) and mini-program subscriptions used up by sends.</summary>
public sealed class ReceiptTests(DeliveryApp app) : IClassFixture<DeliveryApp>
{
    private static StringContent Xml(string xml) => new(xml, Encoding.UTF8, "text/xml");

    private static object Campaign(string template, IEnumerable<string> identities, object? variables = null) =>
        new { name = "r", audience = new { identities = identities.ToArray() }, message = new { template, variables = variables ?? new { offer = "X1" } } };

    [Fact]
    public async Task A_signed_provider_receipt_marks_the_delivery_delivered_and_becomes_a_profile_event()
    {
        var brand = await SendingBrand.CreateAsync(app);
        var people = await brand.PeopleAsync(2);
        var id = await brand.StartOkAsync(Campaign("sms_offer", people.Select(p => "phone:" + p)));
        await brand.WaitDoneAsync(id);
        var sent = app.Fake.Accepted.Single(m => m.Recipient == "+86" + people[0] && m.Template == "SMS_1001");

        var body = Encoding.UTF8.GetBytes($$"""{"id": "{{sent.ProviderMessageId}}", "reference": "{{sent.Reference}}", "status": "delivered", "at": "{{DateTimeOffset.UtcNow:O}}"}""");
        var url = $"/api/delivery/receipts/{brand.Tenant.Id}/sms";
        async Task<HttpResponseMessage> Post(byte[] content, string signature)
        {
            var request = new HttpRequestMessage(HttpMethod.Post, url) { Content = new ByteArrayContent(content) };
            request.Content.Headers.ContentType = new("application/json");
            request.Headers.Add("X-Siyu-Signature", signature);
            return await app.CreateClient().SendAsync(request);
        }
        await (await Post(body, ReceiptSignature.Sign("wrong-key", body))).AssertProblem(HttpStatusCode.Unauthorized, "bad_signature");
        var tampered = Encoding.UTF8.GetBytes(Encoding.UTF8.GetString(body).Replace("delivered", "failed"));
        await (await Post(tampered, ReceiptSignature.Sign(brand.SmsKey, body))).AssertProblem(HttpStatusCode.Unauthorized, "bad_signature");
        Assert.Equal(HttpStatusCode.OK, (await Post(body, ReceiptSignature.Sign(brand.SmsKey, body))).StatusCode);
        // A repeated receipt changes nothing.
        Assert.Equal(HttpStatusCode.OK, (await Post(body, ReceiptSignature.Sign(brand.SmsKey, body))).StatusCode);
        var otherTenant = await app.NewTenantAsync();
        await (await app.CreateClient().PostAsync($"/api/delivery/receipts/{otherTenant.Id}/sms", new ByteArrayContent(body)
            { Headers = { ContentType = new("application/json") } })).AssertProblem(HttpStatusCode.NotFound, "receipts_not_found");

        var campaign = await brand.CampaignAsync(id);
        Assert.Equal(1, Progress(campaign, "delivered"));
        Assert.Equal(2, Progress(campaign, "sent"));
        var delivery = (await brand.DeliveriesAsync(people[0])).Single();
        Assert.Equal("delivered", delivery.GetProperty("status").GetString());
        var pid = await brand.Tenant.Marketer().ProfileIdOf("phone:" + people[0]);
        await Eventually.Get(async () => await (await brand.Tenant.Marketer().GetAsync($"/api/profiles/{pid}/events")).Json(),
            e => e.GetProperty("events").EnumerateArray().Count(x => x.GetProperty("name").GetString() == "message.delivered") == 1, what: "message.delivered event");
    }

    [Fact]
    public async Task WeChat_template_receipts_settle_the_delivery_and_a_journey_can_wait_on_them()
    {
        var brand = await SendingBrand.CreateAsync(app);
        var people = await brand.PeopleAsync(2);
        Assert.True((await brand.Tenant.Marketer().PutAsJsonAsync("/api/tags/reached", new { })).IsSuccessStatusCode);
        await brand.Tenant.PublishAsync("after-send", """
            {
              "name": "Thank those who got it",
              "entry": { "on": "event", "event": "message.delivered", "reentry": "once" },
              "start": "tag",
              "nodes": { "tag": { "type": "tag", "tag": "reached", "next": "done" }, "done": { "type": "exit" } }
            }
            """);
        var id = await brand.StartOkAsync(Campaign("wx_offer", people.Select(p => "phone:" + p)));
        await brand.WaitDoneAsync(id);
        var sent = app.Fake.Accepted.Where(m => m.AppId == brand.AppId).ToList();
        Assert.Equal(2, sent.Count);

        var wx = new WeChatPushes(brand.Tenant.Id, brand.AppId, "tok123456", WeChatPushes.NewAesKey());
        var ok = sent.Single(m => m.Recipient == "o" + people[0]);
        var blocked = sent.Single(m => m.Recipient == "o" + people[1]);
        foreach (var (m, status) in new[] { (ok, "success"), (blocked, "failed:user block") })
        {
            var xml = WeChatPushes.EventXml(m.Recipient, "TEMPLATESENDJOBFINISH", DateTimeOffset.UtcNow.ToUnixTimeSeconds(),
                $"<MsgID>{m.ProviderMessageId}</MsgID><Status><![CDATA[{status}]]></Status>");
            Assert.Equal(HttpStatusCode.OK, (await app.CreateClient().PostAsync(wx.Url + wx.PlainQuery(), Xml(xml))).StatusCode);
        }
        var campaign = await Eventually.Get(() => brand.CampaignAsync(id), c => Progress(c, "delivered") == 1 && Progress(c, "failed") == 1, what: "receipts applied");
        Assert.Equal(1, Progress(campaign, "sent"));
        var failed = (await brand.DeliveriesAsync(people[1])).Single();
        Assert.Equal("failed", failed.GetProperty("status").GetString());
        Assert.Equal("wechat_user_block", failed.GetProperty("reason").GetString());
        // The delivered one entered the journey that waits on "message.delivered"; the blocked one did not.
        var reached = await brand.Tenant.Marketer().ProfileIdOf("phone:" + people[0]);
        await Eventually.Get(() => brand.Tenant.Runs(reached), r => r.GetProperty("journeys").GetArrayLength() == 1, what: "journey entered on delivery");
        var missed = await brand.Tenant.Marketer().ProfileIdOf("phone:" + people[1]);
        Assert.Equal(0, (await brand.Tenant.Runs(missed)).GetProperty("journeys").GetArrayLength());
    }

    [Fact]
    public async Task A_subscribe_message_uses_up_the_one_time_subscription()
    {
        var brand = await SendingBrand.CreateAsync(app);
        var mp = await WeChatPushes.RegisterAsync(brand.Tenant.Admin(), brand.Tenant.Id, "plaintext", kind: "miniProgram");
        app.Fake.RegisterApp(mp.AppId, "secret-" + mp.AppId);
        await brand.Tenant.PutTemplate("shipped", """
            {"channel": "miniprogram_subscribe", "appId": "MP", "providerTemplate": "TPL_SHIP", "link": "pages/order", "fields": {"thing1": "{{item}}"}, "variables": {"item": {}}}
            """.Replace("MP", mp.AppId));
        var openid = "o" + Guid.NewGuid().ToString("N")[..20];
        var popup = "<SubscribeMsgPopupEvent><List><TemplateId><![CDATA[TPL_SHIP]]></TemplateId><SubscribeStatusString><![CDATA[accept]]></SubscribeStatusString>" +
                    "<PopupScene>0</PopupScene></List></SubscribeMsgPopupEvent>";
        var xml = WeChatPushes.EventXml(openid, "subscribe_msg_popup_event", DateTimeOffset.UtcNow.ToUnixTimeSeconds(), popup);
        Assert.Equal(HttpStatusCode.OK, (await app.CreateClient().PostAsync(mp.Url + mp.PlainQuery(), Xml(xml))).StatusCode);
        var pid = await brand.Tenant.Marketer().ProfileIdOf($"openid:{openid}", mp.AppId);
        await brand.Tenant.Marketer().WaitForLedger(pid, 1);

        var who = new[] { $"openid:{mp.AppId}:{openid}" };
        var first = await brand.WaitDoneAsync(await brand.StartOkAsync(Campaign("shipped", who, new { item = "Tea" })));
        Assert.Equal(1, Progress(first, "sent"));
        var second = await brand.WaitDoneAsync(await brand.StartOkAsync(Campaign("shipped", who, new { item = "Cups" })));
        Assert.Equal(0, Progress(second, "sent"));
        Assert.Equal(1, Suppressed(second, "no_entitlement"));
        var message = app.Fake.Accepted.Single(m => m.Recipient == openid);
        Assert.Equal("Tea", message.Fields["thing1"]);
        Assert.Equal("pages/order", message.Link);
    }
}
