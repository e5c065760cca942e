using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Siyu.FakeProviders;
using Siyu.IntegrationTests.Consent;
using Siyu.IntegrationTests.Infrastructure;
using Siyu.IntegrationTests.Journeys;
using static Siyu.IntegrationTests.Delivery.SendingBrand;

namespace Siyu.IntegrationTests.Delivery;

/// <summary>
/// A brand whose SMS account is Alibaba Cloud's: campaigns and journeys send through Dysmsapi's own contract (the fake
/// checks the signature as Aliyun does), its delivery reports and replies come back over its HTTP push, and a reply of
/// "T" withdraws the person's marketing SMS consent.
/// </summary>
public sealed class AliyunSmsTests(DeliveryApp app) : IClassFixture<DeliveryApp>
{
    private const string SignName = "思域商城";

    private sealed record AliyunBrand(SendingBrand Brand, string KeyId, string Secret, JsonElement Account)
    {
        public TestTenant Tenant => Brand.Tenant;
        public string Push(string kind) => Account.GetProperty("pushes").GetProperty(kind).GetString()!;
    }

    private async Task<AliyunBrand> BrandAsync()
    {
        var brand = await SendingBrand.CreateAsync(app);
        var keyId = "LTAI" + Guid.NewGuid().ToString("N")[..16];
        var secret = "secret-" + Guid.NewGuid().ToString("N");
        app.Fake.RegisterAliyunKey(keyId, secret);
        var put = await brand.Tenant.Admin().PutAsJsonAsync("/api/tenants/current/channels/sms", new { provider = "aliyun", accessKeyId = keyId, apiKey = secret, sender = SignName });
        Assert.True(put.IsSuccessStatusCode, await put.Content.ReadAsStringAsync());
        var account = await put.Json();
        await brand.Tenant.PutTemplate("aliyun_offer", """
            {"channel": "sms", "providerTemplate": "SMS_2001", "topic": "offers", "content": "${name}您好, ${offer}已到账, 回T退订",
             "fields": {"name": "{{name}}", "offer": "{{offer}}"}, "variables": {"name": {"default": "会员"}, "offer": {}}}
            """);
        // What the brand does in the Aliyun console: point the HTTP push of reports and replies at the URLs the account shows.
        var baseAddress = app.CreateClient().BaseAddress!;
        var result = new AliyunBrand(brand, keyId, secret, account);
        app.Fake.SetAliyunPush(keyId, new Uri(baseAddress, result.Push("SmsReport")), new Uri(baseAddress, result.Push("SmsUp")));
        return result;
    }

    private static object Offer(IEnumerable<string> phones, string name = "aliyun-offer") => new
    {
        name,
        audience = new { identities = phones.Select(p => "phone:" + p).ToArray() },
        message = new { template = "aliyun_offer", variables = new Dictionary<string, string> { ["name"] = "{{attributes.name}}", ["offer"] = "{{context.offer}}" } },
        context = new { offer = "20元券" },
    };

    [Fact]
    public async Task The_account_is_stored_without_showing_its_secret_and_names_its_push_urls()
    {
        var b = await BrandAsync();

        var listed = await (await b.Tenant.Admin().GetAsync("/api/tenants/current/channels")).Json();
        var sms = listed.EnumerateArray().Single(c => c.GetProperty("channel").GetString() == "sms");
        Assert.Equal(("aliyun", b.KeyId, SignName, false, true), (sms.GetProperty("provider").GetString(), sms.GetProperty("accessKeyId").GetString(),
            sms.GetProperty("sender").GetString(), sms.GetProperty("dedupes").GetBoolean(), sms.GetProperty("hasApiKey").GetBoolean()));
        Assert.DoesNotContain(b.Secret, listed.GetRawText());
        Assert.StartsWith($"/api/delivery/aliyun/{b.Tenant.Id}/report?token=", b.Push("SmsReport"));
        Assert.StartsWith($"/api/delivery/aliyun/{b.Tenant.Id}/reply?token=", b.Push("SmsUp"));
    }

    [Theory]
    [InlineData("""{"provider": "aliyun", "apiKey": "s", "sender": "思域"}""", "accessKeyId")]
    [InlineData("""{"provider": "aliyun", "accessKeyId": "LTAI1", "apiKey": "s"}""", "sender")]
    [InlineData("""{"provider": "aliyun", "accessKeyId": "LTAI1", "apiKey": "s", "sender": "思域", "dedupes": true}""", "dedupes")]
    [InlineData("""{"provider": "wechat", "apiKey": "s"}""", "provider")]
    [InlineData("""{"accessKeyId": "LTAI1", "apiKey": "s"}""", "accessKeyId")]
    public async Task An_aliyun_account_without_what_aliyun_needs_is_refused(string body, string field)
    {
        var tenant = await app.NewTenantAsync();

        var put = await tenant.Admin().PutAsync("/api/tenants/current/channels/sms", new StringContent(body, Encoding.UTF8, "application/json"));

        await put.AssertProblem(HttpStatusCode.BadRequest, "invalid_channel");
        Assert.Contains(field, await put.Content.ReadAsStringAsync());
        var email = await tenant.Admin().PutAsJsonAsync("/api/tenants/current/channels/email", new { provider = "aliyun", accessKeyId = "LTAI1", apiKey = "s", sender = "x" });
        await email.AssertProblem(HttpStatusCode.BadRequest, "invalid_channel");
    }

    [Fact]
    public async Task A_campaign_goes_through_SendSms_once_per_person_and_the_pushed_reports_mark_them_delivered()
    {
        var b = await BrandAsync();
        var people = await b.Brand.PeopleAsync(8);
        var withdrawn = await b.Brand.PeopleAsync(2);
        await b.Brand.ConsentAsync(withdrawn, "withdrawn");
        app.Fake.FailNext("+86" + people[1], Fault.ReceiptFails("MK:0001", "用户关机"));

        var id = await b.Brand.StartOkAsync(Offer(people.Concat(withdrawn)));
        var done = await b.Brand.WaitDoneAsync(id);

        // Delivered counts those of the sent a report confirmed, so sent and failed together are everyone sent to.
        Assert.Equal((8L, 2L), (Progress(done, "sent") + Progress(done, "failed"), Suppressed(done, "withdrawn")));
        Assert.Equal(8, b.Brand.AcceptedFor(people));
        Assert.Equal(0, b.Brand.AcceptedFor(withdrawn));
        var message = app.Fake.Accepted.Single(m => m.Recipient == "+86" + people[0]);
        var pid = await b.Tenant.Marketer().ProfileIdOf("phone:" + people[0]);
        Assert.Equal(("SMS_2001", SignName, $"N{people[0][^4..]}", "20元券"), (message.Template, message.Sender, message.Fields["name"], message.Fields["offer"]));
        Assert.StartsWith(pid + "~d~", message.Reference);

        // Aliyun pushes each report to the brand's URL: seven delivered, one failed with the operator's code.
        var settled = await Eventually.Get(() => b.Brand.CampaignAsync(id), c => Progress(c, "delivered") == 7 && Progress(c, "failed") == 1, what: "the reports applied");
        Assert.Equal(7, Progress(settled, "sent"));
        var failed = Assert.Single(await b.Brand.DeliveriesAsync(people[1]));
        Assert.Equal(("failed", "aliyun_MK:0001"), (failed.GetProperty("status").GetString(), failed.GetProperty("reason").GetString()));
        Assert.Equal(0, app.Fake.Repeated);
    }

    [Fact]
    public async Task A_send_whose_answer_is_lost_is_not_sent_again_and_its_report_settles_it()
    {
        var b = await BrandAsync();
        var people = await b.Brand.PeopleAsync(2);
        // Aliyun takes it, and the answer never comes within the 1 s timeout.
        app.Fake.FailNext("+86" + people[0], Fault.AcceptThenHang(TimeSpan.FromSeconds(4)));

        var id = await b.Brand.StartOkAsync(Offer(people));
        await b.Brand.WaitDoneAsync(id);

        Assert.Equal(1, app.Fake.RequestsFor("+86" + people[0]));
        Assert.Equal(1, b.Brand.AcceptedFor([people[0]]));
        // Recorded failed with an unknown outcome, then Aliyun's delivery report says it arrived.
        var delivery = await Eventually.Get(async () => Assert.Single(await b.Brand.DeliveriesAsync(people[0])),
            d => d.GetProperty("status").GetString() == "delivered", what: "the lost send settled by its report");
        Assert.Equal("delivered", delivery.GetProperty("status").GetString());
    }

    [Fact]
    public async Task A_reply_of_T_withdraws_marketing_sms_consent_with_the_reply_as_evidence_and_the_next_campaign_skips_them()
    {
        var b = await BrandAsync();
        var people = await b.Brand.PeopleAsync(3);
        await b.Brand.WaitDoneAsync(await b.Brand.StartOkAsync(Offer(people, "first")));

        Assert.True(await app.Fake.AliyunReplyAsync(b.KeyId, people[0], "T"));
        Assert.True(await app.Fake.AliyunReplyAsync(b.KeyId, people[1], " 退订。"));
        Assert.True(await app.Fake.AliyunReplyAsync(b.KeyId, people[2], "好的,谢谢"));

        foreach (var phone in people[..2])
        {
            var pid = await b.Tenant.Marketer().ProfileIdOf("phone:" + phone);
            // The projection and the ledger row are written one after the other: wait for both.
            var consents = await Eventually.Get(() => b.Tenant.Marketer().Consents(pid), c => c.Current("marketing", "sms") == "withdrawn"
                && c.GetProperty("history").EnumerateArray().Any(h => h.GetProperty("status").GetString() == "withdrawn"), what: $"{phone} withdrawn");
            var entry = consents.GetProperty("history").EnumerateArray().Last(h => h.GetProperty("status").GetString() == "withdrawn");
            Assert.Equal("sms_reply", entry.GetProperty("source").GetString());
            Assert.Contains("replied", entry.GetProperty("evidence").GetString());
        }
        var stays = await b.Tenant.Marketer().Consents(await b.Tenant.Marketer().ProfileIdOf("phone:" + people[2]));
        Assert.Equal("granted", stays.Current("marketing", "sms"));

        var second = await b.Brand.WaitDoneAsync(await b.Brand.StartOkAsync(Offer(people, "second")));
        Assert.Equal((2L, 1L), (Suppressed(second, "withdrawn"), Progress(second, "sent")));
    }

    [Fact]
    public async Task A_push_without_the_right_token_for_another_tenant_or_malformed_is_refused_and_a_repeat_changes_nothing()
    {
        var b = await BrandAsync();
        var people = await b.Brand.PeopleAsync(1);
        var id = await b.Brand.StartOkAsync(Offer(people));
        await Eventually.Get(() => b.Brand.CampaignAsync(id), c => Progress(c, "delivered") == 1, what: "delivered by the fake's report");
        var message = app.Fake.Accepted.Single(m => m.Recipient == "+86" + people[0]);
        var report = $$"""[{"phone_number":"{{people[0]}}","send_time":"2026-12-04 10:00:00","report_time":"2026-12-04 10:00:03","success":true,"err_code":"DELIVERED","err_msg":"用户接收成功","sms_size":"1","biz_id":"{{message.ProviderMessageId}}^0","out_id":"{{message.Reference}}"}]""";
        var client = app.CreateClient();
        Task<HttpResponseMessage> Post(string url, string body) => client.PostAsync(url, new StringContent(body, Encoding.UTF8, "application/json"));
        var good = b.Push("SmsReport");

        await (await Post(good.Split("?token=")[0] + "?token=" + new string('A', 32), report)).AssertProblem(HttpStatusCode.Unauthorized, "bad_token");
        await (await Post(good.Split("?token=")[0], report)).AssertProblem(HttpStatusCode.Unauthorized, "bad_token");
        var other = await app.NewTenantAsync();
        await (await Post(good.Replace(b.Tenant.Id, other.Id), report)).AssertProblem(HttpStatusCode.NotFound, "push_not_found");
        await (await Post(good, """{"success": true}""")).AssertProblem(HttpStatusCode.BadRequest, "invalid_push");
        await (await Post(good, "[{")).AssertProblem(HttpStatusCode.BadRequest, "invalid_push");
        await (await Post(b.Push("SmsUp"), """[{"content": "T"}]""")).AssertProblem(HttpStatusCode.BadRequest, "invalid_push");

        var again = await Post(good, report);
        Assert.Equal(HttpStatusCode.OK, again.StatusCode);
        Assert.Equal(0, (await again.Json()).GetProperty("code").GetInt32());
        var campaign = await b.Brand.CampaignAsync(id);
        Assert.Equal((1L, 0L), (Progress(campaign, "delivered"), Progress(campaign, "failed")));
    }

    [Fact]
    public async Task A_journey_sends_through_aliyun_when_its_event_arrives()
    {
        var b = await BrandAsync();
        var people = await b.Brand.PeopleAsync(1);
        await b.Tenant.PublishAsync("aliyun_welcome", """
            {
              "name": "Welcome by Aliyun SMS",
              "entry": { "on": "event", "event": "member_joined", "reentry": "once" },
              "start": "welcome",
              "nodes": {
                "welcome": { "type": "send", "channel": "sms", "template": "aliyun_offer",
                             "variables": { "name": "{{attributes.name}}", "offer": "入会礼" }, "next": "done" },
                "done": { "type": "exit" }
              }
            }
            """);

        Assert.Equal(HttpStatusCode.Accepted, (await b.Tenant.Ingest().PostEvents(
            new { type = "track", messageId = "joined-" + people[0], @event = "member_joined", identities = new { phone = people[0] } })).StatusCode);

        var message = await Eventually.Get(() => Task.FromResult(app.Fake.Accepted.FirstOrDefault(m => m.Recipient == "+86" + people[0])), m => m is not null,
            what: "the journey's SMS at Aliyun");
        Assert.Equal(("SMS_2001", SignName, "入会礼"), (message!.Template, message.Sender, message.Fields["offer"]));
        var pid = await b.Tenant.Marketer().ProfileIdOf("phone:" + people[0]);
        await Eventually.Get(async () => Assert.Single(await b.Brand.DeliveriesAsync(people[0])), d => d.GetProperty("status").GetString() == "delivered",
            what: "the journey's SMS delivered by Aliyun's report");
        Assert.NotNull(pid);
    }

    [Theory]
    [InlineData("""{"channel": "sms", "providerTemplate": "SMS_9", "content": "${name}您好, 新品上市", "fields": {"name": "{{name}}"}, "variables": {"name": {}}}""", "content")]
    [InlineData("""{"channel": "sms", "providerTemplate": "SMS_9", "fields": {"text": "New arrivals for you"}}""", "fields")]
    public async Task A_marketing_sms_template_that_does_not_say_how_to_opt_out_is_refused(string template, string field)
    {
        var tenant = await app.NewTenantAsync();

        var put = await tenant.Marketer().PutAsync("/api/templates/no_opt_out", new StringContent(template, Encoding.UTF8, "application/json"));

        await put.AssertProblem(HttpStatusCode.BadRequest, "invalid_template");
        var problem = await put.Content.ReadAsStringAsync();
        Assert.Contains($"\"{field}\"", problem);
        Assert.Contains("opt out", problem);
        // The same text for a service message (personalisation) needs no opt-out.
        var service = template.Replace("\"channel\": \"sms\"", "\"channel\": \"sms\", \"purpose\": \"personalisation\"");
        Assert.Equal(HttpStatusCode.OK, (await tenant.Marketer().PutAsync("/api/templates/no_opt_out", new StringContent(service, Encoding.UTF8, "application/json"))).StatusCode);
    }
}
