using Siyu.Core.WeChat;

namespace Siyu.Core.Tests.WeChat;

public class WeChatInboundTests
{
    private static readonly DateTimeOffset Now = WeChatPushBuilder.At;
    private static readonly TimeSpan Skew = TimeSpan.FromMinutes(5);

    private const string TextMessage =
        "<xml><ToUserName><![CDATA[gh_1]]></ToUserName><FromUserName><![CDATA[oUser1]]></FromUserName>" +
        "<CreateTime>1700000000</CreateTime><MsgType><![CDATA[text]]></MsgType><Content><![CDATA[你好]]></Content>" +
        "<MsgId>24000000000000001</MsgId></xml>";

    private const string JsonTextMessage =
        "{\"ToUserName\":\"gh_mini\",\"FromUserName\":\"oMini1\",\"CreateTime\":1700000000,\"MsgType\":\"text\",\"Content\":\"hi\",\"MsgId\":24000000000000002}";

    private static WeChatMessage Ok(WeChatResult<WeChatMessage> result)
    {
        Assert.True(result.IsOk, result.Error?.ToString());
        return result.Value;
    }

    private static WeChatError Fails<T>(WeChatResult<T> result, WeChatErrorKind kind, int status) where T : class
    {
        Assert.False(result.IsOk, $"expected {kind}, got {result}");
        Assert.Equal(kind, result.Error.Kind);
        Assert.Equal(status, result.Error.HttpStatus);
        Assert.False(string.IsNullOrWhiteSpace(result.Error.Detail));
        return result.Error;
    }

    private static WeChatResult<WeChatMessage> Open(WeChatApp app, Push push, DateTimeOffset? now = null, TimeSpan? skew = null) =>
        WeChatInbound.OpenPush(app, push.Query, push.Body, now ?? Now, skew ?? Skew);

    // ---- the published sample, end to end ----

    [Fact]
    public void Opens_the_published_safe_mode_sample()
    {
        var app = TestApps.Official(WeChatMessageMode.Safe);
        // The sample's envelope also repeats the plaintext fields; only Encrypt is signed and trusted.
        var body =
            "<xml><ToUserName><![CDATA[gh_10f6c3c3ac5a]]></ToUserName><FromUserName><![CDATA[oyORnuP8q7ou2gfYjqLzSIWZf0rs]]></FromUserName>" +
            "<CreateTime>1409735668</CreateTime><MsgType><![CDATA[text]]></MsgType><Content><![CDATA[abcdteT]]></Content>" +
            "<MsgId>6054768590064713728</MsgId><Encrypt><![CDATA[" + WeChatSignatureTests.SampleEncrypt + "]]></Encrypt></xml>";
        var query = new WeChatPushQuery(null, WeChatSignatureTests.SampleTimestamp, WeChatSignatureTests.SampleNonce, "aes",
            WeChatSignatureTests.SampleMsgSignature);

        var m = Ok(WeChatInbound.OpenPush(app, query, body, DateTimeOffset.FromUnixTimeSeconds(1409735669), Skew));
        Assert.Equal("oyORnuP8q7ou2gfYjqLzSIWZf0rs", m.FromUserName);
        Assert.Equal("abcdteT", m.Get("Content"));
        Assert.Equal("6054768590064713728", m.MsgId);
        Assert.Null(m.Encrypt); // the decrypted message, not the envelope

        // A 2014 timestamp is rejected today, unless the check is off.
        Fails(WeChatInbound.OpenPush(app, query, body, Now, Skew), WeChatErrorKind.StaleTimestamp, 401);
        Assert.True(WeChatInbound.OpenPush(app, query, body, Now, TimeSpan.Zero).IsOk);
    }

    // ---- plaintext mode ----

    [Fact]
    public void Plaintext_mode_opens_a_signed_push()
    {
        var app = TestApps.Official(WeChatMessageMode.Plaintext);
        var m = Ok(Open(app, new WeChatPushBuilder(app).Plain(TextMessage)));
        Assert.Equal("oUser1", m.FromUserName);
        Assert.Equal("你好", m.Get("Content"));
    }

    [Fact]
    public void Plaintext_mode_rejects_a_bad_signature()
    {
        var app = TestApps.Official(WeChatMessageMode.Plaintext);
        var push = new WeChatPushBuilder(app).Plain(TextMessage);
        Assert.Contains("does not match",
            Fails(Open(app, push with { Query = push.Query with { Signature = new string('0', 40) } }), WeChatErrorKind.BadSignature, 401).Detail);
        Assert.Contains("missing",
            Fails(Open(app, push with { Query = push.Query with { Signature = null } }), WeChatErrorKind.BadSignature, 401).Detail);
        Fails(Open(app, push with { Query = push.Query with { Nonce = "other" } }), WeChatErrorKind.BadSignature, 401);
        Fails(Open(app, push with { Query = push.Query with { Timestamp = null } }), WeChatErrorKind.BadSignature, 401);
    }

    [Fact]
    public void Signature_is_checked_before_the_body_is_parsed()
    {
        var app = TestApps.Official(WeChatMessageMode.Plaintext);
        var push = new WeChatPushBuilder(app).Plain("<!DOCTYPE x><xml/>");
        Fails(Open(app, push with { Query = push.Query with { Signature = "bad" } }), WeChatErrorKind.BadSignature, 401);
    }

    [Fact]
    public void Plaintext_mode_refuses_dtd_and_malformed_bodies()
    {
        var app = TestApps.Official(WeChatMessageMode.Plaintext);
        var builder = new WeChatPushBuilder(app);
        var xxe = "<!DOCTYPE xml [<!ENTITY xxe SYSTEM \"file:///etc/passwd\">]><xml><Content>&xxe;</Content></xml>";
        Fails(Open(app, builder.Plain(xxe)), WeChatErrorKind.DtdNotAllowed, 400);
        Fails(Open(app, builder.Plain("<xml><A>")), WeChatErrorKind.Malformed, 400);
        Fails(Open(app, builder.Plain("")), WeChatErrorKind.Malformed, 400);
    }

    // ---- safe mode ----

    [Fact]
    public void Safe_mode_opens_an_encrypted_push()
    {
        var app = TestApps.Official(WeChatMessageMode.Safe);
        var m = Ok(Open(app, new WeChatPushBuilder(app).Encrypted(TextMessage)));
        Assert.Equal("oUser1", m.FromUserName);
        Assert.Equal("你好", m.Get("Content"));
        Assert.Equal(WeChatFormat.Xml, m.Format);
    }

    [Fact]
    public void Safe_mode_refuses_plaintext()
    {
        var app = TestApps.Official(WeChatMessageMode.Safe);
        var builder = new WeChatPushBuilder(app);
        Fails(Open(app, builder.Plain(TextMessage)), WeChatErrorKind.PlaintextNotAllowed, 401);

        var push = builder.Encrypted(TextMessage);
        Fails(Open(app, push with { Query = push.Query with { EncryptType = "raw" } }), WeChatErrorKind.PlaintextNotAllowed, 401);
        Assert.True(Open(app, push with { Query = push.Query with { EncryptType = "AES" } }).IsOk);
    }

    [Fact]
    public void Safe_mode_checks_msg_signature_not_signature()
    {
        var app = TestApps.Official(WeChatMessageMode.Safe);
        var push = new WeChatPushBuilder(app).Encrypted(TextMessage);
        Assert.Contains("msg_signature is missing",
            Fails(Open(app, push with { Query = push.Query with { MsgSignature = null } }), WeChatErrorKind.BadSignature, 401).Detail);
        Fails(Open(app, push with { Query = push.Query with { MsgSignature = push.Query.Signature } }), WeChatErrorKind.BadSignature, 401);
        Assert.True(Open(app, push with { Query = push.Query with { Signature = null } }).IsOk);
    }

    [Fact]
    public void Safe_mode_rejects_a_swapped_ciphertext()
    {
        var app = TestApps.Official(WeChatMessageMode.Safe);
        var builder = new WeChatPushBuilder(app);
        var original = builder.Encrypted(TextMessage);
        var other = builder.Encrypted(TextMessage.Replace("你好", "transfer all"));
        // msg_signature covers Encrypt: another (validly encrypted) payload under the old signature fails.
        Fails(Open(app, other with { Query = original.Query }), WeChatErrorKind.BadSignature, 401);
    }

    [Fact]
    public void Safe_mode_tampered_payload_fails_to_decrypt()
    {
        var app = TestApps.Official(WeChatMessageMode.Safe);
        var builder = new WeChatPushBuilder(app);
        var bytes = Convert.FromBase64String(new WeChatCipher(app.EncodingAesKey).Encrypt(TextMessage, app.AppId));
        bytes[0] ^= 0x80; // corrupts the length field
        // Signed correctly over the tampered value, as by someone who has the token but not the key.
        Fails(Open(app, builder.EncryptedRaw(Convert.ToBase64String(bytes))), WeChatErrorKind.DecryptFailed, 401);
        Fails(Open(app, builder.EncryptedRaw("!!not-base64!!")), WeChatErrorKind.DecryptFailed, 401);
    }

    [Fact]
    public void Safe_mode_rejects_a_payload_encrypted_with_another_key()
    {
        var app = TestApps.Official(WeChatMessageMode.Safe);
        var push = new WeChatPushBuilder(app).Encrypted(TextMessage, key: TestApps.OtherKey);
        Fails(Open(app, push), WeChatErrorKind.DecryptFailed, 401);
    }

    [Fact]
    public void Safe_mode_rejects_a_payload_for_another_app()
    {
        var app = TestApps.Official(WeChatMessageMode.Safe);
        var push = new WeChatPushBuilder(app).Encrypted(TextMessage, receiveId: "wxsomeoneelse00001");
        Assert.Contains("wxsomeoneelse00001", Fails(Open(app, push), WeChatErrorKind.WrongAppId, 401).Detail);
    }

    [Fact]
    public void Safe_mode_needs_the_encrypt_field()
    {
        var app = TestApps.Official(WeChatMessageMode.Safe);
        var push = new WeChatPushBuilder(app).Encrypted(TextMessage);
        Fails(Open(app, push with { Body = TextMessage }), WeChatErrorKind.MissingField, 400);
        Fails(Open(app, push with { Body = "<xml><Encrypt></Encrypt></xml>" }), WeChatErrorKind.MissingField, 400);
    }

    [Fact]
    public void Safe_mode_refuses_a_dtd_envelope_and_a_dtd_inside_the_ciphertext()
    {
        var app = TestApps.Official(WeChatMessageMode.Safe);
        var builder = new WeChatPushBuilder(app);
        Fails(Open(app, new Push(builder.Encrypted(TextMessage).Query, "<!DOCTYPE xml [<!ENTITY e \"x\">]><xml><Encrypt>&e;</Encrypt></xml>")),
            WeChatErrorKind.DtdNotAllowed, 400);

        // Authentic (signed, decrypts for this app) and still refused: the decrypted text gets the same hardened parser.
        var inner = "<!DOCTYPE xml [<!ENTITY xxe SYSTEM \"file:///etc/passwd\">]><xml><FromUserName>&xxe;</FromUserName></xml>";
        var error = Fails(Open(app, builder.Encrypted(inner)), WeChatErrorKind.DtdNotAllowed, 400);
        Assert.StartsWith("decrypted message", error.Detail);
        Fails(Open(app, builder.Encrypted("<xml><A>")), WeChatErrorKind.Malformed, 400);
    }

    [Fact]
    public void Key_rotation_the_previous_key_still_opens()
    {
        var rotated = TestApps.Official(WeChatMessageMode.Safe) with { EncodingAesKey = TestApps.OtherKey, PreviousEncodingAesKey = TestApps.Key };
        var builder = new WeChatPushBuilder(rotated);

        Assert.Equal("oUser1", Ok(Open(rotated, builder.Encrypted(TextMessage, key: TestApps.Key))).FromUserName);       // old key
        Assert.Equal("oUser1", Ok(Open(rotated, builder.Encrypted(TextMessage, key: TestApps.OtherKey))).FromUserName);  // new key
        Fails(Open(rotated, builder.Encrypted(TextMessage, key: TestApps.OldKey)), WeChatErrorKind.DecryptFailed, 401);

        var retired = rotated with { PreviousEncodingAesKey = null };
        Fails(Open(retired, builder.Encrypted(TextMessage, key: TestApps.Key)), WeChatErrorKind.DecryptFailed, 401);
    }

    [Fact]
    public void An_invalid_configured_key_is_a_configuration_error_not_a_401()
    {
        var app = TestApps.Official(WeChatMessageMode.Safe);
        var push = new WeChatPushBuilder(app).Encrypted(TextMessage);
        var broken = app with { EncodingAesKey = "short" };
        Assert.Throws<InvalidOperationException>(() => Open(broken, push));
        Assert.NotEmpty(broken.Validate());
        Assert.Empty(app.Validate());
    }

    // ---- compatible mode ----

    [Fact]
    public void Compatible_mode_takes_either_path()
    {
        var app = TestApps.Official(WeChatMessageMode.Compatible);
        var builder = new WeChatPushBuilder(app);
        Assert.Equal("oUser1", Ok(Open(app, builder.Plain(TextMessage))).FromUserName);
        Assert.Equal("oUser1", Ok(Open(app, builder.Encrypted(TextMessage))).FromUserName);

        // With encrypt_type=aes it is held to the safe rules.
        var push = builder.Encrypted(TextMessage, receiveId: "wxother");
        Fails(Open(app, push), WeChatErrorKind.WrongAppId, 401);
        var plain = builder.Plain(TextMessage);
        Fails(Open(app, plain with { Query = plain.Query with { EncryptType = "aes" } }), WeChatErrorKind.MissingField, 400);
    }

    [Fact]
    public void Plaintext_mode_ignores_encrypt_type()
    {
        var app = TestApps.Official(WeChatMessageMode.Plaintext);
        var push = new WeChatPushBuilder(app).Plain(TextMessage);
        Assert.True(Open(app, push with { Query = push.Query with { EncryptType = "aes" } }).IsOk);
    }

    // ---- mini-program JSON ----

    [Fact]
    public void Mini_program_json_plain()
    {
        var app = TestApps.MiniProgram(WeChatMessageMode.Plaintext);
        var m = Ok(Open(app, new WeChatPushBuilder(app).Plain(JsonTextMessage)));
        Assert.Equal(WeChatFormat.Json, m.Format);
        Assert.Equal("oMini1", m.FromUserName);
        Assert.Equal("24000000000000002", m.MsgId);
    }

    [Fact]
    public void Mini_program_json_safe()
    {
        var app = TestApps.MiniProgram(WeChatMessageMode.Safe);
        var builder = new WeChatPushBuilder(app);
        var m = Ok(Open(app, builder.Encrypted(JsonTextMessage, jsonEnvelope: true)));
        Assert.Equal(WeChatFormat.Json, m.Format);
        Assert.Equal("oMini1", m.FromUserName);
        Assert.Equal(1700000000L, m.CreateTime);

        // A JSON envelope around XML content (and the reverse) both open: each layer is detected on its own.
        Assert.Equal("oUser1", Ok(Open(app, builder.Encrypted(TextMessage, jsonEnvelope: true))).FromUserName);
        Assert.Equal("oMini1", Ok(Open(app, builder.Encrypted(JsonTextMessage))).FromUserName);
        Fails(Open(app, builder.Encrypted(JsonTextMessage, receiveId: TestApps.Official(WeChatMessageMode.Safe).AppId, jsonEnvelope: true)),
            WeChatErrorKind.WrongAppId, 401);
    }

    // ---- timestamp skew ----

    [Theory]
    [InlineData(0, true)]
    [InlineData(300, true)]    // exactly at the limit
    [InlineData(-300, true)]
    [InlineData(301, false)]
    [InlineData(-301, false)]
    [InlineData(86_400, false)]
    public void Skew_check(int secondsFromPush, bool accepted)
    {
        var app = TestApps.Official(WeChatMessageMode.Compatible);
        var builder = new WeChatPushBuilder(app);
        var now = Now.AddSeconds(secondsFromPush);
        foreach (var push in new[] { builder.Plain(TextMessage), builder.Encrypted(TextMessage) })
        {
            var result = Open(app, push, now, Skew);
            if (accepted) Assert.True(result.IsOk, result.Error?.ToString());
            else Fails(result, WeChatErrorKind.StaleTimestamp, 401);
        }
    }

    [Fact]
    public void Zero_skew_disables_the_check()
    {
        var app = TestApps.Official(WeChatMessageMode.Plaintext);
        var push = new WeChatPushBuilder(app).Plain(TextMessage);
        Assert.True(Open(app, push, Now.AddYears(3), TimeSpan.Zero).IsOk);
        Fails(Open(app, push, Now.AddYears(3), Skew), WeChatErrorKind.StaleTimestamp, 401);
    }

    [Theory]
    [InlineData("soon")]
    [InlineData("-5")]
    [InlineData("99999999999999999999999")]
    [InlineData("9223372036854775807")]
    public void A_timestamp_that_is_not_a_sane_unix_time_is_stale(string timestamp)
    {
        var app = TestApps.Official(WeChatMessageMode.Plaintext);
        var push = new WeChatPushBuilder(app) { Timestamp = timestamp }.Plain(TextMessage);
        Fails(Open(app, push), WeChatErrorKind.StaleTimestamp, 401);
        Assert.True(Open(app, push, skew: TimeSpan.Zero).IsOk);
    }

    // ---- URL verification ----

    [Fact]
    public void VerifyUrl_plain_echoes_echostr()
    {
        var app = TestApps.Official(WeChatMessageMode.Safe); // official accounts verify in the plain form in every mode
        var result = WeChatInbound.VerifyUrl(app, new WeChatPushBuilder(app).PlainUrlCheck("5837397520362421788"), Now, Skew);
        Assert.True(result.IsOk, result.Error?.ToString());
        Assert.Equal("5837397520362421788", result.Value);
    }

    [Fact]
    public void VerifyUrl_plain_rejects_a_bad_signature_and_a_missing_echostr()
    {
        var app = TestApps.Official(WeChatMessageMode.Plaintext);
        var query = new WeChatPushBuilder(app).PlainUrlCheck("echo");
        Fails(WeChatInbound.VerifyUrl(app, query with { Signature = "0" + query.Signature![1..] }, Now, Skew), WeChatErrorKind.BadSignature, 401);
        Fails(WeChatInbound.VerifyUrl(app, query with { Signature = null }, Now, Skew), WeChatErrorKind.BadSignature, 401);
        Fails(WeChatInbound.VerifyUrl(app, query with { EchoStr = null }, Now, Skew), WeChatErrorKind.MissingField, 400);
        Fails(WeChatInbound.VerifyUrl(app, query, Now.AddHours(1), Skew), WeChatErrorKind.StaleTimestamp, 401);
        Assert.True(WeChatInbound.VerifyUrl(app, query, Now.AddHours(1), TimeSpan.Zero).IsOk);
    }

    [Fact]
    public void VerifyUrl_plain_with_the_published_sample_signature()
    {
        var app = TestApps.Official(WeChatMessageMode.Plaintext);
        var query = new WeChatUrlQuery("16120ec1b8dbb870f510d87ce6bc2463eae6ca1a", "1409735669", "1320562132", "shr5ch", null);
        var result = WeChatInbound.VerifyUrl(app, query, DateTimeOffset.FromUnixTimeSeconds(1409735669), Skew);
        Assert.True(result.IsOk, result.Error?.ToString());
        Assert.Equal("shr5ch", result.Value);
    }

    [Fact]
    public void VerifyUrl_safe_decrypts_echostr()
    {
        var app = TestApps.Official(WeChatMessageMode.Safe);
        var result = WeChatInbound.VerifyUrl(app, new WeChatPushBuilder(app).SafeUrlCheck("1616140317555161061"), Now, Skew);
        Assert.True(result.IsOk, result.Error?.ToString());
        Assert.Equal("1616140317555161061", result.Value);
    }

    [Fact]
    public void VerifyUrl_safe_failures()
    {
        var app = TestApps.Official(WeChatMessageMode.Safe);
        var builder = new WeChatPushBuilder(app);
        var query = builder.SafeUrlCheck("echo");
        Fails(WeChatInbound.VerifyUrl(app, query with { MsgSignature = query.Signature }, Now, Skew), WeChatErrorKind.BadSignature, 401);
        Fails(WeChatInbound.VerifyUrl(app, builder.SafeUrlCheck("echo", receiveId: "wxother"), Now, Skew), WeChatErrorKind.WrongAppId, 401);
        Fails(WeChatInbound.VerifyUrl(app, builder.SafeUrlCheck("echo", key: TestApps.OtherKey), Now, Skew), WeChatErrorKind.DecryptFailed, 401);
        Fails(WeChatInbound.VerifyUrl(app, query, Now.AddDays(1), Skew), WeChatErrorKind.StaleTimestamp, 401);
    }

    [Fact]
    public void VerifyUrl_safe_with_a_rotated_key()
    {
        var app = TestApps.Official(WeChatMessageMode.Safe) with { EncodingAesKey = TestApps.OtherKey, PreviousEncodingAesKey = TestApps.Key };
        var result = WeChatInbound.VerifyUrl(app, new WeChatPushBuilder(app).SafeUrlCheck("echo", key: TestApps.Key), Now, Skew);
        Assert.True(result.IsOk, result.Error?.ToString());
        Assert.Equal("echo", result.Value);
    }

    [Fact]
    public void Query_records_read_wire_names()
    {
        var values = new Dictionary<string, string>
        {
            ["signature"] = "s", ["timestamp"] = "t", ["nonce"] = "n", ["echostr"] = "e", ["msg_signature"] = "m", ["encrypt_type"] = "aes",
        };
        Assert.Equal(new WeChatUrlQuery("s", "t", "n", "e", "m"), WeChatUrlQuery.From(k => values.GetValueOrDefault(k)));
        var push = WeChatPushQuery.From(k => values.GetValueOrDefault(k));
        Assert.Equal(new WeChatPushQuery("s", "t", "n", "aes", "m"), push);
        Assert.True(push.IsEncrypted);
    }

    [Fact]
    public void App_to_string_keeps_secrets_out()
    {
        var text = TestApps.Official(WeChatMessageMode.Safe).ToString();
        Assert.DoesNotContain("spamtest", text);
        Assert.DoesNotContain(TestApps.Key, text);
        Assert.Contains("wx2c2769f8efd9abc2", text);
    }
}
