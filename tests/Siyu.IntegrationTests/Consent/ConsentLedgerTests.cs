using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Siyu.IntegrationTests.Infrastructure;
using Siyu.IntegrationTests.WeChat;

namespace Siyu.IntegrationTests.Consent;

/// <summary>The consent ledger and its projection, fed by the consent API, the events API and WeChat pushes.</summary>
public sealed class ConsentLedgerTests(WeChatApp app) : IClassFixture<WeChatApp>
{
    private static readonly DateTimeOffset T0 = DateTimeOffset.UtcNow.AddDays(-3);

    public static TheoryData<int[], string> Orders() => new()
    {
        // grant (t0), withdraw (t0+1h), grant (t0+2h), each posted alone, in every arrival order: the last by time wins.
        { [0, 1, 2], "granted" }, { [2, 1, 0], "granted" }, { [1, 2, 0], "granted" }, { [2, 0, 1], "granted" },
    };

    [Theory]
    [MemberData(nameof(Orders))]
    public async Task Grant_withdraw_grant_in_any_arrival_order_ends_granted_with_the_whole_history(int[] order, string expected)
    {
        var tenant = await app.NewTenantAsync();
        var phone = ConsentApi.NewPhone();
        object[] decisions =
        [
            ConsentApi.Decision(phone, "granted", T0),
            ConsentApi.Decision(phone, "withdrawn", T0.AddHours(1)),
            ConsentApi.Decision(phone, "granted", T0.AddHours(2)),
        ];
        foreach (var i in order)
        {
            var response = await tenant.Ingest().PostConsents(decisions[i]);
            Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
            // Let each one be processed before the next arrives, so arrival order really is this order.
            if (i == order[0]) await tenant.Marketer().ProfileIdOf($"phone:{phone}");
        }
        var id = await tenant.Marketer().ProfileIdOf($"phone:{phone}");
        var consents = await tenant.Marketer().WaitForLedger(id, 3);

        Assert.Equal(expected, consents.Current("marketing", "sms"));
        var history = consents.GetProperty("history").EnumerateArray().ToList();
        Assert.Equal(["granted", "withdrawn", "granted"], history.Select(h => h.GetProperty("status").GetString()));
        Assert.All(history, h => Assert.Equal("privacy-notice-v3", h.GetProperty("evidence").GetString()));
        Assert.Equal("allowed", (await tenant.Marketer().ContactCheck(id, "purpose=marketing&channel=sms")).GetProperty("verdict").GetString());
    }

    [Fact]
    public async Task A_withdrawal_that_occurred_last_wins_even_when_it_arrives_first()
    {
        var tenant = await app.NewTenantAsync();
        var phone = ConsentApi.NewPhone();
        Assert.Equal(HttpStatusCode.Accepted, (await tenant.Ingest().PostConsents(ConsentApi.Decision(phone, "withdrawn", T0.AddHours(5)))).StatusCode);
        var id = await tenant.Marketer().ProfileIdOf($"phone:{phone}");
        Assert.Equal(HttpStatusCode.Accepted, (await tenant.Ingest().PostConsents(
            ConsentApi.Decision(phone, "granted", T0), ConsentApi.Decision(phone, "granted", T0.AddHours(1)))).StatusCode);

        var consents = await tenant.Marketer().WaitForLedger(id, 3);
        Assert.Equal("withdrawn", consents.Current("marketing", "sms"));
        var check = await tenant.Marketer().ContactCheck(id, "purpose=marketing&channel=sms");
        Assert.False(check.GetProperty("allowed").GetBoolean());
        Assert.Equal("withdrawn", check.GetProperty("verdict").GetString());
    }

    [Fact]
    public async Task Recording_the_same_decision_twice_keeps_one_ledger_entry()
    {
        var tenant = await app.NewTenantAsync();
        var phone = ConsentApi.NewPhone();
        var decision = ConsentApi.Decision(phone, "granted", T0, channel: "email");
        var first = await (await tenant.Ingest().PostConsents(decision)).Json();
        var second = await (await tenant.Ingest().PostConsents(decision)).Json();
        // Without an id, the id derives from the content: a client retry is the same decision.
        Assert.Equal(first.GetProperty("ids")[0].GetProperty("id").GetString(), second.GetProperty("ids")[0].GetProperty("id").GetString());

        var id = await tenant.Marketer().ProfileIdOf($"phone:{phone}");
        // A later, different decision marks when both copies must have been processed.
        await tenant.Ingest().PostConsents(ConsentApi.Decision(phone, "granted", T0.AddMinutes(1), channel: "sms"));
        var consents = await tenant.Marketer().WaitForLedger(id, 2);
        await Task.Delay(300);
        consents = await tenant.Marketer().Consents(id);
        Assert.Equal(2, consents.GetProperty("history").GetArrayLength());
    }

    [Fact]
    public async Task A_consent_by_profile_id_is_recorded_and_another_tenants_profile_is_not_found()
    {
        var tenant = await app.NewTenantAsync();
        var other = await app.NewTenantAsync();
        var phone = ConsentApi.NewPhone();
        await tenant.Ingest().PostEvents(new { messageId = "m-" + phone, type = "track", @event = "visit", identities = new { phone } });
        var id = await tenant.Marketer().ProfileIdOf($"phone:{phone}");

        var ok = await tenant.Admin().PostConsents(new { profileId = id, purpose = "marketing", channel = "all", status = "granted", source = "api", occurredAt = T0.ToString("O") });
        Assert.Equal(HttpStatusCode.Accepted, ok.StatusCode);
        var consents = await tenant.Marketer().WaitForLedger(id, 1);
        Assert.Equal("granted", consents.Current("marketing", "all"));

        // The same profile id, from another tenant: not found there, and nothing written anywhere.
        var foreign = await other.Admin().PostConsents(new { profileId = id, purpose = "marketing", channel = "all", status = "withdrawn", source = "api", occurredAt = T0.AddHours(1).ToString("O") });
        await foreign.AssertProblem(HttpStatusCode.BadRequest, "no_valid_consents");
        Assert.Equal("profile_not_found", (await foreign.Json()).GetProperty("errors")[0].GetProperty("code").GetString());
        await Task.Delay(300);
        Assert.Equal("granted", (await tenant.Marketer().Consents(id)).Current("marketing", "all"));
    }

    [Fact]
    public async Task Bad_items_are_refused_one_by_one_with_precise_codes()
    {
        var tenant = await app.NewTenantAsync();
        var phone = ConsentApi.NewPhone();
        var at = T0.ToString("O");
        var response = await tenant.Ingest().PostConsents(
            new { identities = new { phone }, purpose = "marketing", channel = "sms", status = "granted", source = "api", occurredAt = at },
            new { identities = new { phone }, purpose = "lottery", channel = "sms", status = "granted", source = "api", occurredAt = at },
            new { identities = new { phone }, purpose = "marketing", channel = "fax", status = "granted", source = "api", occurredAt = at },
            new { identities = new { phone }, purpose = "marketing", channel = "sms", status = "maybe", source = "api", occurredAt = at },
            new { identities = new { phone }, purpose = "marketing", channel = "sms", status = "granted", source = "api" },
            new { identities = new { phone }, purpose = "marketing", channel = "sms", status = "granted", source = "api", occurredAt = at, evidence = new string('x', 1001) },
            new { purpose = "marketing", channel = "sms", status = "granted", source = "api", occurredAt = at },
            new { profileId = "AAAAAAAAAAAAAAAAAAAA", purpose = "marketing", channel = "sms", status = "granted", source = "api", occurredAt = at });

        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        var body = await response.Json();
        Assert.Equal(1, body.GetProperty("accepted").GetInt32());
        Assert.Equal(["unknown_purpose", "unknown_channel", "invalid_status", "missing_occurred_at", "evidence_too_long", "missing_profile", "profile_not_found"],
            body.GetProperty("errors").EnumerateArray().Select(e => e.GetProperty("code").GetString()));
        Assert.Equal([1, 2, 3, 4, 5, 6, 7], body.GetProperty("errors").EnumerateArray().Select(e => e.GetProperty("index").GetInt32()));
    }

    [Fact]
    public async Task Malformed_or_oversized_bodies_and_wrong_roles_get_problems()
    {
        var tenant = await app.NewTenantAsync();
        await (await tenant.Ingest().PostRaw("/api/consents", "{\"consents\": [")).AssertProblem(HttpStatusCode.BadRequest, "invalid_json");
        await (await tenant.Ingest().PostRaw("/api/consents", "{\"consents\": []}")).AssertProblem(HttpStatusCode.BadRequest, "empty_batch");
        var many = Enumerable.Range(0, 501).Select(i => ConsentApi.Decision(ConsentApi.NewPhone(), "granted", T0)).ToArray();
        await (await tenant.Ingest().PostConsents(many)).AssertProblem(HttpStatusCode.BadRequest, "batch_too_large");
        await (await tenant.Marketer().PostConsents(ConsentApi.Decision(ConsentApi.NewPhone(), "granted", T0))).AssertProblem(HttpStatusCode.Forbidden, "wrong_role");
    }

    [Fact]
    public async Task A_consent_event_in_the_events_api_goes_to_the_ledger()
    {
        var tenant = await app.NewTenantAsync();
        var phone = ConsentApi.NewPhone();
        var response = await tenant.Ingest().PostEvents(
            new { messageId = "c1-" + phone, type = "consent", identities = new { phone }, timestamp = T0.ToString("O"),
                  properties = new { purpose = "personalisation", channel = "all", status = "withdrawn", source = "app_settings" } },
            new { messageId = "c2-" + phone, type = "consent", identities = new { phone },
                  properties = new { purpose = "marketing", channel = "sms", status = "granted", source = "app" } });
        var body = await response.Json();
        Assert.Equal(1, body.GetProperty("accepted").GetInt32());
        Assert.Equal("missing_timestamp", body.GetProperty("errors")[0].GetProperty("code").GetString());

        var id = await tenant.Marketer().ProfileIdOf($"phone:{phone}");
        var consents = await tenant.Marketer().WaitForLedger(id, 1);
        Assert.Equal("withdrawn", consents.Current("personalisation", "all"));
        Assert.Equal("app_settings", consents.GetProperty("history")[0].GetProperty("source").GetString());
    }

    [Fact]
    public async Task Following_grants_and_unfollowing_withdraws_the_official_account_channel()
    {
        var tenant = await app.NewTenantAsync();
        var wx = await WeChatPushes.RegisterAsync(tenant.Admin(), tenant.Id, "plaintext");
        var openid = "o" + Guid.NewGuid().ToString("N")[..20];
        var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        var client = app.CreateClient();
        Assert.Equal(HttpStatusCode.OK, (await client.PostAsync(wx.Url + wx.PlainQuery(), Xml(WeChatPushes.EventXml(openid, "subscribe", now - 60)))).StatusCode);
        var id = await tenant.Marketer().ProfileIdOf($"openid:{openid}", wx.AppId);
        var followed = await tenant.Marketer().WaitForLedger(id, 1);
        Assert.Equal("granted", followed.Current("marketing", "wechat_oa"));
        Assert.Equal("allowed", (await tenant.Marketer().ContactCheck(id, "purpose=marketing&channel=wechat_oa")).GetProperty("verdict").GetString());

        Assert.Equal(HttpStatusCode.OK, (await client.PostAsync(wx.Url + wx.PlainQuery(), Xml(WeChatPushes.EventXml(openid, "unsubscribe", now)))).StatusCode);
        var unfollowed = await tenant.Marketer().WaitForLedger(id, 2);
        Assert.Equal("withdrawn", unfollowed.Current("marketing", "wechat_oa"));
        Assert.Equal("wechat_unsubscribe", unfollowed.GetProperty("history")[1].GetProperty("source").GetString());
        var check = await tenant.Marketer().ContactCheck(id, "purpose=marketing&channel=wechat_oa");
        Assert.Equal("withdrawn", check.GetProperty("verdict").GetString());
    }

    [Fact]
    public async Task A_mini_program_subscribe_popup_grants_and_refuses_per_template()
    {
        var tenant = await app.NewTenantAsync();
        var wx = await WeChatPushes.RegisterAsync(tenant.Admin(), tenant.Id, "plaintext", kind: "miniProgram");
        var openid = "o" + Guid.NewGuid().ToString("N")[..20];
        var items =
            "<SubscribeMsgPopupEvent>" +
            "<List><TemplateId><![CDATA[TPL_ORDER]]></TemplateId><SubscribeStatusString><![CDATA[accept]]></SubscribeStatusString><PopupScene>0</PopupScene></List>" +
            "<List><TemplateId><![CDATA[TPL_PROMO]]></TemplateId><SubscribeStatusString><![CDATA[reject]]></SubscribeStatusString><PopupScene>0</PopupScene></List>" +
            "</SubscribeMsgPopupEvent>";
        var xml = WeChatPushes.EventXml(openid, "subscribe_msg_popup_event", DateTimeOffset.UtcNow.ToUnixTimeSeconds(), items);
        Assert.Equal(HttpStatusCode.OK, (await app.CreateClient().PostAsync(wx.Url + wx.PlainQuery(), Xml(xml))).StatusCode);

        var id = await tenant.Marketer().ProfileIdOf($"openid:{openid}", wx.AppId);
        var consents = await tenant.Marketer().WaitForLedger(id, 2);
        Assert.Equal("granted", consents.Current("marketing", "miniprogram_subscribe", "TPL_ORDER"));
        Assert.Equal("denied", consents.Current("marketing", "miniprogram_subscribe", "TPL_PROMO"));
        Assert.Equal(1, consents.GetProperty("entitlements").GetProperty("TPL_ORDER").GetInt32());
        Assert.Equal("allowed", (await tenant.Marketer().ContactCheck(id, "purpose=marketing&channel=miniprogram_subscribe&template=TPL_ORDER")).GetProperty("verdict").GetString());
        Assert.Equal("denied", (await tenant.Marketer().ContactCheck(id, "purpose=marketing&channel=miniprogram_subscribe&template=TPL_PROMO")).GetProperty("verdict").GetString());
    }

    [Fact]
    public async Task Preferences_are_validated_stored_and_used_by_the_contact_check()
    {
        var tenant = await app.NewTenantAsync();
        var phone = ConsentApi.NewPhone();
        await tenant.Ingest().PostConsents(ConsentApi.Decision(phone, "granted", T0));
        var id = await tenant.Marketer().ProfileIdOf($"phone:{phone}");
        await tenant.Marketer().WaitForLedger(id, 1);

        var bad = await tenant.Ingest().PutAsJsonAsync($"/api/profiles/{id}/preferences",
            new { preferredChannels = new[] { "fax" }, quietHours = new { start = "25:00", end = "08:00" }, timeZone = "Mars/Olympus" });
        await bad.AssertProblem(HttpStatusCode.BadRequest, "invalid_preferences");
        Assert.Equal(3, (await bad.Json()).GetProperty("errors").GetArrayLength());

        // Quiet hours around now, in Shanghai: a send now is deferred to their end.
        var local = TimeZoneInfo.ConvertTime(DateTimeOffset.UtcNow, TimeZoneInfo.FindSystemTimeZoneById("Asia/Shanghai"));
        var start = local.AddHours(-1).ToString("HH:mm");
        var end = local.AddHours(1).ToString("HH:mm");
        var put = await tenant.Ingest().PutAsJsonAsync($"/api/profiles/{id}/preferences",
            new { preferredChannels = new[] { "wechat_oa", "sms" }, quietHours = new { start, end }, timeZone = "Asia/Shanghai",
                  caps = new { sms = new { perDay = 1, perWeek = 3 } }, topics = new[] { "new-arrivals" } });
        Assert.Equal(HttpStatusCode.OK, put.StatusCode);

        var read = await (await tenant.Marketer().GetAsync($"/api/profiles/{id}/preferences")).Json();
        Assert.Equal(["wechat_oa", "sms"], read.GetProperty("preferredChannels").EnumerateArray().Select(c => c.GetString()));
        Assert.Equal(1, read.GetProperty("caps").GetProperty("sms").GetProperty("perDay").GetInt32());

        var check = await tenant.Marketer().ContactCheck(id, "purpose=marketing&channel=sms&topic=new-arrivals");
        Assert.Equal("quiet_hours", check.GetProperty("verdict").GetString());
        Assert.True(check.GetProperty("notBefore").GetDateTimeOffset() > DateTimeOffset.UtcNow);
        var offTopic = await tenant.Marketer().ContactCheck(id, "purpose=marketing&channel=sms&topic=clearance");
        Assert.Equal("topic_not_chosen", offTopic.GetProperty("verdict").GetString());

        // Preferences survive later events: an event folded in afterwards does not overwrite them.
        await tenant.Ingest().PostEvents(new { messageId = "late-" + phone, type = "track", @event = "visit", identities = new { phone } });
        await tenant.Marketer().WaitForProfile($"phone:{phone}", 2);
        Assert.Equal(1, (await (await tenant.Marketer().GetAsync($"/api/profiles/{id}/preferences")).Json()).GetProperty("caps").GetProperty("sms").GetProperty("perDay").GetInt32());
    }

    private static StringContent Xml(string xml) => new(xml, System.Text.Encoding.UTF8, "text/xml");
}
