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
/// A brand whose SMS account is Tencent Cloud's: campaigns and journeys send through SMS API 3.0 (the fake checks the
/// TC3 signature as Tencent does), its status callbacks settle the deliveries by SerialNo, and a reply of "R"
/// withdraws the person's marketing SMS consent.
/// </summary>
public sealed class TencentSmsTests(DeliveryApp app) : IClassFixture<DeliveryApp>
{
    private const string SignName = "思域商城";

    private sealed record TencentBrand(SendingBrand Brand, string SecretId, string SecretKey, string AppId, JsonElement Account)
    {
        public TestTenant Tenant => Brand.Tenant;
        public string Push(string kind) => Account.GetProperty("pushes").GetProperty(kind).GetString()!;
    }

    private async Task<TencentBrand> BrandAsync()
    {
        var brand = await SendingBrand.CreateAsync(app);
        var secretId = "AKID" + Guid.NewGuid().ToString("N")[..20];
        var secretKey = "key-" + Guid.NewGuid().ToString("N");
        var appId = "14" + Random.Shared.NextInt64(10_000_000, 99_999_999).ToString(System.Globalization.CultureInfo.InvariantCulture);
        app.Fake.RegisterTencentKey(secretId, secretKey);
        var put = await brand.Tenant.Admin().PutAsJsonAsync("/api/tenants/current/channels/sms",
            new { provider = "tencent", accessKeyId = secretId, apiKey = secretKey, appId, sender = SignName });
        Assert.True(put.IsSuccessStatusCode, await put.Content.ReadAsStringAsync());
        var account = await put.Json();
        await brand.Tenant.PutTemplate("tencent_offer", """
            {"channel": "sms", "providerTemplate": "1110", "topic": "offers", "content": "{1}您好, {2}已到账, 拒收请回复R",
             "fields": {"1": "{{name}}", "2": "{{offer}}"}, "variables": {"name": {"default": "会员"}, "offer": {}}}
            """);
        // What the brand does in the SMS console: point the app's status and reply callbacks at the URLs the account shows.
        var baseAddress = app.CreateClient().BaseAddress!;
        var result = new TencentBrand(brand, secretId, secretKey, appId, account);
        app.Fake.SetTencentPush(appId, new Uri(baseAddress, result.Push("status")), new Uri(baseAddress, result.Push("reply")));
        return result;
    }

    private static object Offer(IEnumerable<string> phones, string name = "tencent-offer") => new
    {
        name,
        audience = new { identities = phones.Select(p => "phone:" + p).ToArray() },
        message = new { template = "tencent_offer", variables = new Dictionary<string, string> { ["name"] = "{{attributes.name}}", ["offer"] = "{{context.offer}}" } },
        context = new { offer = "20元券" },
    };

    [Fact]
    public async Task The_account_is_stored_without_showing_its_SecretKey_and_names_its_callback_urls()
    {
        var b = await BrandAsync();

        var listed = await (await b.Tenant.Admin().GetAsync("/api/tenants/current/channels")).Json();
        var sms = listed.EnumerateArray().Single(c => c.GetProperty("channel").GetString() == "sms");
        Assert.Equal(("tencent", b.SecretId, b.AppId, SignName, false), (sms.GetProperty("provider").GetString(), sms.GetProperty("accessKeyId").GetString(),
            sms.GetProperty("appId").GetString(), sms.GetProperty("sender").GetString(), sms.GetProperty("dedupes").GetBoolean()));
        Assert.DoesNotContain(b.SecretKey, listed.GetRawText());
        Assert.StartsWith($"/api/delivery/tencent/{b.Tenant.Id}/status?token=", b.Push("status"));
        Assert.StartsWith($"/api/delivery/tencent/{b.Tenant.Id}/reply?token=", b.Push("reply"));
    }

    [Theory]
    [InlineData("""{"provider": "tencent", "accessKeyId": "AKID1", "apiKey": "k", "sender": "思域"}""", "appId")]
    [InlineData("""{"provider": "tencent", "accessKeyId": "AKID1", "apiKey": "k", "sender": "思域", "appId": "app-one"}""", "appId")]
    [InlineData("""{"provider": "tencent", "apiKey": "k", "sender": "思域", "appId": "1400006666"}""", "accessKeyId")]
    [InlineData("""{"provider": "tencent", "accessKeyId": "AKID1", "apiKey": "k", "appId": "1400006666"}""", "sender")]
    [InlineData("""{"provider": "tencent", "accessKeyId": "AKID1", "apiKey": "k", "sender": "思域", "appId": "1400006666", "dedupes": true}""", "dedupes")]
    [InlineData("""{"provider": "aliyun", "accessKeyId": "LTAI1", "apiKey": "s", "sender": "思域", "appId": "1400006666"}""", "appId")]
    public async Task A_tencent_account_without_what_tencent_needs_is_refused(string body, string field)
    {
        var tenant = await app.NewTenantAsync();

        var put = await tenant.Admin().PutAsync("/api/tenants/current/channels/sms", new StringContent(body, Encoding.UTF8, "application/json"));

        await put.AssertProblem(HttpStatusCode.BadRequest, "invalid_channel");
        Assert.Contains(field, await put.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task A_campaign_goes_through_SendSms_once_per_person_and_the_status_callbacks_mark_them_delivered()
    {
        var b = await BrandAsync();
        var people = await b.Brand.PeopleAsync(8);
        var withdrawn = await b.Brand.PeopleAsync(2);
        await b.Brand.ConsentAsync(withdrawn, "withdrawn");
        app.Fake.FailNext("+86" + people[1], Fault.ReceiptFails("MK:0001", "关机"));

        var id = await b.Brand.StartOkAsync(Offer(people.Concat(withdrawn)));
        var done = await b.Brand.WaitDoneAsync(id);

        Assert.Equal((8L, 2L), (Progress(done, "sent") + Progress(done, "failed"), Suppressed(done, "withdrawn")));
        Assert.Equal(8, b.Brand.AcceptedFor(people));
        Assert.Equal(0, b.Brand.AcceptedFor(withdrawn));
        var message = app.Fake.Accepted.Single(m => m.Recipient == "+86" + people[0]);
        var pid = await b.Tenant.Marketer().ProfileIdOf("phone:" + people[0]);
        Assert.Equal(("1110", SignName, $"N{people[0][^4..]}", "20元券"), (message.Template, message.Sender, message.Fields["1"], message.Fields["2"]));
        Assert.StartsWith(pid + "~d~", message.Reference);

        // Tencent calls back with each status, naming the send by its SerialNo: seven delivered, one failed with the operator's code.
        var settled = await Eventually.Get(() => b.Brand.CampaignAsync(id), c => Progress(c, "delivered") == 7 && Progress(c, "failed") == 1, what: "the statuses applied");
        Assert.Equal(7, Progress(settled, "sent"));
        var failed = Assert.Single(await b.Brand.DeliveriesAsync(people[1]));
        Assert.Equal(("failed", "tencent_MK:0001"), (failed.GetProperty("status").GetString(), failed.GetProperty("reason").GetString()));
        Assert.Equal(message.ProviderMessageId, Assert.Single(await b.Brand.DeliveriesAsync(people[0])).GetProperty("providerMessageId").GetString());
        Assert.Equal(0, app.Fake.Repeated);
    }

    [Fact]
    public async Task A_reply_of_R_withdraws_marketing_sms_consent_with_the_reply_as_evidence_and_the_next_campaign_skips_them()
    {
        var b = await BrandAsync();
        var people = await b.Brand.PeopleAsync(3);
        await b.Brand.WaitDoneAsync(await b.Brand.StartOkAsync(Offer(people, "first")));

        Assert.True(await app.Fake.TencentReplyAsync(b.AppId, people[0], "R", SignName));
        Assert.True(await app.Fake.TencentReplyAsync(b.AppId, people[1], "退订"));
        Assert.True(await app.Fake.TencentReplyAsync(b.AppId, people[2], "收到"));

        foreach (var phone in people[..2])
        {
            var pid = await b.Tenant.Marketer().ProfileIdOf("phone:" + phone);
            // The projection and the ledger row are written one after the other: wait for both.
            var consents = await Eventually.Get(() => b.Tenant.Marketer().Consents(pid), c => c.Current("marketing", "sms") == "withdrawn"
                && c.GetProperty("history").EnumerateArray().Any(h => h.GetProperty("status").GetString() == "withdrawn"), what: $"{phone} withdrawn");
            var entry = consents.GetProperty("history").EnumerateArray().Last(h => h.GetProperty("status").GetString() == "withdrawn");
            Assert.Equal("sms_reply", entry.GetProperty("source").GetString());
            Assert.Contains("Tencent Cloud SMS reply", entry.GetProperty("evidence").GetString());
        }
        var stays = await b.Tenant.Marketer().Consents(await b.Tenant.Marketer().ProfileIdOf("phone:" + people[2]));
        Assert.Equal("granted", stays.Current("marketing", "sms"));

        var second = await b.Brand.WaitDoneAsync(await b.Brand.StartOkAsync(Offer(people, "second")));
        Assert.Equal((2L, 1L), (Suppressed(second, "withdrawn"), Progress(second, "sent")));
    }

    [Fact]
    public async Task A_callback_without_the_right_token_for_another_tenant_or_malformed_is_refused_and_a_repeat_changes_nothing()
    {
        var b = await BrandAsync();
        var people = await b.Brand.PeopleAsync(1);
        var id = await b.Brand.StartOkAsync(Offer(people));
        await Eventually.Get(() => b.Brand.CampaignAsync(id), c => Progress(c, "delivered") == 1, what: "delivered by the fake's status callback");
        var message = app.Fake.Accepted.Single(m => m.Recipient == "+86" + people[0]);
        var status = $$"""[{"user_receive_time":"2026-12-04 10:00:03","nationcode":"86","mobile":"{{people[0]}}","report_status":"SUCCESS","errmsg":"DELIVRD","description":"用户短信送达成功","sid":"{{message.ProviderMessageId}}"}]""";
        var client = app.CreateClient();
        Task<HttpResponseMessage> Post(string url, string body) => client.PostAsync(url, new StringContent(body, Encoding.UTF8, "application/json"));
        var good = b.Push("status");

        await (await Post(good.Split("?token=")[0] + "?token=" + new string('A', 32), status)).AssertProblem(HttpStatusCode.Unauthorized, "bad_token");
        await (await Post(good.Split("?token=")[0], status)).AssertProblem(HttpStatusCode.Unauthorized, "bad_token");
        var other = await app.NewTenantAsync();
        await (await Post(good.Replace(b.Tenant.Id, other.Id), status)).AssertProblem(HttpStatusCode.NotFound, "push_not_found");
        // An Aliyun push URL of a Tencent account does not exist, whatever its token.
        await (await Post($"/api/delivery/aliyun/{b.Tenant.Id}/report?token=" + good.Split("?token=")[1], "[]")).AssertProblem(HttpStatusCode.NotFound, "push_not_found");
        await (await Post(good, """{"sid": "1"}""")).AssertProblem(HttpStatusCode.BadRequest, "invalid_push");
        await (await Post(good, "[{")).AssertProblem(HttpStatusCode.BadRequest, "invalid_push");
        await (await Post(b.Push("reply"), """{"text": "R"}""")).AssertProblem(HttpStatusCode.BadRequest, "invalid_push");

        var again = await Post(good, status);
        Assert.Equal(HttpStatusCode.OK, again.StatusCode);
        Assert.Equal(0, (await again.Json()).GetProperty("result").GetInt32());
        // A SerialNo that is none of ours is taken and changes nothing.
        var stranger = await Post(good, status.Replace(message.ProviderMessageId!, "2640:nobody"));
        Assert.Equal(HttpStatusCode.OK, stranger.StatusCode);
        var campaign = await b.Brand.CampaignAsync(id);
        Assert.Equal((1L, 0L), (Progress(campaign, "delivered"), Progress(campaign, "failed")));
    }

    [Fact]
    public async Task A_journey_sends_through_tencent_when_its_event_arrives()
    {
        var b = await BrandAsync();
        var people = await b.Brand.PeopleAsync(1);
        await b.Tenant.PublishAsync("tencent_welcome", """
            {
              "name": "Welcome by Tencent Cloud SMS",
              "entry": { "on": "event", "event": "member_joined", "reentry": "once" },
              "start": "welcome",
              "nodes": {
                "welcome": { "type": "send", "channel": "sms", "template": "tencent_offer",
                             "variables": { "name": "{{attributes.name}}", "offer": "入会礼" }, "next": "done" },
                "done": { "type": "exit" }
              }
            }
            """);

        Assert.Equal(HttpStatusCode.Accepted, (await b.Tenant.Ingest().PostEvents(
            new { type = "track", messageId = "joined-" + people[0], @event = "member_joined", identities = new { phone = people[0] } })).StatusCode);

        var message = await Eventually.Get(() => Task.FromResult(app.Fake.Accepted.FirstOrDefault(m => m.Recipient == "+86" + people[0])), m => m is not null,
            what: "the journey's SMS at Tencent");
        Assert.Equal(("1110", SignName, "入会礼"), (message!.Template, message.Sender, message.Fields["2"]));
        await Eventually.Get(async () => Assert.Single(await b.Brand.DeliveriesAsync(people[0])), d => d.GetProperty("status").GetString() == "delivered",
            what: "the journey's SMS delivered by Tencent's status callback");
    }
}
