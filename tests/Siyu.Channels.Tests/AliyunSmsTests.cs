using Siyu.Channels.Aliyun;
using Siyu.FakeProviders;

namespace Siyu.Channels.Tests;

/// <summary>SMS through Alibaba Cloud's Dysmsapi over real HTTP against the fake, which checks the signature as Aliyun does.</summary>
public sealed class AliyunSmsTests
{
    private static ChannelMessage Sms(string key, string to = "+8613800138000", string template = "SMS_71390007") =>
        new(Harness.Tenant, ChannelNames.Sms, key, to, null, template,
            new Dictionary<string, string> { ["customer"] = "静静", ["offer"] = "满100减20" }, null, "p1~d~" + key);

    [Fact]
    public async Task A_message_goes_as_SendSms_signed_with_the_accounts_AccessKey_and_comes_back_with_its_BizId()
    {
        await using var h = await Harness.StartAsync();

        var result = await h.Senders.SendAsync(Sms("d~a1"), Harness.AliyunAccount, default);

        Assert.True(result.Outcome == SendOutcome.Accepted, result.ToString());
        var sent = Assert.Single(h.Fake.Accepted);
        Assert.Equal(("sms", "+8613800138000", "SMS_71390007", "思域商城", "p1~d~d~a1"), (sent.Channel, sent.Recipient, sent.Template, sent.Sender, sent.Reference));
        Assert.Equal(("静静", "满100减20"), (sent.Fields["customer"], sent.Fields["offer"]));
        Assert.Equal(sent.ProviderMessageId + "^0", result.ProviderMessageId);
    }

    [Fact]
    public async Task A_template_field_named_signName_is_the_SignName_not_a_template_parameter()
    {
        await using var h = await Harness.StartAsync();
        var message = Sms("d~a2") with { Fields = new Dictionary<string, string> { ["signName"] = "思域会员", ["customer"] = "静静" } };

        Assert.Equal(SendOutcome.Accepted, (await h.Senders.SendAsync(message, Harness.AliyunAccount, default)).Outcome);

        var sent = Assert.Single(h.Fake.Accepted);
        Assert.Equal("思域会员", sent.Sender);
        Assert.Equal(["customer"], sent.Fields.Keys);
    }

    [Fact]
    public async Task A_wrong_secret_fails_Aliyuns_signature_check_and_an_unknown_key_is_not_found_both_unauthorized()
    {
        await using var h = await Harness.StartAsync();

        var wrongSecret = await h.Senders.SendAsync(Sms("d~a3"), Harness.AliyunAccount with { ApiKey = "not-the-secret" }, default);
        var unknownKey = await h.Senders.SendAsync(Sms("d~a4"), Harness.AliyunAccount with { KeyId = "LTAI-nobody" }, default);

        Assert.Equal((SendOutcome.Rejected, "unauthorized"), (wrongSecret.Outcome, wrongSecret.Code));
        Assert.Contains("SignatureDoesNotMatch", wrongSecret.Detail);
        Assert.Equal((SendOutcome.Rejected, "unauthorized"), (unknownKey.Outcome, unknownKey.Code));
        Assert.Contains("InvalidAccessKeyId.NotFound", unknownKey.Detail);
        Assert.Empty(h.Fake.Accepted);
    }

    [Fact]
    public async Task A_bad_number_an_unknown_template_and_a_missing_parameter_are_rejected_with_Aliyuns_code()
    {
        await using var h = await Harness.StartAsync();
        h.Fake.RegisterAliyunTemplate("SMS_71390007", "亲爱的${customer},${offer}等你来拿,回T退订");

        var badNumber = await h.Senders.SendAsync(Sms("d~a5", to: "+86123"), Harness.AliyunAccount, default);
        var unknownTemplate = await h.Senders.SendAsync(Sms("d~a6", template: "SMS_404"), Harness.AliyunAccount, default);
        var missing = await h.Senders.SendAsync(Sms("d~a7") with { Fields = new Dictionary<string, string> { ["customer"] = "静静" } }, Harness.AliyunAccount, default);

        Assert.Equal((SendOutcome.Rejected, "invalid_recipient"), (badNumber.Outcome, badNumber.Code));
        Assert.Equal((SendOutcome.Rejected, "aliyun_isv.SMS_TEMPLATE_ILLEGAL"), (unknownTemplate.Outcome, unknownTemplate.Code));
        Assert.Equal((SendOutcome.Rejected, "aliyun_isv.TEMPLATE_MISSING_PARAMETERS"), (missing.Outcome, missing.Code));
        Assert.Equal(3, h.Fake.Requests);
        Assert.Empty(h.Fake.Accepted);
    }

    [Fact]
    public async Task Frequency_control_is_a_retry_later_and_not_repeated_at_once()
    {
        await using var h = await Harness.StartAsync();
        h.Fake.FailNext("+8613800138000", Fault.Http(200, "isv.BUSINESS_LIMIT_CONTROL", "触发分钟级流控Permits:1"));

        var result = await h.Senders.SendAsync(Sms("d~a8"), Harness.AliyunAccount, default);

        Assert.Equal((SendOutcome.Retry, "rate_limited", TimeSpan.FromMinutes(1), false), (result.Outcome, result.Code, result.RetryAfter, result.MaybeDelivered));
        Assert.Equal(1, h.Fake.Requests);
    }

    [Fact]
    public async Task A_timeout_or_a_system_error_may_have_sent_it_so_it_is_not_sent_again()
    {
        await using var h = await Harness.StartAsync();
        h.Fake.FailNext("+8613800138001", Fault.AcceptThenHang(TimeSpan.FromSeconds(10)));
        h.Fake.FailNext("+8613800138002", Fault.Http(500, "isp.SYSTEM_ERROR", "System error"));

        var timedOut = await h.Senders.SendAsync(Sms("d~a9", to: "+8613800138001"), Harness.AliyunAccount, default);
        var systemError = await h.Senders.SendAsync(Sms("d~a10", to: "+8613800138002"), Harness.AliyunAccount, default);

        Assert.Equal((SendOutcome.Retry, "timeout", true), (timedOut.Outcome, timedOut.Code, timedOut.MaybeDelivered));
        Assert.Equal((SendOutcome.Retry, "aliyun_isp.SYSTEM_ERROR", true), (systemError.Outcome, systemError.Code, systemError.MaybeDelivered));
        Assert.Equal((1, 1), (h.Fake.RequestsFor("+8613800138001"), h.Fake.RequestsFor("+8613800138002")));
    }

    [Fact]
    public async Task An_account_without_its_key_pair_or_sign_name_sends_nothing()
    {
        await using var h = await Harness.StartAsync();

        var noKey = await h.Senders.SendAsync(Sms("d~a11"), Harness.AliyunAccount with { KeyId = null }, default);
        var noSign = await h.Senders.SendAsync(Sms("d~a12"), Harness.AliyunAccount with { Sender = null }, default);

        Assert.Equal(("missing_credentials", "missing_sign_name"), (noKey.Code, noSign.Code));
        Assert.Equal(0, h.Fake.Requests);
    }

    [Theory]
    [InlineData(200, "OK", SendOutcome.Accepted, "ok")]
    [InlineData(200, "isv.BUSINESS_LIMIT_CONTROL", SendOutcome.Retry, "rate_limited")]
    [InlineData(200, "isv.DAY_LIMIT_CONTROL", SendOutcome.Retry, "rate_limited")]
    [InlineData(400, "Throttling.User", SendOutcome.Retry, "rate_limited")]
    [InlineData(200, "isv.AMOUNT_NOT_ENOUGH", SendOutcome.Retry, "aliyun_isv.AMOUNT_NOT_ENOUGH")]
    [InlineData(200, "isv.OUT_OF_SERVICE", SendOutcome.Retry, "aliyun_isv.OUT_OF_SERVICE")]
    [InlineData(500, "isp.SYSTEM_ERROR", SendOutcome.Retry, "aliyun_isp.SYSTEM_ERROR")]
    [InlineData(503, "ServiceUnavailable", SendOutcome.Retry, "aliyun_ServiceUnavailable")]
    [InlineData(400, "SignatureNonceUsed", SendOutcome.Retry, "aliyun_SignatureNonceUsed")]
    [InlineData(200, "isv.MOBILE_NUMBER_ILLEGAL", SendOutcome.Rejected, "invalid_recipient")]
    [InlineData(200, "isv.MOBILE_COUNT_OVER_LIMIT", SendOutcome.Rejected, "invalid_recipient")]
    [InlineData(200, "isv.SMS_TEMPLATE_ILLEGAL", SendOutcome.Rejected, "aliyun_isv.SMS_TEMPLATE_ILLEGAL")]
    [InlineData(200, "isv.SMS_SIGNATURE_ILLEGAL", SendOutcome.Rejected, "aliyun_isv.SMS_SIGNATURE_ILLEGAL")]
    [InlineData(200, "isv.TEMPLATE_MISSING_PARAMETERS", SendOutcome.Rejected, "aliyun_isv.TEMPLATE_MISSING_PARAMETERS")]
    [InlineData(200, "isv.INVALID_JSON_PARAM", SendOutcome.Rejected, "aliyun_isv.INVALID_JSON_PARAM")]
    [InlineData(200, "isv.BLACK_KEY_CONTROL_LIMIT", SendOutcome.Rejected, "aliyun_isv.BLACK_KEY_CONTROL_LIMIT")]
    [InlineData(404, "InvalidAccessKeyId.NotFound", SendOutcome.Rejected, "unauthorized")]
    [InlineData(400, "SignatureDoesNotMatch", SendOutcome.Rejected, "unauthorized")]
    [InlineData(403, "Forbidden.RAM", SendOutcome.Rejected, "unauthorized")]
    [InlineData(200, "isv.SOMETHING_NEW", SendOutcome.Rejected, "aliyun_isv.SOMETHING_NEW")]
    [InlineData(502, null, SendOutcome.Retry, "http_502")]
    [InlineData(200, null, SendOutcome.Retry, "invalid_answer")]
    [InlineData(403, null, SendOutcome.Rejected, "unauthorized")]
    public void Every_code_maps_to_what_the_delivery_worker_should_do(int status, string? code, SendOutcome outcome, string ours)
    {
        var result = AliyunSmsErrors.Outcome(status, code);

        Assert.Equal((outcome, ours), (result.Outcome, result.Code));
    }

    [Theory]
    [InlineData("+8613800138000", "13800138000")]
    [InlineData("+85291234567", "85291234567")]
    public void Numbers_go_as_Aliyun_writes_them(string e164, string aliyun) => Assert.Equal(aliyun, AliyunSmsSender.PhoneNumber(e164));

    [Fact]
    public void The_signer_reproduces_Alibaba_Clouds_published_SendSms_example()
    {
        // The fixed inputs and expected signature of the SMS signing document (help.aliyun.com/document_detail/101343).
        var parameters = new Dictionary<string, string>
        {
            ["AccessKeyId"] = "testId", ["Action"] = "SendSms", ["Format"] = "XML", ["OutId"] = "123", ["PhoneNumbers"] = "15300000001",
            ["RegionId"] = "cn-hangzhou", ["SignName"] = "阿里云短信测试专用", ["SignatureMethod"] = "HMAC-SHA1",
            ["SignatureNonce"] = "45e25e9b-0a6f-4070-8c85-2956eda1b466", ["SignatureVersion"] = "1.0", ["TemplateCode"] = "SMS_71390007",
            ["TemplateParam"] = "{\"customer\":\"test\"}", ["Timestamp"] = "2017-07-12T02:42:19Z", ["Version"] = "2017-05-25",
        };

        var toSign = AliyunSignature.StringToSign("GET", parameters);

        Assert.Equal("GET&%2F&AccessKeyId%3DtestId%26Action%3DSendSms%26Format%3DXML%26OutId%3D123%26PhoneNumbers%3D15300000001%26RegionId%3Dcn-hangzhou" +
                     "%26SignName%3D%25E9%2598%25BF%25E9%2587%258C%25E4%25BA%2591%25E7%259F%25AD%25E4%25BF%25A1%25E6%25B5%258B%25E8%25AF%2595%25E4%25B8%2593%25E7%2594%25A8" +
                     "%26SignatureMethod%3DHMAC-SHA1%26SignatureNonce%3D45e25e9b-0a6f-4070-8c85-2956eda1b466%26SignatureVersion%3D1.0%26TemplateCode%3DSMS_71390007" +
                     "%26TemplateParam%3D%257B%2522customer%2522%253A%2522test%2522%257D%26Timestamp%3D2017-07-12T02%253A42%253A19Z%26Version%3D2017-05-25", toSign);
        Assert.Equal("zJDF+Lrzhj/ThnlvIToysFRq6t4=", AliyunSignature.Sign("testSecret", toSign));
        Assert.Equal("zJDF%2BLrzhj%2FThnlvIToysFRq6t4%3D", AliyunSignature.PercentEncode(AliyunSignature.Sign("testSecret", toSign)));
    }

    [Fact]
    public void Push_tokens_are_per_tenant_and_account_and_a_wrong_one_does_not_match()
    {
        var token = AliyunPush.Token("secret-a", "brand1");

        Assert.True(AliyunPush.TokenMatches("secret-a", "brand1", token));
        Assert.False(AliyunPush.TokenMatches("secret-a", "brand2", token));
        Assert.False(AliyunPush.TokenMatches("secret-b", "brand1", token));
        Assert.False(AliyunPush.TokenMatches("secret-a", "brand1", null));
    }

    [Fact]
    public void Reports_and_replies_are_read_as_Aliyun_pushes_them_and_anything_else_is_refused()
    {
        var report = """[{"phone_number":"13800138000","send_time":"2026-12-04 10:00:00","report_time":"2026-12-04 10:00:05","success":false,"err_code":"MK:0001","err_msg":"用户关机","sms_size":"1","biz_id":"12345^0","out_id":"p~d~k"}]"""u8;
        var reply = """[{"phone_number":"13800138000","send_time":"2026-12-04 10:01:00","content":"T","sign_name":"思域商城","dest_code":"","sequence_id":"1234567890"}]"""u8;

        Assert.True(AliyunPush.TryParseReports(report, out var reports, out _));
        Assert.Equal(new AliyunReport("13800138000", false, "MK:0001", "用户关机", "12345^0", "p~d~k"), Assert.Single(reports));
        Assert.True(AliyunPush.TryParseReplies(reply, out var replies, out _));
        Assert.Equal(("13800138000", "T"), (Assert.Single(replies).PhoneNumber, replies[0].Content));
        Assert.False(AliyunPush.TryParseReports("""{"success":true}"""u8, out _, out var notArray));
        Assert.Contains("array", notArray);
        Assert.False(AliyunPush.TryParseReports("""[{"out_id":"x"}]"""u8, out _, out _));
        Assert.False(AliyunPush.TryParseReplies("""[{"content":"T"}]"""u8, out _, out _));
        Assert.False(AliyunPush.TryParseReplies("[{"u8, out _, out _));
    }

    [Fact]
    public void Percent_encoding_is_RFC_3986_with_a_space_as_percent_20_and_tilde_kept()
    {
        Assert.Equal("a%20b%2A~%2B%2F%E4%BD%A0", AliyunSignature.PercentEncode("a b*~+/你"));
    }
}
