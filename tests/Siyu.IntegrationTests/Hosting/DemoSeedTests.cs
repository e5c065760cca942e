using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Siyu.Functions.Hosting;
using Siyu.IntegrationTests.Consent;
using Siyu.IntegrationTests.Infrastructure;

namespace Siyu.IntegrationTests.Hosting;

/// <summary>The local run seeds a demo tenant with one working key per role, kept in a file, and what the example requests use.</summary>
public sealed class DemoSeedTests(DemoApp app) : IClassFixture<DemoApp>
{
    private async Task<List<JsonElement>> KeysAsync() =>
        (await (await app.Operator().GetAsync("/api/operator/tenants/demo/keys")).Json()).EnumerateArray().ToList();

    private static bool Active(JsonElement key) => key.GetProperty("revokedAt").ValueKind == JsonValueKind.Null;

    [Fact]
    public async Task The_demo_tenant_exists_with_one_active_key_per_role()
    {
        var active = (await KeysAsync()).Where(Active).ToList();
        Assert.Equal(["admin", "ingest", "marketer"], active.Select(k => k.GetProperty("role").GetString()).Order());
        Assert.All(active, k => Assert.StartsWith("demo-", k.GetProperty("name").GetString()));
    }

    [Fact]
    public async Task The_keys_are_kept_in_a_file_only_its_owner_reads_and_each_works_in_its_role()
    {
        var kept = app.KeptKeys();
        Assert.Equal(["admin", "ingest", "marketer"], kept.Keys.Order());
        if (!OperatingSystem.IsWindows()) Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(app.KeysFile));
        var active = (await KeysAsync()).Where(Active).ToDictionary(k => k.GetProperty("role").GetString()!, k => k.GetProperty("keyId").GetString()!);
        foreach (var (role, key) in kept) Assert.Contains($"_{active[role]}_", key);

        var demo = app.Demo();
        Assert.Equal(HttpStatusCode.Accepted, (await demo.Ingest().PostEvents(new { type = "track", messageId = "kept-key-check", @event = "page_view",
            identities = new { phone = "13800138000" } })).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await demo.Marketer().GetAsync("/api/journeys")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await demo.Admin().GetAsync("/api/wechat-apps")).StatusCode);
    }

    [Fact]
    public async Task A_kept_key_that_no_longer_verifies_is_replaced_and_the_others_are_kept()
    {
        var before = app.KeptKeys();
        var adminKeyId = before["admin"].Split('_')[2];
        Assert.Equal(HttpStatusCode.NoContent, (await app.Operator().DeleteAsync($"/api/operator/tenants/demo/keys/{adminKeyId}")).StatusCode);

        await app.Service<DemoSeeder>().StartAsync(default);

        var after = app.KeptKeys();
        Assert.Equal((before["ingest"], before["marketer"]), (after["ingest"], after["marketer"]));
        Assert.NotEqual(before["admin"], after["admin"]);
        Assert.Equal(HttpStatusCode.OK, (await app.ClientWithKey(after["admin"]).GetAsync("/api/wechat-apps")).StatusCode);
        Assert.Equal(3, (await KeysAsync()).Count(Active));
    }

    [Fact]
    public async Task The_demo_tenant_has_the_app_account_template_journey_and_people_the_examples_use()
    {
        var demo = app.Demo();
        var wechat = await (await demo.Admin().GetAsync($"/api/wechat-apps/{DemoData.WeChatAppId}")).Json();
        Assert.True(wechat.GetProperty("hasAppSecret").GetBoolean());
        var channels = await (await demo.Admin().GetAsync("/api/tenants/current/channels")).Json();
        var sms = channels.EnumerateArray().Single(c => c.GetProperty("channel").GetString() == "sms");
        Assert.Equal((true, "aliyun", DemoData.SmsAccessKeyId, false), (sms.GetProperty("hasApiKey").GetBoolean(), sms.GetProperty("provider").GetString(),
            sms.GetProperty("accessKeyId").GetString(), sms.GetProperty("dedupes").GetBoolean()));
        Assert.DoesNotContain(DemoData.SmsAccessKeySecret, channels.GetRawText());
        Assert.Equal(HttpStatusCode.OK, (await demo.Marketer().GetAsync($"/api/templates/{DemoData.TemplateId}")).StatusCode);
        var journey = await (await demo.Marketer().GetAsync($"/api/journeys/{DemoData.JourneyId}")).Json();
        Assert.Equal(("live", 1), (journey.GetProperty("status").GetString(), journey.GetProperty("version").GetInt32()));

        foreach (var phone in new[] { "13800138000", "13900139000", "13600136000", "13500135000" })
        {
            var profile = await demo.Marketer().FindProfile("phone:" + phone);
            Assert.True(profile is not null, $"no demo person with phone {phone}");
            var check = await demo.Marketer().ContactCheck(profile.Value.GetProperty("id").GetString()!, "purpose=marketing&channel=sms");
            Assert.True(check.GetProperty("allowed").GetBoolean(), $"{phone}: {check}");
        }
        Assert.Equal(HttpStatusCode.OK, (await demo.Marketer().GetAsync("/api/profiles?identity=userId:m-1001")).StatusCode);
        // 王小明's store card: a profile of its own, made after his, so merging it into his keeps his.
        var wang = (await demo.Marketer().FindProfile("openid:oMini123", "wxminiapp0000001"))!.Value;
        var card = (await demo.Marketer().FindProfile("userId:m-2001"))!.Value;
        Assert.NotEqual(wang.GetProperty("id").GetString(), card.GetProperty("id").GetString());
        Assert.True(wang.GetProperty("createdAt").GetDateTimeOffset() < card.GetProperty("createdAt").GetDateTimeOffset());
    }

    [Fact]
    public async Task A_member_joining_is_welcomed_by_the_seeded_journey_with_one_sms_at_the_fake()
    {
        var demo = app.Demo();
        Assert.Equal(HttpStatusCode.Accepted, (await demo.Ingest().PostEvents(
            new { type = "track", messageId = "joined-m-1001", @event = "member_joined", identities = new { userId = "m-1001" } })).StatusCode);

        var message = await Eventually.Get(() => Task.FromResult(app.Fake.Accepted.FirstOrDefault(m => m.Recipient == "+8613600136000")),
            m => m is not null, what: "the welcome SMS to 陈静");
        // Through Aliyun's contract: signed, under the demo SignName, the template's parameter filled in.
        Assert.Equal(("sms", "SMS_WELCOME", DemoData.SmsSignName, "静静"), (message!.Channel, message.Template, message.Sender, message.Fields["name"]));
        Assert.Equal(1, app.Fake.AcceptedFor("+8613600136000"));
    }
}
