namespace Siyu.Channels.Tests;

public sealed class WeChatErrorsTests
{
    [Theory]
    [InlineData(0, SendOutcome.Accepted, "ok")]
    [InlineData(-1, SendOutcome.Retry, "wechat_-1")]
    [InlineData(45009, SendOutcome.Retry, "wechat_45009")]
    [InlineData(45011, SendOutcome.Retry, "wechat_45011")]
    [InlineData(45047, SendOutcome.Retry, "wechat_45047")]
    [InlineData(40001, SendOutcome.Retry, "wechat_40001")]
    [InlineData(40014, SendOutcome.Retry, "wechat_40014")]
    [InlineData(42001, SendOutcome.Retry, "wechat_42001")]
    [InlineData(43101, SendOutcome.EntitlementLost, "wechat_43101")]
    [InlineData(43004, SendOutcome.Rejected, "wechat_43004")]
    [InlineData(40003, SendOutcome.Rejected, "wechat_40003")]
    [InlineData(40037, SendOutcome.Rejected, "wechat_40037")]
    [InlineData(47003, SendOutcome.Rejected, "wechat_47003")]
    [InlineData(41030, SendOutcome.Rejected, "wechat_41030")]
    [InlineData(40125, SendOutcome.Rejected, "wechat_40125")]
    [InlineData(99999, SendOutcome.Rejected, "wechat_99999")]
    public void Each_errcode_maps_to_one_outcome_and_code(int errcode, SendOutcome outcome, string code)
    {
        var result = WeChatErrors.ToResult(errcode, "msg", DateTimeOffset.UnixEpoch, msgId: "7");

        Assert.Equal((outcome, code), (result.Outcome, result.Code));
    }

    [Theory]
    [InlineData(40001, true)]
    [InlineData(40014, true)]
    [InlineData(42001, true)]
    [InlineData(40013, false)]
    [InlineData(0, false)]
    public void Only_the_three_token_codes_ask_for_a_token_refresh(int errcode, bool refresh) =>
        Assert.Equal(refresh, WeChatErrors.IsTokenError(errcode));

    [Fact]
    public void The_daily_quota_waits_for_midnight_in_china_and_the_frequency_limit_for_a_minute()
    {
        var now = DateTimeOffset.Parse("2026-03-01T16:10:00Z"); // 00:10 on 2 March in Beijing

        Assert.Equal(TimeSpan.FromHours(23) + TimeSpan.FromMinutes(51), WeChatErrors.RetryAfter(45009, now));
        Assert.Equal(TimeSpan.FromMinutes(1), WeChatErrors.RetryAfter(45011, now));
        Assert.Null(WeChatErrors.RetryAfter(-1, now));
    }

    [Fact]
    public void An_accepted_answer_carries_the_msgid()
    {
        var result = WeChatErrors.ToResult(0, "ok", DateTimeOffset.UnixEpoch, msgId: "1234567");

        Assert.Equal(SendResult.Accepted("1234567"), result);
    }
}
