using System.Text.Json.Nodes;
using Siyu.Core.Delivery;

namespace Siyu.Core.Tests.Delivery;

public sealed class SmsOptOutTests
{
    [Theory]
    [InlineData("【思域】会员日满100减20, 回T退订", true)]
    [InlineData("会员日满100减20 回复TD退订", true)]
    [InlineData("会员日满100减20, 退订回T", true)]
    [InlineData("新品上市, 拒收请回复R", true)]
    [InlineData("New arrivals. Reply STOP to opt out", true)]
    [InlineData("会员日满100减20", false)]
    [InlineData("退订请联系客服", false)]
    public void A_message_text_says_how_to_opt_out_or_not(string text, bool has) => Assert.Equal(has, SmsOptOut.HasInstruction(text));

    [Theory]
    [InlineData("T", true)]
    [InlineData(" t ", true)]
    [InlineData("TD", true)]
    [InlineData("退订。", true)]
    [InlineData("R!", true)]
    [InlineData("好的", false)]
    [InlineData("T恤还有吗", false)]
    [InlineData("", false)]
    [InlineData(null, false)]
    public void A_reply_is_an_opt_out_when_it_is_one_of_the_words(string? reply, bool optOut) => Assert.Equal(optOut, SmsOptOut.IsOptOut(reply, SmsOptOut.DefaultWords));

    [Fact]
    public void Configured_words_replace_the_defaults() => Assert.True(SmsOptOut.IsOptOut("qx", ["QX"]) && !SmsOptOut.IsOptOut("T", ["QX"]));

    [Theory]
    [InlineData("""{"channel": "sms", "providerTemplate": "SMS_1", "fields": {"text": "满100减20"}}""", "fields")]
    [InlineData("""{"channel": "sms", "providerTemplate": "SMS_1", "content": "${x}满100减20", "fields": {"x": "回T退订"}}""", "content")]
    public void A_marketing_sms_template_without_an_opt_out_does_not_parse(string json, string field)
    {
        var errors = new List<(string Field, string Message)>();

        Assert.Null(MessageTemplates.Parse("t", JsonNode.Parse(json)!.AsObject(), errors));
        Assert.Contains(errors, e => e.Field == field && e.Message.Contains("opt out"));
    }

    [Theory]
    [InlineData("""{"channel": "sms", "providerTemplate": "SMS_1", "content": "${x}满100减20, 回T退订", "fields": {"x": "{{x}}"}, "variables": {"x": {}}}""")]
    [InlineData("""{"channel": "sms", "providerTemplate": "SMS_1", "fields": {"text": "满100减20 拒收请回复R"}}""")]
    [InlineData("""{"channel": "sms", "purpose": "personalisation", "providerTemplate": "SMS_1", "fields": {"text": "您的订单已发货"}}""")]
    [InlineData("""{"channel": "email", "providerTemplate": "E_1", "fields": {"subject": "新品"}}""")]
    public void Templates_that_say_so_or_need_not_parse(string json)
    {
        var errors = new List<(string Field, string Message)>();

        Assert.NotNull(MessageTemplates.Parse("t", JsonNode.Parse(json)!.AsObject(), errors));
        Assert.Empty(errors);
    }
}
