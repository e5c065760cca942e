using System.Text;
using Siyu.Channels.Tencent;
using Siyu.FakeProviders;

namespace Siyu.Channels.Tests;

/// <summary>SMS through Tencent Cloud SMS API 3.0 over real HTTP against the fake, which checks the TC3 signature as Tencent does.</summary>
public sealed class TencentSmsTests
{
    private static ChannelMessage Sms(string key, string to = "+8613800138000", string template = "1110") =>
        new(Harness.Tenant, ChannelNames.Sms, key, to, null, template,
            new Dictionary<string, string> { ["1"] = "静静", ["2"] = "满100减20" }, null, "p1~d~" + key);

    [Fact]
    public async Task A_message_goes_as_SendSms_signed_with_TC3_and_comes_back_with_its_SerialNo()
    {
        await using var h = await Harness.StartAsync();
        h.Fake.RegisterTencentApp(Harness.TencentSdkAppId);
        h.Fake.RegisterTencentTemplate("1110", "亲爱的{1},{2}等你来拿,拒收请回复R");
        h.Fake.RegisterTencentSignName("思域商城");

        var result = await h.Senders.SendAsync(Sms("d~t1"), Harness.TencentAccount, default);

        Assert.True(result.Outcome == SendOutcome.Accepted, result.ToString());
        var sent = Assert.Single(h.Fake.Accepted);
        Assert.Equal(("sms", "+8613800138000", "1110", "思域商城", "p1~d~d~t1"), (sent.Channel, sent.Recipient, sent.Template, sent.Sender, sent.Reference));
        Assert.Equal(("静静", "满100减20"), (sent.Fields["1"], sent.Fields["2"]));
        Assert.Equal(sent.ProviderMessageId, result.ProviderMessageId);
        Assert.StartsWith("2640:", result.ProviderMessageId);
    }

    [Fact]
    public async Task Fields_go_in_their_numbered_order_and_a_named_field_is_refused_before_anything_is_sent()
    {
        await using var h = await Harness.StartAsync();
        var reordered = Sms("d~t2") with { Fields = new Dictionary<string, string> { ["2"] = "二", ["signName"] = "思域会员", ["1"] = "一" } };
        var named = Sms("d~t3") with { Fields = new Dictionary<string, string> { ["customer"] = "静静" } };
        var gap = Sms("d~t4") with { Fields = new Dictionary<string, string> { ["1"] = "一", ["3"] = "三" } };

        Assert.Equal(SendOutcome.Accepted, (await h.Senders.SendAsync(reordered, Harness.TencentAccount, default)).Outcome);
        var refusedNamed = await h.Senders.SendAsync(named, Harness.TencentAccount, default);
        var refusedGap = await h.Senders.SendAsync(gap, Harness.TencentAccount, default);

        var sent = Assert.Single(h.Fake.Accepted);
        Assert.Equal(("思域会员", "一", "二"), (sent.Sender, sent.Fields["1"], sent.Fields["2"]));
        Assert.Equal((SendOutcome.Rejected, "tencent_template_fields"), (refusedNamed.Outcome, refusedNamed.Code));
        Assert.Equal((SendOutcome.Rejected, "tencent_template_fields"), (refusedGap.Outcome, refusedGap.Code));
        Assert.Equal(1, h.Fake.Requests);
    }

    [Fact]
    public async Task A_wrong_SecretKey_fails_Tencents_signature_check_and_an_unknown_SecretId_is_not_found_both_unauthorized()
    {
        await using var h = await Harness.StartAsync();

        var wrongKey = await h.Senders.SendAsync(Sms("d~t5"), Harness.TencentAccount with { ApiKey = "not-the-key" }, default);
        var unknownId = await h.Senders.SendAsync(Sms("d~t6"), Harness.TencentAccount with { KeyId = "AKIDnobody" }, default);

        Assert.Equal((SendOutcome.Rejected, "unauthorized"), (wrongKey.Outcome, wrongKey.Code));
        Assert.Contains("AuthFailure.SignatureFailure", wrongKey.Detail);
        Assert.Equal((SendOutcome.Rejected, "unauthorized"), (unknownId.Outcome, unknownId.Code));
        Assert.Contains("AuthFailure.SecretIdNotFound", unknownId.Detail);
        Assert.Empty(h.Fake.Accepted);
    }

    [Fact]
    public async Task A_bad_number_an_unknown_template_a_parameter_count_off_and_an_unknown_app_are_rejected_with_Tencents_code()
    {
        await using var h = await Harness.StartAsync();
        h.Fake.RegisterTencentApp(Harness.TencentSdkAppId);
        h.Fake.RegisterTencentTemplate("1110", "亲爱的{1},{2}等你来拿,拒收请回复R");

        var badNumber = await h.Senders.SendAsync(Sms("d~t7", to: "+86123"), Harness.TencentAccount, default);
        var unknownTemplate = await h.Senders.SendAsync(Sms("d~t8", template: "404"), Harness.TencentAccount, default);
        var countOff = await h.Senders.SendAsync(Sms("d~t9") with { Fields = new Dictionary<string, string> { ["1"] = "静静" } }, Harness.TencentAccount, default);
        var unknownApp = await h.Senders.SendAsync(Sms("d~t10"), Harness.TencentAccount with { AppId = "1400000000" }, default);

        Assert.Equal((SendOutcome.Rejected, "invalid_recipient"), (badNumber.Outcome, badNumber.Code));
        Assert.Equal((SendOutcome.Rejected, "tencent_FailedOperation.TemplateIncorrectOrUnapproved"), (unknownTemplate.Outcome, unknownTemplate.Code));
        Assert.Equal((SendOutcome.Rejected, "tencent_FailedOperation.TemplateParamSetNotMatchApprovedTemplate"), (countOff.Outcome, countOff.Code));
        Assert.Equal((SendOutcome.Rejected, "tencent_InvalidParameterValue.SdkAppIdNotExist"), (unknownApp.Outcome, unknownApp.Code));
        Assert.Equal(4, h.Fake.Requests);
        Assert.Empty(h.Fake.Accepted);
    }

    [Fact]
    public async Task Frequency_control_is_a_retry_later_and_not_repeated_at_once()
    {
        await using var h = await Harness.StartAsync();
        h.Fake.FailNext("+8613800138000", Fault.Http(200, "LimitExceeded.PhoneNumberThirtySecondLimit", "单个手机号30秒内下发短信条数超过设定的上限"));

        var result = await h.Senders.SendAsync(Sms("d~t11"), Harness.TencentAccount, default);

        Assert.Equal((SendOutcome.Retry, "rate_limited", TimeSpan.FromSeconds(30), false), (result.Outcome, result.Code, result.RetryAfter, result.MaybeDelivered));
        Assert.Equal(1, h.Fake.Requests);
    }

    [Fact]
    public async Task A_timeout_or_an_internal_error_may_have_sent_it_so_it_is_not_sent_again()
    {
        await using var h = await Harness.StartAsync();
        h.Fake.FailNext("+8613800138001", Fault.AcceptThenHang(TimeSpan.FromSeconds(10)));
        h.Fake.FailNext("+8613800138002", Fault.Http(200, "InternalError.Timeout", "请求下发短信超时"));

        var timedOut = await h.Senders.SendAsync(Sms("d~t12", to: "+8613800138001"), Harness.TencentAccount, default);
        var internalError = await h.Senders.SendAsync(Sms("d~t13", to: "+8613800138002"), Harness.TencentAccount, default);

        Assert.Equal((SendOutcome.Retry, "timeout", true), (timedOut.Outcome, timedOut.Code, timedOut.MaybeDelivered));
        Assert.Equal((SendOutcome.Retry, "tencent_InternalError.Timeout", true), (internalError.Outcome, internalError.Code, internalError.MaybeDelivered));
        Assert.Equal((1, 1), (h.Fake.RequestsFor("+8613800138001"), h.Fake.RequestsFor("+8613800138002")));
    }

    [Fact]
    public async Task An_account_without_its_key_pair_app_or_sign_name_sends_nothing()
    {
        await using var h = await Harness.StartAsync();

        var noKey = await h.Senders.SendAsync(Sms("d~t14"), Harness.TencentAccount with { KeyId = null }, default);
        var noApp = await h.Senders.SendAsync(Sms("d~t15"), Harness.TencentAccount with { AppId = null }, default);
        var noSign = await h.Senders.SendAsync(Sms("d~t16"), Harness.TencentAccount with { Sender = null }, default);

        Assert.Equal(("missing_credentials", "missing_credentials", "missing_sign_name"), (noKey.Code, noApp.Code, noSign.Code));
        Assert.Equal(0, h.Fake.Requests);
    }

    [Theory]
    [InlineData("Ok", SendOutcome.Accepted, "ok")]
    [InlineData("LimitExceeded.PhoneNumberOneHourLimit", SendOutcome.Retry, "rate_limited")]
    [InlineData("LimitExceeded.PhoneNumberDailyLimit", SendOutcome.Retry, "rate_limited")]
    [InlineData("LimitExceeded.DeliveryFrequencyLimit", SendOutcome.Retry, "rate_limited")]
    [InlineData("LimitExceeded.AppDailyLimit", SendOutcome.Retry, "rate_limited")]
    [InlineData("RequestLimitExceeded", SendOutcome.Retry, "rate_limited")]
    [InlineData("FailedOperation.InsufficientBalanceInSmsPackage", SendOutcome.Retry, "tencent_FailedOperation.InsufficientBalanceInSmsPackage")]
    [InlineData("FailedOperation.MarketingSendTimeConstraint", SendOutcome.Retry, "tencent_FailedOperation.MarketingSendTimeConstraint")]
    [InlineData("InternalError.Timeout", SendOutcome.Retry, "tencent_InternalError.Timeout")]
    [InlineData("InternalError.SendAndRecvFail", SendOutcome.Retry, "tencent_InternalError.SendAndRecvFail")]
    [InlineData("InternalError", SendOutcome.Retry, "tencent_InternalError")]
    [InlineData("InvalidParameterValue.IncorrectPhoneNumber", SendOutcome.Rejected, "invalid_recipient")]
    [InlineData("FailedOperation.PhoneNumberInBlacklist", SendOutcome.Rejected, "invalid_recipient")]
    [InlineData("FailedOperation.SignatureIncorrectOrUnapproved", SendOutcome.Rejected, "tencent_FailedOperation.SignatureIncorrectOrUnapproved")]
    [InlineData("FailedOperation.TemplateIncorrectOrUnapproved", SendOutcome.Rejected, "tencent_FailedOperation.TemplateIncorrectOrUnapproved")]
    [InlineData("FailedOperation.ContainSensitiveWord", SendOutcome.Rejected, "tencent_FailedOperation.ContainSensitiveWord")]
    [InlineData("InvalidParameterValue.ProhibitedUseUrlInTemplateParameter", SendOutcome.Rejected, "tencent_InvalidParameterValue.ProhibitedUseUrlInTemplateParameter")]
    [InlineData("InvalidParameterValue.SdkAppIdNotExist", SendOutcome.Rejected, "tencent_InvalidParameterValue.SdkAppIdNotExist")]
    [InlineData("AuthFailure.SignatureFailure", SendOutcome.Rejected, "unauthorized")]
    [InlineData("AuthFailure.SecretIdNotFound", SendOutcome.Rejected, "unauthorized")]
    [InlineData("AuthFailure.SignatureExpire", SendOutcome.Rejected, "unauthorized")]
    [InlineData("UnauthorizedOperation.SmsSdkAppIdVerifyFail", SendOutcome.Rejected, "unauthorized")]
    [InlineData("UnauthorizedOperation.IndividualUserMarketingSmsPermissionDeny", SendOutcome.Rejected, "unauthorized")]
    [InlineData("SomethingNew.Unlisted", SendOutcome.Rejected, "tencent_SomethingNew.Unlisted")]
    [InlineData(null, SendOutcome.Retry, "invalid_answer")]
    public void Every_code_maps_to_what_the_delivery_worker_should_do(string? code, SendOutcome outcome, string ours)
    {
        var result = TencentSmsErrors.Outcome(code);

        Assert.Equal((outcome, ours), (result.Outcome, result.Code));
    }

    [Fact]
    public async Task A_gateway_error_without_a_Response_may_have_sent_it_so_it_is_not_sent_again_and_a_403_is_refused()
    {
        await using var h = await Harness.StartAsync();
        h.Fake.FailNext("+8613800138003", Fault.Http(502));
        h.Fake.FailNext("+8613800138004", Fault.Http(403));

        var gateway = await h.Senders.SendAsync(Sms("d~t17", to: "+8613800138003"), Harness.TencentAccount, default);
        var forbidden = await h.Senders.SendAsync(Sms("d~t18", to: "+8613800138004"), Harness.TencentAccount, default);

        Assert.Equal((SendOutcome.Retry, "http_502", true), (gateway.Outcome, gateway.Code, gateway.MaybeDelivered));
        Assert.Equal((SendOutcome.Rejected, "unauthorized"), (forbidden.Outcome, forbidden.Code));
        Assert.Equal((1, 1), (h.Fake.RequestsFor("+8613800138003"), h.Fake.RequestsFor("+8613800138004")));
    }

    [Fact]
    public void The_signer_reproduces_Tencent_Clouds_published_signature_example()
    {
        // The fixed inputs and expected signature of Tencent Cloud's API 3.0 signature document (the CVM DescribeInstances example).
        const string payload = """{"Limit": 1, "Filters": [{"Values": ["\u672a\u547d\u540d"], "Name": "instance-name"}]}""";
        var body = Encoding.UTF8.GetBytes(payload);
        const long timestamp = 1551113065;

        var canonical = TencentSignature.CanonicalRequest("application/json; charset=utf-8", "cvm.tencentcloudapi.com", body);
        var toSign = TencentSignature.StringToSign(timestamp, "cvm", canonical);
        var signature = TencentSignature.Sign("Gu5t9xGARNpq86cd98joQYCN3EXAMPLE", timestamp, "cvm", toSign);

        Assert.Equal("POST\n/\n\ncontent-type:application/json; charset=utf-8\nhost:cvm.tencentcloudapi.com\n\ncontent-type;host\n" +
                     "35e9c5b0e3ae67532d3c9f17ead6c90222632e5b1ff7f6e89887f1398934f064", canonical);
        Assert.Equal("2019-02-25", TencentSignature.Date(timestamp));
        Assert.StartsWith("TC3-HMAC-SHA256\n1551113065\n2019-02-25/cvm/tc3_request\n", toSign);
        Assert.Equal("72e494ea809ad7a8c8f7a4507b9bddcbaa8e581f516e8da2f66e2c5a96525168", signature);
        Assert.Equal("TC3-HMAC-SHA256 Credential=AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE/2019-02-25/cvm/tc3_request, SignedHeaders=content-type;host, " +
                     "Signature=72e494ea809ad7a8c8f7a4507b9bddcbaa8e581f516e8da2f66e2c5a96525168",
            TencentSignature.Authorization("AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE", "Gu5t9xGARNpq86cd98joQYCN3EXAMPLE", "cvm", "cvm.tencentcloudapi.com",
                "application/json; charset=utf-8", timestamp, body));
    }

    [Fact]
    public void Callback_tokens_are_per_tenant_and_account_and_a_wrong_one_does_not_match()
    {
        var token = TencentPush.Token("key-a", "brand1");

        Assert.True(TencentPush.TokenMatches("key-a", "brand1", token));
        Assert.False(TencentPush.TokenMatches("key-a", "brand2", token));
        Assert.False(TencentPush.TokenMatches("key-b", "brand1", token));
        Assert.False(TencentPush.TokenMatches("key-a", "brand1", AliyunPushTokenOf("key-a", "brand1")));
        Assert.False(TencentPush.TokenMatches("key-a", "brand1", null));
    }

    private static string AliyunPushTokenOf(string secret, string tenant) => Aliyun.AliyunPush.Token(secret, tenant);

    [Fact]
    public void Statuses_and_replies_are_read_as_Tencent_posts_them_and_anything_else_is_refused()
    {
        var status = """[{"user_receive_time":"2026-12-04 08:03:04","nationcode":"86","mobile":"13800138000","report_status":"FAIL","errmsg":"MK:0001","description":"关机","sid":"2640:42"}]"""u8;
        var reply = """{"extend":"","mobile":"13800138000","nationcode":"86","sign":"思域商城","text":"R","time":1764835200}"""u8;

        Assert.True(TencentPush.TryParseReports(status, out var reports, out _));
        Assert.Equal(new TencentReport("+8613800138000", false, "MK:0001", "关机", "2640:42"), Assert.Single(reports));
        Assert.True(TencentPush.TryParseReply(reply, out var parsed, out _));
        Assert.Equal(new TencentReply("+8613800138000", "R", "思域商城", 1764835200), parsed);
        Assert.False(TencentPush.TryParseReports("""{"sid":"1"}"""u8, out _, out var notArray));
        Assert.Contains("array", notArray);
        Assert.False(TencentPush.TryParseReports("""[{"sid":"1","mobile":"13800138000","report_status":"MAYBE"}]"""u8, out _, out _));
        Assert.False(TencentPush.TryParseReply("""{"text":"R"}"""u8, out _, out _));
        Assert.False(TencentPush.TryParseReply("[1]"u8, out _, out _));
        Assert.False(TencentPush.TryParseReply("{"u8, out _, out _));
    }
}
