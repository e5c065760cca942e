using System.Net;
using System.Text;
using Siyu.Core.Identities;
using Siyu.Core.WeChat;
using Siyu.IntegrationTests.Infrastructure;

namespace Siyu.IntegrationTests.WeChat;

/// <summary>
/// Every field of a push has a bound, checked before the push is acknowledged: WeChat never sends again a push it was
/// told succeeded, so what is answered "success" must be storable, and what would not be is refused instead.
/// </summary>
public sealed class WeChatPushLimitTests(WeChatGuardApp app) : IClassFixture<WeChatGuardApp>
{
    private static string NewOpenid() => "o" + Guid.NewGuid().ToString("N")[..20];

    private static string Xml(params (string Name, string Value)[] fields) =>
        "<xml>" + string.Concat(fields.Select(f => $"<{f.Name}><![CDATA[{f.Value}]]></{f.Name}>")) + "</xml>";

    private static string Long(string prefix, int length) => prefix + new string('x', length - prefix.Length);

    /// <summary>Each bounded field, and ten times its bound. The long value starts with a marker: if any of it reached a queue, it shows.</summary>
    public static TheoryData<string, int> TenTimesTheBound() => new()
    {
        { "FromUserName", 10 * IdentityRules.MaxValueLength },
        { "ToUserName", 10 * WeChatLimits.BoundOf("ToUserName") },
        { "MsgType", 10 * WeChatLimits.BoundOf("MsgType") },
        { "Event", 10 * WeChatLimits.BoundOf("Event") },
        { "MsgId", 10 * WeChatLimits.BoundOf("MsgId") },
        { "CreateTime", 10 * WeChatLimits.BoundOf("CreateTime") },
        { "Content", 10 * WeChatLimits.MaxFieldLength },
        { "EventKey", 10 * WeChatLimits.MaxFieldLength },
        { "field name", 10 * WeChatLimits.MaxFieldNameLength },
        { "TemplateId of a list item", 10 * WeChatLimits.MaxFieldLength },
    };

    [Theory]
    [MemberData(nameof(TenTimesTheBound))]
    public async Task A_field_at_ten_times_its_bound_is_refused_before_the_acknowledgement_and_nothing_is_queued(string field, int n)
    {
        var tenant = await app.NewTenantAsync();
        var wx = await WeChatPushes.RegisterAsync(tenant.Admin(), tenant.Id, "plaintext");
        var openid = NewOpenid();
        var marker = "M" + Guid.NewGuid().ToString("N");
        var now = app.Timestamp();
        var xml = field switch
        {
            "FromUserName" => Xml(("ToUserName", "gh_test"), ("FromUserName", Long(marker, n)), ("CreateTime", now), ("MsgType", "event"), ("Event", "subscribe")),
            "ToUserName" => Xml(("ToUserName", Long(marker, n)), ("FromUserName", openid), ("CreateTime", now), ("MsgType", "event"), ("Event", "subscribe")),
            "MsgType" => Xml(("ToUserName", "gh_test"), ("FromUserName", openid), ("CreateTime", now), ("MsgType", Long(marker, n))),
            "Event" => Xml(("ToUserName", "gh_test"), ("FromUserName", openid), ("CreateTime", now), ("MsgType", "event"), ("Event", Long(marker, n))),
            "MsgId" => Xml(("ToUserName", "gh_test"), ("FromUserName", openid), ("CreateTime", now), ("MsgType", "text"), ("Content", "hi"), ("MsgId", Long(marker, n))),
            "CreateTime" => Xml(("ToUserName", "gh_test"), ("FromUserName", openid), ("CreateTime", Long(marker, n)), ("MsgType", "event"), ("Event", "subscribe")),
            "Content" => Xml(("ToUserName", "gh_test"), ("FromUserName", openid), ("CreateTime", now), ("MsgType", "text"), ("Content", Long(marker, n)), ("MsgId", "1")),
            "EventKey" => Xml(("ToUserName", "gh_test"), ("FromUserName", openid), ("CreateTime", now), ("MsgType", "event"), ("Event", "CLICK"), ("EventKey", Long(marker, n))),
            "field name" => Xml(("ToUserName", "gh_test"), ("FromUserName", openid), ("CreateTime", now), ("MsgType", "event"), ("Event", "some_future_event"), (Long(marker, n), "x")),
            _ => Xml(("ToUserName", "gh_test"), ("FromUserName", openid), ("CreateTime", now), ("MsgType", "event"), ("Event", "subscribe_msg_popup_event"))
                .Replace("</xml>", $"<SubscribeMsgPopupEvent><List><TemplateId><![CDATA[{Long(marker, n)}]]></TemplateId>" +
                                   "<SubscribeStatusString><![CDATA[accept]]></SubscribeStatusString></List></SubscribeMsgPopupEvent></xml>"),
        };

        var response = await app.CreateClient().PostAsync(wx.Url + wx.PlainQuery(now), new StringContent(xml, Encoding.UTF8, "text/xml"));

        await response.AssertProblem(HttpStatusCode.BadRequest, "wechat_field_too_long");
        Assert.Empty(app.Queues.IngestMessagesWith(marker));
    }

    [Fact]
    public async Task A_nonce_at_ten_times_its_bound_is_refused()
    {
        var tenant = await app.NewTenantAsync();
        var wx = await WeChatPushes.RegisterAsync(tenant.Admin(), tenant.Id, "plaintext");
        var openid = NewOpenid();
        var now = app.Timestamp();
        var nonce = new string('7', 10 * WeChatLimits.MaxNonceLength);
        var response = await app.CreateClient().PostAsync(wx.Url + wx.PlainQuery(now, nonce),
            new StringContent(WeChatPushes.EventXml(openid, "subscribe", long.Parse(now)), Encoding.UTF8, "text/xml"));
        await response.AssertProblem(HttpStatusCode.BadRequest, "wechat_field_too_long");
        Assert.Empty(app.Queues.IngestMessagesWith(openid));
    }

    [Fact]
    public async Task Fields_each_inside_their_bound_that_make_too_large_an_event_together_are_refused()
    {
        var tenant = await app.NewTenantAsync();
        var wx = await WeChatPushes.RegisterAsync(tenant.Admin(), tenant.Id, "plaintext");
        var openid = NewOpenid();
        var now = app.Timestamp();
        // A raw event keeps every field: five of 4,000 characters make 20 KB, over the 16 KiB an event may have.
        var many = Enumerable.Range(0, 5).Select(i => ($"Part{i}", new string((char)('a' + i), 4_000))).ToArray();
        var xml = Xml([("ToUserName", "gh_test"), ("FromUserName", openid), ("CreateTime", now), ("MsgType", "event"), ("Event", "some_future_event"), .. many]);

        var response = await app.CreateClient().PostAsync(wx.Url + wx.PlainQuery(now), new StringContent(xml, Encoding.UTF8, "text/xml"));

        await response.AssertProblem(HttpStatusCode.BadRequest, "wechat_too_large");
        Assert.Empty(app.Queues.IngestMessagesWith(openid));
    }

    /// <summary>
    /// Key fields holding characters a table key must escape (one becomes five). At these lengths the first two make
    /// keys longer than storage takes (the openid's identity key, the event's row key); any of them could with others.
    /// </summary>
    public static TheoryData<string, string> KeyUnsafe() => new()
    {
        { "FromUserName", "o" + new string('#', IdentityRules.MaxValueLength - 1) },
        { "Event", new string('#', WeChatLimits.BoundOf("Event")) },
        { "MsgId", "12?34" },
        { "MsgType", "text/plain" },
    };

    [Theory]
    [MemberData(nameof(KeyUnsafe))]
    public async Task A_key_field_with_characters_a_table_key_must_escape_is_refused(string field, string value)
    {
        var tenant = await app.NewTenantAsync();
        var wx = await WeChatPushes.RegisterAsync(tenant.Admin(), tenant.Id, "plaintext");
        var openid = field == "FromUserName" ? value : Long(NewOpenid(), IdentityRules.MaxValueLength);
        var now = app.Timestamp();
        var xml = field switch
        {
            "MsgId" => Xml(("ToUserName", "gh_test"), ("FromUserName", openid), ("CreateTime", now), ("MsgType", "text"), ("Content", "hi"), ("MsgId", value)),
            "MsgType" => Xml(("ToUserName", "gh_test"), ("FromUserName", openid), ("CreateTime", now), ("MsgType", value)),
            _ => Xml(("ToUserName", "gh_test"), ("FromUserName", openid), ("CreateTime", now), ("MsgType", "event"), ("Event", field == "Event" ? value : "subscribe")),
        };

        var response = await app.CreateClient().PostAsync(wx.Url + wx.PlainQuery(now), new StringContent(xml, Encoding.UTF8, "text/xml"));

        await response.AssertProblem(HttpStatusCode.BadRequest, "wechat_malformed");
        Assert.Empty(app.Queues.IngestMessagesWith(openid));
    }

    [Fact]
    public async Task A_unionid_at_ten_times_its_bound_is_left_out_and_the_push_is_stored_without_it()
    {
        var tenant = await app.NewTenantAsync();
        var wx = await WeChatPushes.RegisterAsync(tenant.Admin(), tenant.Id, "plaintext");
        var openid = NewOpenid();
        var now = app.Timestamp();
        var xml = Xml(("ToUserName", "gh_test"), ("FromUserName", openid), ("CreateTime", now), ("MsgType", "text"), ("Content", "hi"),
            ("MsgId", "42"), ("UnionId", new string('u', 10 * IdentityRules.MaxValueLength)));

        var response = await app.CreateClient().PostAsync(wx.Url + wx.PlainQuery(now), new StringContent(xml, Encoding.UTF8, "text/xml"));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var profile = await tenant.Marketer().WaitForProfile($"openid:{openid}", 1, wx.AppId);
        Assert.DoesNotContain(profile.GetProperty("identities").EnumerateArray(), i => i.GetProperty("type").GetString() == "unionid");
    }

    [Fact]
    public async Task Pushes_with_every_field_at_its_bound_are_acknowledged_and_stored()
    {
        var tenant = await app.NewTenantAsync();
        var wx = await WeChatPushes.RegisterAsync(tenant.Admin(), tenant.Id, "plaintext");
        var client = app.CreateClient();
        var openid = Long("o", IdentityRules.MaxValueLength);
        var createTime = app.Timestamp().PadLeft(WeChatLimits.BoundOf("CreateTime"), '0');
        var toUser = Long("gh_", WeChatLimits.BoundOf("ToUserName"));

        // A text message: the longest ids, and a Chinese text at the field bound (three bytes a character).
        var content = string.Concat(Enumerable.Repeat("优惠券", WeChatLimits.MaxFieldLength / 3)) + "好";
        var msgId = new string('9', WeChatLimits.BoundOf("MsgId"));
        var text = Xml(("ToUserName", toUser), ("FromUserName", openid), ("CreateTime", createTime), ("MsgType", "text"), ("Content", content),
            ("MsgId", msgId), ("UnionId", Long("u", IdentityRules.MaxValueLength)));
        var now = app.Timestamp();
        Assert.Equal(HttpStatusCode.OK, (await client.PostAsync(wx.Url + wx.PlainQuery(now), new StringContent(text, Encoding.UTF8, "text/xml"))).StatusCode);

        // A raw event: the longest event name and field name, and fields at the bound up to nearly the event's size.
        var evt = Long("future_", WeChatLimits.BoundOf("Event"));
        var fields = Enumerable.Range(0, 3).Select(i => (Long($"F{i}", WeChatLimits.MaxFieldNameLength), new string((char)('a' + i), WeChatLimits.MaxFieldLength))).ToArray();
        var raw = Xml([("ToUserName", toUser), ("FromUserName", openid), ("CreateTime", createTime), ("MsgType", "event"), ("Event", evt), .. fields]);
        Assert.Equal(HttpStatusCode.OK, (await client.PostAsync(wx.Url + wx.PlainQuery(now), new StringContent(raw, Encoding.UTF8, "text/xml"))).StatusCode);

        var profile = await tenant.Marketer().WaitForProfile($"openid:{openid}", 2, wx.AppId);
        var id = profile.GetProperty("id").GetString();
        var stored = (await (await tenant.Marketer().GetAsync($"/api/profiles/{id}/events")).Json()).GetProperty("events").EnumerateArray().ToList();
        Assert.Equal(content, stored.Single(e => e.GetProperty("name").GetString() == "wechat.message.text").GetProperty("properties").GetProperty("content").GetString());
        var rawProperties = stored.Single(e => e.GetProperty("name").GetString() == "wechat.raw").GetProperty("properties");
        Assert.Equal(evt, rawProperties.GetProperty("event").GetString());
        Assert.Equal(fields[2].Item2, rawProperties.GetProperty("fields").GetProperty(fields[2].Item1).GetString());
        Assert.Contains(profile.GetProperty("identities").EnumerateArray(),
            i => i.GetProperty("type").GetString() == "unionid" && i.GetProperty("value").GetString() == Long("u", IdentityRules.MaxValueLength));
    }

    [Fact]
    public async Task A_signed_push_whose_bytes_are_not_UTF8_is_wechat_malformed_and_nothing_is_queued()
    {
        var tenant = await app.NewTenantAsync();
        var wx = await WeChatPushes.RegisterAsync(tenant.Admin(), tenant.Id, "plaintext");
        var openid = NewOpenid();
        var xml = Encoding.UTF8.GetBytes(WeChatPushes.EventXml(openid, "subscribe", long.Parse(app.Timestamp())));
        var bad = xml.Concat(new byte[] { 0xC3, 0x28, 0xFF }).ToArray(); // an invalid two-byte sequence, then a byte UTF-8 never uses
        var content = new ByteArrayContent(bad);
        content.Headers.ContentType = new("text/xml");

        var response = await app.CreateClient().PostAsync(wx.Url + wx.PlainQuery(app.Timestamp()), content);

        await response.AssertProblem(HttpStatusCode.BadRequest, "wechat_malformed");
        Assert.Empty(app.Queues.IngestMessagesWith(openid));
    }
}
