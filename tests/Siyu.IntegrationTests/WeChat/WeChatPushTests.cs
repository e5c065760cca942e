using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Azure.Data.Tables;
using Siyu.IntegrationTests.Infrastructure;
using Siyu.Storage.Tables;

namespace Siyu.IntegrationTests.WeChat;

public sealed class WeChatApp() : SiyuApp
{
    // Secrets are encrypted at rest in this app; one test checks the stored row.
    public const string EncryptionKey = "q83vEjRWeJq83vEjRWeJq83vEjRWeJq83vEjRWeJq80=";
    protected override void ConfigureMore(AppBuilder builder) =>
        builder.UseSetting("Secrets:EncryptionKey", EncryptionKey);
}

/// <summary>The WeChat message-push endpoint, with pushes built exactly as WeChat's servers build them.</summary>
public sealed class WeChatPushTests(WeChatApp app) : IClassFixture<WeChatApp>
{
    private static string NewOpenid() => "o" + Guid.NewGuid().ToString("N")[..20];
    private static long Now() => DateTimeOffset.UtcNow.ToUnixTimeSeconds();

    private static async Task<HttpResponseMessage> Post(HttpClient client, string url, string body, string contentType = "text/xml") =>
        await client.PostAsync(url, new StringContent(body, Encoding.UTF8, contentType));

    [Fact]
    public async Task Url_verification_echoes_echostr_only_with_a_valid_signature()
    {
        var tenant = await app.NewTenantAsync();
        var wx = await WeChatPushes.RegisterAsync(tenant.Admin(), tenant.Id, "plaintext");
        var client = app.CreateClient();

        var ok = await client.GetAsync(wx.Url + wx.PlainQuery() + "&echostr=hello-wechat");
        Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
        Assert.Equal("hello-wechat", await ok.Content.ReadAsStringAsync());

        var forged = await client.GetAsync(wx.Url + wx.PlainQuery().Replace("signature=", "signature=0") + "&echostr=hello");
        await forged.AssertProblem(HttpStatusCode.Unauthorized, "wechat_bad_signature");
    }

    [Fact]
    public async Task Safe_mode_url_verification_decrypts_echostr()
    {
        var tenant = await app.NewTenantAsync();
        var wx = await WeChatPushes.RegisterAsync(tenant.Admin(), tenant.Id, "safe");
        var (query, body) = wx.Encrypted("echo-1234567890");
        var encrypt = body.Split("<![CDATA[")[2].Split("]]>")[0];
        var response = await app.CreateClient().GetAsync(wx.Url + query + "&echostr=" + Uri.EscapeDataString(encrypt));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("echo-1234567890", await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task A_plaintext_subscribe_from_a_qr_code_becomes_a_profile_event_with_its_scene()
    {
        var tenant = await app.NewTenantAsync();
        var wx = await WeChatPushes.RegisterAsync(tenant.Admin(), tenant.Id, "plaintext");
        var openid = NewOpenid();
        var xml = WeChatPushes.EventXml(openid, "subscribe", Now(), "<EventKey><![CDATA[qrscene_store42]]></EventKey><Ticket><![CDATA[TICKET]]></Ticket>");

        var response = await Post(app.CreateClient(), wx.Url + wx.PlainQuery(), xml);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("success", await response.Content.ReadAsStringAsync());
        // The acknowledgement says where its time went: the app lookup, the replay check, the queue put among them.
        var timing = string.Join(", ", response.Headers.GetValues("Server-Timing"));
        foreach (var step in new[] { "app;dur=", "open;dur=", "nonce;dur=", "enqueue;dur=" }) Assert.Contains(step, timing);

        var profile = await tenant.Marketer().WaitForProfile($"openid:{openid}", 1, wx.AppId);
        var evt = profile.GetProperty("recentEvents")[0];
        Assert.Equal("wechat.subscribe", evt.GetProperty("name").GetString());
        Assert.Equal("store42", evt.GetProperty("properties").GetProperty("scene").GetString());
        Assert.Equal($"wechat:{wx.AppId}", evt.GetProperty("source").GetString());
    }

    [Fact]
    public async Task A_safe_mode_text_message_is_decrypted_and_retries_are_stored_once()
    {
        var tenant = await app.NewTenantAsync();
        var wx = await WeChatPushes.RegisterAsync(tenant.Admin(), tenant.Id, "safe");
        var openid = NewOpenid();
        var (query, body) = wx.Encrypted(WeChatPushes.TextXml(openid, "你好，我想问一下优惠券", 6054768590064713728, Now()));

        // WeChat retries up to three times when it is not answered in time: the same push, three times.
        for (var i = 0; i < 3; i++)
            Assert.Equal(HttpStatusCode.OK, (await Post(app.CreateClient(), wx.Url + query, body)).StatusCode);
        // A different message afterwards marks when the retries must have been processed.
        var (q2, b2) = wx.Encrypted(WeChatPushes.EventXml(openid, "CLICK", Now() + 1, "<EventKey><![CDATA[MENU_COUPON]]></EventKey>"));
        Assert.Equal(HttpStatusCode.OK, (await Post(app.CreateClient(), wx.Url + q2, b2)).StatusCode);

        var profile = await tenant.Marketer().WaitForProfile($"openid:{openid}", 2, wx.AppId);
        await Task.Delay(300);
        profile = (await tenant.Marketer().FindProfile($"openid:{openid}", wx.AppId))!.Value;
        Assert.Equal(2, profile.GetProperty("eventCount").GetInt64());
        var counters = profile.GetProperty("counters");
        Assert.Equal(1, counters.GetProperty("wechat.message.text").GetProperty("count").GetInt64());
        Assert.Equal(1, counters.GetProperty("wechat.menu_click").GetProperty("count").GetInt64());
        var text = profile.GetProperty("recentEvents").EnumerateArray().Single(e => e.GetProperty("name").GetString() == "wechat.message.text");
        Assert.Equal("你好，我想问一下优惠券", text.GetProperty("properties").GetProperty("content").GetString());
    }

    [Fact]
    public async Task A_push_under_the_previous_EncodingAESKey_still_opens_during_rotation()
    {
        var tenant = await app.NewTenantAsync();
        var oldKey = WeChatPushes.NewAesKey();
        var wx = await WeChatPushes.RegisterAsync(tenant.Admin(), tenant.Id, "safe", previousKey: oldKey);
        var openid = NewOpenid();
        var (query, body) = wx.WithKey(oldKey).Encrypted(WeChatPushes.EventXml(openid, "SCAN", Now(), "<EventKey><![CDATA[777]]></EventKey>"));
        Assert.Equal(HttpStatusCode.OK, (await Post(app.CreateClient(), wx.Url + query, body)).StatusCode);

        var profile = await tenant.Marketer().WaitForProfile($"openid:{openid}", 1, wx.AppId);
        Assert.Equal("wechat.scan", profile.GetProperty("recentEvents")[0].GetProperty("name").GetString());

        // A key that is neither current nor previous does not open.
        var (q2, b2) = wx.WithKey(WeChatPushes.NewAesKey()).Encrypted(WeChatPushes.EventXml(openid, "SCAN", Now()));
        await (await Post(app.CreateClient(), wx.Url + q2, b2)).AssertProblem(HttpStatusCode.Unauthorized, "wechat_decrypt_failed");
    }

    [Fact]
    public async Task A_mini_program_push_in_json_safe_mode_becomes_an_event_with_its_subscription_choices()
    {
        var tenant = await app.NewTenantAsync();
        var wx = await WeChatPushes.RegisterAsync(tenant.Admin(), tenant.Id, "safe", kind: "miniProgram");
        var openid = NewOpenid();
        var inner = JsonSerializer.Serialize(new
        {
            ToUserName = "gh_mini", FromUserName = openid, CreateTime = Now(), MsgType = "event", Event = "subscribe_msg_popup_event",
            SubscribeMsgPopupEvent = new { List = new[] { new { TemplateId = "TPL_ORDER_SHIPPED", SubscribeStatusString = "accept", PopupScene = "0" } } },
        });
        var (query, body) = wx.Encrypted(inner, json: true);
        Assert.Equal(HttpStatusCode.OK, (await Post(app.CreateClient(), wx.Url + query, body, "application/json")).StatusCode);

        var profile = await tenant.Marketer().WaitForProfile($"openid:{openid}", 1, wx.AppId);
        var evt = profile.GetProperty("recentEvents")[0];
        Assert.Equal("wechat.subscribe_msg_popup", evt.GetProperty("name").GetString());
        var item = evt.GetProperty("properties").GetProperty("items")[0];
        Assert.Equal("TPL_ORDER_SHIPPED", item.GetProperty("templateId").GetString());
        Assert.Equal("accept", item.GetProperty("subscribeStatus").GetString());
    }

    [Fact]
    public async Task Unknown_push_types_are_kept_as_raw_events()
    {
        var tenant = await app.NewTenantAsync();
        var wx = await WeChatPushes.RegisterAsync(tenant.Admin(), tenant.Id, "plaintext");
        var openid = NewOpenid();
        var xml = WeChatPushes.EventXml(openid, "some_future_event", Now(), "<Detail><![CDATA[x]]></Detail>");
        Assert.Equal(HttpStatusCode.OK, (await Post(app.CreateClient(), wx.Url + wx.PlainQuery(), xml)).StatusCode);
        var profile = await tenant.Marketer().WaitForProfile($"openid:{openid}", 1, wx.AppId);
        var evt = profile.GetProperty("recentEvents")[0];
        Assert.Equal("wechat.raw", evt.GetProperty("name").GetString());
        Assert.Equal("some_future_event", evt.GetProperty("properties").GetProperty("event").GetString());
    }

    [Fact]
    public async Task Forged_tampered_misaddressed_and_hostile_pushes_are_refused()
    {
        var tenant = await app.NewTenantAsync();
        var wx = await WeChatPushes.RegisterAsync(tenant.Admin(), tenant.Id, "safe");
        var client = app.CreateClient();
        var inner = WeChatPushes.EventXml(NewOpenid(), "subscribe", Now());

        // Tampered ciphertext: msg_signature covers the ciphertext, so the change is caught before decryption.
        var (query, body) = wx.Encrypted(inner);
        var encrypt = body.Split("<![CDATA[")[2].Split("]]>")[0];
        var tampered = encrypt[..10] + (encrypt[10] == 'A' ? 'B' : 'A') + encrypt[11..];
        await (await Post(client, wx.Url + query, body.Replace(encrypt, tampered))).AssertProblem(HttpStatusCode.Unauthorized, "wechat_bad_signature");

        // Tampered by someone who knows the token (and so can sign) but not the AES key. WeChat's AES-CBC has no MAC,
        // so a flipped byte garbles the plaintext rather than always failing to decrypt: either way it is refused.
        var signedTampered = wx.Resign(query, tampered);
        var refused = await Post(client, wx.Url + signedTampered, body.Replace(encrypt, tampered));
        Assert.True(refused.StatusCode is HttpStatusCode.BadRequest or HttpStatusCode.Unauthorized, $"tampered push answered {(int)refused.StatusCode}");
        Assert.Contains((await refused.Json()).GetProperty("code").GetString(), new[] { "wechat_decrypt_failed", "wechat_malformed" });

        // Encrypted for another app with this app's key.
        var (q3, b3) = wx.Encrypted(inner, receiveId: "wxsomeoneelse000");
        await (await Post(client, wx.Url + q3, b3)).AssertProblem(HttpStatusCode.Unauthorized, "wechat_wrong_app_id");

        // Plaintext to a safe-mode app.
        await (await Post(client, wx.Url + wx.PlainQuery(), inner)).AssertProblem(HttpStatusCode.Unauthorized, "wechat_plaintext_not_allowed");

        // Too old.
        var (q4, b4) = wx.Encrypted(inner, timestamp: (Now() - 3600).ToString());
        await (await Post(client, wx.Url + q4, b4)).AssertProblem(HttpStatusCode.Unauthorized, "wechat_stale_timestamp");

        // Unknown tenant, unknown app.
        await (await Post(client, $"/api/wechat/nosuchtenant/{wx.AppId}" + query, body)).AssertProblem(HttpStatusCode.NotFound, "unknown_wechat_app");
        await (await Post(client, $"/api/wechat/{tenant.Id}/wxnotregistered01" + query, body)).AssertProblem(HttpStatusCode.NotFound, "unknown_wechat_app");
    }

    [Fact]
    public async Task Xml_with_a_DTD_or_broken_xml_is_a_400_and_stores_nothing()
    {
        var tenant = await app.NewTenantAsync();
        var wx = await WeChatPushes.RegisterAsync(tenant.Admin(), tenant.Id, "plaintext");
        var client = app.CreateClient();
        var openid = NewOpenid();
        var xxe = "<?xml version=\"1.0\"?><!DOCTYPE xml [<!ENTITY xxe SYSTEM \"file:///etc/passwd\">]>" +
                  $"<xml><FromUserName>{openid}</FromUserName><CreateTime>{Now()}</CreateTime><MsgType>text</MsgType><Content>&xxe;</Content><MsgId>1</MsgId></xml>";
        await (await Post(client, wx.Url + wx.PlainQuery(), xxe)).AssertProblem(HttpStatusCode.BadRequest, "wechat_dtd_not_allowed");
        await (await Post(client, wx.Url + wx.PlainQuery(), $"<xml><FromUserName>{openid}</FromUserName>")).AssertProblem(HttpStatusCode.BadRequest, "wechat_malformed");
        await (await Post(client, wx.Url + wx.PlainQuery(), new string('x', 300 * 1024))).AssertProblem(HttpStatusCode.RequestEntityTooLarge, "body_too_large");

        await Task.Delay(300);
        Assert.Null(await tenant.Marketer().FindProfile($"openid:{openid}", wx.AppId));
    }

    [Fact]
    public async Task Registering_apps_is_for_admins_validates_everything_and_never_shows_or_stores_secrets_in_clear()
    {
        var tenant = await app.NewTenantAsync();
        var forbidden = await tenant.Marketer().PutAsJsonAsync("/api/wechat-apps/wx0000000000000001", new { kind = "officialAccount", token = "abc123", messageMode = "plaintext" });
        await forbidden.AssertProblem(HttpStatusCode.Forbidden, "wrong_role");

        var invalid = await tenant.Admin().PutAsJsonAsync("/api/wechat-apps/wx0000000000000001", new { kind = "watch", token = "a", encodingAesKey = "short", messageMode = "safe" });
        await invalid.AssertProblem(HttpStatusCode.BadRequest, "invalid_wechat_app");
        // Every problem, each at its field: the kind, the token and (in safe mode) the key.
        Assert.Equal(["encodingAesKey", "kind", "token"],
            (await invalid.Json()).GetProperty("errors").EnumerateArray().Select(e => e.GetProperty("path").GetString()).Order(StringComparer.Ordinal));

        var wx = await WeChatPushes.RegisterAsync(tenant.Admin(), tenant.Id, "compatible");
        var view = await (await tenant.Admin().GetAsync($"/api/wechat-apps/{wx.AppId}")).Content.ReadAsStringAsync();
        Assert.DoesNotContain("secret-", view);
        Assert.Contains("\"hasAppSecret\":true", view);
        Assert.Contains($"/api/wechat/{tenant.Id}/{wx.AppId}", view);

        var row = await app.Service<StorageTables>().WeChatApps.GetEntityAsync<TableEntity>(tenant.Id, wx.AppId);
        Assert.DoesNotContain("secret-", row.Value.GetString("AppSecret"));
        Assert.StartsWith("enc1:", row.Value.GetString("Token"));

        // Another tenant's admin sees none of it.
        var other = await app.NewTenantAsync();
        Assert.Equal(HttpStatusCode.NotFound, (await other.Admin().GetAsync($"/api/wechat-apps/{wx.AppId}")).StatusCode);
    }
}
