using System.Text.Json.Nodes;
using Siyu.Core.Events;
using Siyu.Core.Identities;
using Siyu.Core.WeChat;
using static Siyu.Core.Tests.WeChat.WeChatPushBuilder;

namespace Siyu.Core.Tests.WeChat;

public class WeChatEventMapperTests
{
    private const string AppId = "wx2c2769f8efd9abc2";
    private static readonly DateTimeOffset Received = DateTimeOffset.Parse("2024-05-01T08:00:00Z");

    private static WeChatMessage Parse(string body)
    {
        var result = WeChatMessage.Parse(body);
        Assert.True(result.IsOk, result.Error?.ToString());
        return result.Value;
    }

    private static IncomingEvent Map(string body) => WeChatEventMapper.Map(Parse(body), AppId, Received);

    private static string Event(string evt, params (string, string)[] more) => Xml(
        [("ToUserName", "gh_abc"), ("FromUserName", "oUser1"), ("CreateTime", "1714550400"), ("MsgType", "event"), ("Event", evt), .. more]);

    private static string Message(string type, params (string, string)[] more) => Xml(
        [("ToUserName", "gh_abc"), ("FromUserName", "oUser1"), ("CreateTime", "1714550400"), ("MsgType", type), .. more]);

    private static string? Str(IncomingEvent e, string property) => e.Properties![property]?.GetValue<string>();
    private static decimal Num(IncomingEvent e, string property) => e.Properties![property]!.GetValue<decimal>();

    // ---- common shape ----

    [Fact]
    public void Common_shape_of_every_event()
    {
        var e = Map(Event("subscribe"));
        Assert.Equal(EventType.Track, e.Type);
        Assert.Equal($"wechat:{AppId}", e.Source);
        Assert.Equal(DateTimeOffset.FromUnixTimeSeconds(1714550400), e.Timestamp);
        Assert.Equal(Received, e.ReceivedAt);
        var openId = Assert.Single(e.Identities);
        Assert.Equal(new Identity(IdentityType.OpenId, "oUser1", AppId), openId);
        Assert.Equal($"openid:{AppId}:oUser1", e.PrimaryIdentity.Key);
        Assert.Equal(AppId, Str(e, "appId"));
        Assert.Equal("gh_abc", Str(e, "toUserName"));
        Assert.Null(e.Traits);
    }

    [Fact]
    public void UnionId_is_a_second_identity_and_wins_primary()
    {
        var e = Map(Message("text", ("Content", "hi"), ("MsgId", "1"), ("UnionId", "uUnion1")));
        Assert.Equal(2, e.Identities.Count);
        Assert.Contains(new Identity(IdentityType.UnionId, "uUnion1"), e.Identities);
        Assert.Equal("unionid:uUnion1", e.PrimaryIdentity.Key);

        var lower = WeChatEventMapper.Map(Parse("{\"FromUserName\":\"oMini\",\"MsgType\":\"text\",\"unionid\":\"uUnion2\"}"), AppId, Received);
        Assert.Contains(new Identity(IdentityType.UnionId, "uUnion2"), lower.Identities);
    }

    [Fact]
    public void An_unusable_unionid_is_left_out()
    {
        var e = Map(Message("text", ("UnionId", new string('u', 200))));
        Assert.Single(e.Identities);
    }

    [Fact]
    public void Timestamp_falls_back_to_received_at()
    {
        Assert.Equal(Received, Map(Xml(("FromUserName", "o1"), ("MsgType", "text"))).Timestamp);
        Assert.Equal(Received, Map(Xml(("FromUserName", "o1"), ("MsgType", "text"), ("CreateTime", "yesterday"))).Timestamp);
        Assert.Equal(Received, Map(Xml(("FromUserName", "o1"), ("MsgType", "text"), ("CreateTime", "99999999999999"))).Timestamp);
    }

    [Fact]
    public void Missing_from_user_name_is_a_clear_failure()
    {
        var msg = Parse(Xml(("ToUserName", "gh_abc"), ("MsgType", "text")));
        var result = WeChatEventMapper.TryMap(msg, AppId, Received);
        Assert.False(result.IsOk);
        Assert.Equal(WeChatErrorKind.MissingField, result.Error.Kind);
        Assert.Contains("FromUserName", result.Error.Detail);
        Assert.Contains("FromUserName", Assert.Throws<ArgumentException>(() => WeChatEventMapper.Map(msg, AppId, Received)).Message);

        var tooLong = WeChatEventMapper.TryMap(Parse(Xml(("FromUserName", new string('o', 300)))), AppId, Received);
        Assert.Equal(WeChatErrorKind.FieldTooLong, tooLong.Error!.Kind);
        var bad = WeChatEventMapper.TryMap(Parse(Xml(("FromUserName", "o/1"))), AppId, Received);
        Assert.Equal(WeChatErrorKind.Malformed, bad.Error!.Kind);
    }

    // ---- bounds: what is mapped can be stored ----

    [Theory]
    [InlineData("ToUserName")]
    [InlineData("MsgType")]
    [InlineData("Event")]
    [InlineData("MsgId")]
    [InlineData("CreateTime")]
    [InlineData("Content")]
    public void A_field_over_its_bound_fails_and_one_at_it_maps(string field)
    {
        var bound = WeChatLimits.BoundOf(field);
        (string, string)[] Fields(int length) =>
            [("FromUserName", "oUser1"), ("MsgType", field == "MsgType" ? new string('t', length) : "text"), (field == "MsgType" ? "Content" : field, new string('1', length))];

        Assert.True(WeChatEventMapper.TryMap(Parse(Xml(Fields(bound))), AppId, Received).IsOk);
        var over = WeChatEventMapper.TryMap(Parse(Xml(Fields(bound + 1))), AppId, Received);
        Assert.Equal(WeChatErrorKind.FieldTooLong, over.Error!.Kind);
        Assert.Equal(400, over.Error.HttpStatus);
        Assert.Contains(field, over.Error.Detail);
    }

    [Fact]
    public void Field_names_and_list_item_fields_have_bounds_too()
    {
        var name = new string('N', WeChatLimits.MaxFieldNameLength + 1);
        Assert.Equal(WeChatErrorKind.FieldTooLong, WeChatEventMapper.TryMap(Parse(Message("x", (name, "v"))), AppId, Received).Error!.Kind);
        var popup = Event("subscribe_msg_popup_event").Replace("</xml>",
            $"<SubscribeMsgPopupEvent><List><TemplateId>{new string('T', WeChatLimits.MaxFieldLength + 1)}</TemplateId></List></SubscribeMsgPopupEvent></xml>");
        Assert.Equal(WeChatErrorKind.FieldTooLong, WeChatEventMapper.TryMap(Parse(popup), AppId, Received).Error!.Kind);
    }

    [Fact]
    public void Fields_within_their_bounds_that_add_up_to_too_large_an_event_fail()
    {
        var parts = Enumerable.Range(0, 5).Select(i => ($"P{i}", new string('p', WeChatLimits.MaxFieldLength))).ToArray();
        var result = WeChatEventMapper.TryMap(Parse(Event("future", parts)), AppId, Received);
        Assert.Equal(WeChatErrorKind.TooLarge, result.Error!.Kind);
        Assert.Equal(400, result.Error.HttpStatus);
    }

    [Fact]
    public void Key_fields_are_trimmed_into_the_dedupe_key_and_never_need_escaping()
    {
        Assert.Equal($"wx:{AppId}:evt:oUser1:1714550400:subscribe", Map(Event("\n  subscribe \n")).MessageId);
        Assert.Equal(WeChatErrorKind.Malformed, WeChatEventMapper.TryMap(Parse(Event("sub%scribe")), AppId, Received).Error!.Kind);
        Assert.Equal(WeChatErrorKind.Malformed, WeChatEventMapper.TryMap(Parse(Message("text", ("MsgId", "1~2"))), AppId, Received).Error!.Kind);
        // A unionid that would need escaping in its identity row is left out, like any unusable one.
        Assert.Single(Map(Message("text", ("UnionId", "u#1"))).Identities);
    }

    [Fact]
    public void A_bad_app_id_is_the_callers_mistake()
    {
        var msg = Parse(Message("text"));
        Assert.Throws<ArgumentException>(() => WeChatEventMapper.TryMap(msg, "wx bad/app", Received));
        Assert.ThrowsAny<ArgumentException>(() => WeChatEventMapper.TryMap(msg, "", Received));
    }

    // ---- dedupe keys ----

    [Fact]
    public void Message_id_for_messages_is_the_msg_id()
    {
        Assert.Equal($"wx:{AppId}:msg:6054768590064713728", Map(WeChatCipherTests.SampleMessage).MessageId);
    }

    [Fact]
    public void Message_id_for_events_is_sender_time_and_event()
    {
        Assert.Equal($"wx:{AppId}:evt:oUser1:1714550400:subscribe", Map(Event("subscribe")).MessageId);
        // An event carrying a MsgID (template send result) is still keyed as an event.
        Assert.Equal($"wx:{AppId}:evt:oUser1:1714550400:TEMPLATESENDJOBFINISH",
            Map(Event("TEMPLATESENDJOBFINISH", ("MsgID", "200163836"), ("Status", "success"))).MessageId);
    }

    [Fact]
    public void Retries_of_the_same_push_get_the_same_id_and_different_pushes_do_not()
    {
        var a = Map(Event("CLICK", ("EventKey", "V1001")));
        var retry = WeChatEventMapper.Map(Parse(Event("CLICK", ("EventKey", "V1001"))), AppId, Received.AddSeconds(5));
        Assert.Equal(a.MessageId, retry.MessageId);
        Assert.NotEqual(a.MessageId, Map(Event("VIEW", ("EventKey", "https://x"))).MessageId);
    }

    [Fact]
    public void Message_id_without_create_time_uses_receipt_time()
    {
        var e = Map(Xml(("FromUserName", "o1"), ("MsgType", "event"), ("Event", "unsubscribe")));
        Assert.Equal($"wx:{AppId}:evt:o1:{Received.ToUnixTimeSeconds()}:unsubscribe", e.MessageId);
    }

    // ---- events ----

    [Fact]
    public void Subscribe_plain()
    {
        var e = Map(Event("subscribe", ("EventKey", "")));
        Assert.Equal("wechat.subscribe", e.Name);
        Assert.False(e.Properties!.ContainsKey("scene"));
        Assert.False(e.Properties.ContainsKey("ticket"));
    }

    [Fact]
    public void Subscribe_through_a_qr_code_has_scene_and_ticket()
    {
        var e = Map(Event("subscribe", ("EventKey", "qrscene_123"), ("Ticket", "TICKET1")));
        Assert.Equal("wechat.subscribe", e.Name);
        Assert.Equal("123", Str(e, "scene"));
        Assert.Equal("TICKET1", Str(e, "ticket"));
    }

    [Fact]
    public void Subscribe_with_a_string_scene()
    {
        Assert.Equal("campaign_a", Str(Map(Event("subscribe", ("EventKey", "qrscene_campaign_a"))), "scene"));
    }

    [Fact]
    public void Unsubscribe()
    {
        Assert.Equal("wechat.unsubscribe", Map(Event("unsubscribe", ("EventKey", ""))).Name);
    }

    [Fact]
    public void Scan()
    {
        var e = Map(Event("SCAN", ("EventKey", "123"), ("Ticket", "TICKET2")));
        Assert.Equal("wechat.scan", e.Name);
        Assert.Equal("123", Str(e, "scene"));
        Assert.Equal("TICKET2", Str(e, "ticket"));
    }

    [Fact]
    public void Menu_click()
    {
        var e = Map(Event("CLICK", ("EventKey", "V1001_TODAY_MUSIC")));
        Assert.Equal("wechat.menu_click", e.Name);
        Assert.Equal("V1001_TODAY_MUSIC", Str(e, "eventKey"));
    }

    [Fact]
    public void Menu_view()
    {
        var e = Map(Event("VIEW", ("EventKey", "https://www.example.com/"), ("MenuId", "208396938")));
        Assert.Equal("wechat.menu_view", e.Name);
        Assert.Equal("https://www.example.com/", Str(e, "url"));
        Assert.Equal("208396938", Str(e, "menuId"));
    }

    [Fact]
    public void Location_event_has_numbers()
    {
        var e = Map(Event("LOCATION", ("Latitude", "23.137466"), ("Longitude", "113.352425"), ("Precision", "119.385040")));
        Assert.Equal("wechat.location", e.Name);
        Assert.Equal(23.137466m, Num(e, "latitude"));
        Assert.Equal(113.352425m, Num(e, "longitude"));
        Assert.Equal(119.385040m, Num(e, "precision"));
        Assert.Contains("\"latitude\":23.137466", e.Properties!.ToJsonString());
    }

    [Fact]
    public void Location_values_that_are_not_numbers_are_left_out()
    {
        var e = Map(Event("LOCATION", ("Latitude", "north"), ("Longitude", "NaN"), ("Precision", "")));
        Assert.False(e.Properties!.ContainsKey("latitude"));
        Assert.False(e.Properties.ContainsKey("longitude"));
        Assert.False(e.Properties.ContainsKey("precision"));
    }

    [Fact]
    public void Template_send_finished()
    {
        var e = Map(Event("TEMPLATESENDJOBFINISH", ("MsgID", "200163836"), ("Status", "success")));
        Assert.Equal("wechat.template_send_finished", e.Name);
        Assert.Equal("200163836", Str(e, "msgId"));
        Assert.Equal("success", Str(e, "status"));
    }

    [Fact]
    public void Event_names_match_whatever_their_case()
    {
        Assert.Equal("wechat.scan", Map(Event("scan", ("EventKey", "1"))).Name);
        Assert.Equal("wechat.subscribe", Map(Event("Subscribe")).Name);
    }

    private const string PopupXml = """
        <xml>
          <ToUserName><![CDATA[gh_abc]]></ToUserName>
          <FromUserName><![CDATA[oUser1]]></FromUserName>
          <CreateTime>1610969440</CreateTime>
          <MsgType><![CDATA[event]]></MsgType>
          <Event><![CDATA[subscribe_msg_popup_event]]></Event>
          <SubscribeMsgPopupEvent>
            <List>
              <TemplateId><![CDATA[tplA]]></TemplateId>
              <SubscribeStatusString><![CDATA[accept]]></SubscribeStatusString>
              <PopupScene>2</PopupScene>
            </List>
            <List>
              <TemplateId><![CDATA[tplB]]></TemplateId>
              <SubscribeStatusString><![CDATA[reject]]></SubscribeStatusString>
              <PopupScene>2</PopupScene>
            </List>
          </SubscribeMsgPopupEvent>
        </xml>
        """;

    [Fact]
    public void Subscribe_msg_popup_from_xml()
    {
        var e = Map(PopupXml);
        Assert.Equal("wechat.subscribe_msg_popup", e.Name);
        var items = e.Properties!["items"]!.AsArray();
        Assert.Equal(2, items.Count);
        Assert.Equal("tplA", items[0]!["templateId"]!.GetValue<string>());
        Assert.Equal("accept", items[0]!["subscribeStatus"]!.GetValue<string>());
        Assert.Equal("2", items[0]!["popupScene"]!.GetValue<string>());
        Assert.Equal("reject", items[1]!["subscribeStatus"]!.GetValue<string>());
        Assert.Equal(3, items[1]!.AsObject().Count); // only the fields that are present
    }

    [Fact]
    public void Subscribe_msg_popup_from_json_array()
    {
        var e = Map("""
            {"ToUserName":"gh_abc","FromUserName":"oMini1","CreateTime":1620963428,"MsgType":"event","Event":"subscribe_msg_popup_event",
             "SubscribeMsgPopupEvent":{"List":[{"TemplateId":"tplA","SubscribeStatusString":"accept","PopupScene":"2"},
                                               {"TemplateId":"tplB","SubscribeStatusString":"reject","PopupScene":"2"}]}}
            """);
        Assert.Equal("wechat.subscribe_msg_popup", e.Name);
        var items = e.Properties!["items"]!.AsArray();
        Assert.Equal(["tplA", "tplB"], items.Select(i => i!["templateId"]!.GetValue<string>()));
    }

    [Fact]
    public void Subscribe_msg_change_from_json_single_object()
    {
        var e = Map("""
            {"ToUserName":"gh_abc","FromUserName":"oMini1","CreateTime":1620963428,"MsgType":"event","Event":"subscribe_msg_change_event",
             "SubscribeMsgChangeEvent":{"List":{"TemplateId":"tplA","SubscribeStatusString":"reject"}}}
            """);
        Assert.Equal("wechat.subscribe_msg_change", e.Name);
        var item = Assert.Single(e.Properties!["items"]!.AsArray())!;
        Assert.Equal("tplA", item["templateId"]!.GetValue<string>());
        Assert.Equal("reject", item["subscribeStatus"]!.GetValue<string>());
    }

    [Fact]
    public void Subscribe_msg_change_from_xml()
    {
        var e = Map(Event("subscribe_msg_change_event").Replace("</xml>",
            "<SubscribeMsgChangeEvent><List><TemplateId><![CDATA[tplA]]></TemplateId><SubscribeStatusString><![CDATA[reject]]></SubscribeStatusString></List></SubscribeMsgChangeEvent></xml>"));
        Assert.Equal("wechat.subscribe_msg_change", e.Name);
        Assert.Equal("reject", e.Properties!["items"]![0]!["subscribeStatus"]!.GetValue<string>());
    }

    [Fact]
    public void Subscribe_msg_sent_from_xml_and_json()
    {
        var xml = Map(Event("subscribe_msg_sent_event").Replace("</xml>",
            "<SubscribeMsgSentEvent><List><TemplateId><![CDATA[tplA]]></TemplateId><MsgID><![CDATA[1700827132819554304]]></MsgID>" +
            "<ErrorCode><![CDATA[0]]></ErrorCode><ErrorStatus><![CDATA[success]]></ErrorStatus></List></SubscribeMsgSentEvent></xml>"));
        var json = Map("""
            {"ToUserName":"gh_abc","FromUserName":"oMini1","CreateTime":1620963428,"MsgType":"event","Event":"subscribe_msg_sent_event",
             "SubscribeMsgSentEvent":{"List":{"TemplateId":"tplA","MsgID":1700827132819554304,"ErrorCode":0,"ErrorStatus":"success"}}}
            """);
        foreach (var e in new[] { xml, json })
        {
            Assert.Equal("wechat.subscribe_msg_sent", e.Name);
            var item = Assert.Single(e.Properties!["items"]!.AsArray())!;
            Assert.Equal("tplA", item["templateId"]!.GetValue<string>());
            Assert.Equal("1700827132819554304", item["msgId"]!.GetValue<string>());
            Assert.Equal("0", item["errorCode"]!.GetValue<string>());
            Assert.Equal("success", item["errorStatus"]!.GetValue<string>());
        }
    }

    // ---- messages ----

    [Fact]
    public void Text_message()
    {
        var e = Map(WeChatCipherTests.SampleMessage);
        Assert.Equal("wechat.message.text", e.Name);
        Assert.Equal("abcdteT", Str(e, "content"));
        Assert.Equal("6054768590064713728", Str(e, "msgId"));
        Assert.Equal("gh_10f6c3c3ac5a", Str(e, "toUserName"));
    }

    [Fact]
    public void Image_message()
    {
        var e = Map(Message("image", ("PicUrl", "http://mmbiz.example/pic"), ("MediaId", "media_1"), ("MsgId", "1234567890123456")));
        Assert.Equal("wechat.message.image", e.Name);
        Assert.Equal("http://mmbiz.example/pic", Str(e, "picUrl"));
        Assert.Equal("media_1", Str(e, "mediaId"));
        Assert.Equal($"wx:{AppId}:msg:1234567890123456", e.MessageId);
    }

    [Fact]
    public void Voice_message()
    {
        var e = Map(Message("voice", ("MediaId", "media_v"), ("Format", "amr"), ("Recognition", "腾讯微信团队"), ("MsgId", "1")));
        Assert.Equal("wechat.message.voice", e.Name);
        Assert.Equal("media_v", Str(e, "mediaId"));
        Assert.Equal("amr", Str(e, "format"));
        Assert.Equal("腾讯微信团队", Str(e, "recognition"));
    }

    [Theory]
    [InlineData("video")]
    [InlineData("shortvideo")]
    public void Video_messages(string type)
    {
        var e = Map(Message(type, ("MediaId", "media_1"), ("ThumbMediaId", "thumb_1"), ("MsgId", "1")));
        Assert.Equal($"wechat.message.{type}", e.Name);
        Assert.Equal("media_1", Str(e, "mediaId"));
        Assert.Equal("thumb_1", Str(e, "thumbMediaId"));
    }

    [Fact]
    public void Location_message()
    {
        var e = Map(Message("location", ("Location_X", "23.134521"), ("Location_Y", "113.358803"), ("Scale", "20"), ("Label", "位置信息"), ("MsgId", "1")));
        Assert.Equal("wechat.message.location", e.Name);
        Assert.Equal(23.134521m, Num(e, "latitude"));
        Assert.Equal(113.358803m, Num(e, "longitude"));
        Assert.Equal(20m, Num(e, "scale"));
        Assert.Equal("位置信息", Str(e, "label"));
    }

    [Fact]
    public void Link_message()
    {
        var e = Map(Message("link", ("Title", "公众平台官网链接"), ("Description", "desc"), ("Url", "https://example.com/a"), ("MsgId", "1")));
        Assert.Equal("wechat.message.link", e.Name);
        Assert.Equal("公众平台官网链接", Str(e, "title"));
        Assert.Equal("desc", Str(e, "description"));
        Assert.Equal("https://example.com/a", Str(e, "url"));
    }

    [Fact]
    public void Mini_program_json_text_message()
    {
        var e = Map("{\"ToUserName\":\"gh_mini\",\"FromUserName\":\"oMini1\",\"CreateTime\":1700000000,\"MsgType\":\"text\",\"Content\":\"hi\",\"MsgId\":24000000000000002}");
        Assert.Equal("wechat.message.text", e.Name);
        Assert.Equal("hi", Str(e, "content"));
        Assert.Equal($"wx:{AppId}:msg:24000000000000002", e.MessageId);
        Assert.Equal(DateTimeOffset.FromUnixTimeSeconds(1700000000), e.Timestamp);
    }

    // ---- anything else ----

    [Fact]
    public void Unknown_event_becomes_raw_with_every_field()
    {
        var e = Map(Event("scancode_push", ("EventKey", "rselfmenu_0_1")).Replace("</xml>",
            "<ScanCodeInfo><ScanType>qrcode</ScanType><ScanResult>1</ScanResult></ScanCodeInfo></xml>"));
        Assert.Equal("wechat.raw", e.Name);
        Assert.Equal("event", Str(e, "msgType"));
        Assert.Equal("scancode_push", Str(e, "event"));
        var fields = e.Properties!["fields"]!.AsObject();
        Assert.Equal("rselfmenu_0_1", fields["EventKey"]!.GetValue<string>());
        Assert.Equal("qrcode", fields["ScanCodeInfo.ScanType"]!.GetValue<string>());
        Assert.Equal("oUser1", fields["FromUserName"]!.GetValue<string>());
        Assert.Equal(AppId, Str(e, "appId"));
        Assert.Equal($"wx:{AppId}:evt:oUser1:1714550400:scancode_push", e.MessageId);
    }

    [Fact]
    public void Unknown_message_type_becomes_raw()
    {
        var e = Map(Message("miniprogrampage", ("Title", "t"), ("AppId", "wxmini"), ("PagePath", "pages/index"), ("MsgId", "77")));
        Assert.Equal("wechat.raw", e.Name);
        Assert.Equal("miniprogrampage", Str(e, "msgType"));
        Assert.Null(Str(e, "event"));
        Assert.True(e.Properties!.ContainsKey("event"));
        Assert.Equal("pages/index", e.Properties["fields"]!["PagePath"]!.GetValue<string>());
        Assert.Equal($"wx:{AppId}:msg:77", e.MessageId);
    }

    [Fact]
    public void Missing_msg_type_becomes_raw()
    {
        var e = Map(Xml(("FromUserName", "o1"), ("Something", "x")));
        Assert.Equal("wechat.raw", e.Name);
        Assert.Equal("x", e.Properties!["fields"]!["Something"]!.GetValue<string>());
    }

    [Fact]
    public void Properties_serialise()
    {
        // Every property tree must be valid JSON: it is queued as such.
        foreach (var body in new[] { PopupXml, Event("LOCATION", ("Latitude", "1.5")), Message("whatever", ("A", "1")) })
            Assert.NotNull(JsonNode.Parse(Map(body).Properties!.ToJsonString()));
    }
}
