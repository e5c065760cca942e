using Siyu.Core.Consent;
using Siyu.Core.Delivery;

namespace Siyu.Core.Tests.Delivery;

public class SendOnceTests
{
    private static readonly DateTimeOffset ClaimedAt = new(2024, 5, 1, 8, 0, 0, TimeSpan.Zero);
    private static readonly TimeSpan Timeout = TimeSpan.FromMinutes(5);

    [Theory]
    [InlineData("sms", true)]
    [InlineData("email", true)]
    [InlineData("wecom", true)]
    [InlineData("push", true)]
    [InlineData("webhook", false)]
    public void Generic_gateways_dedupe_by_default_and_a_brands_own_webhook_receiver_does_not(string channel, bool dedupes) =>
        Assert.Equal(dedupes, SendOnce.DedupesByDefault(channel));

    [Theory]
    [InlineData(true, "sms", false)]
    [InlineData(false, "sms", true)]
    [InlineData(true, "wechat_oa", false)]
    [InlineData(false, "webhook", true)]
    // WeChat's subscribe-message API carries no key, whatever the account says.
    [InlineData(true, ConsentVocabulary.MiniProgramSubscribe, true)]
    public void A_send_goes_at_most_once_where_the_provider_cannot_drop_a_repeat(bool providerDedupes, string channel, bool atMostOnce) =>
        Assert.Equal(atMostOnce, SendOnce.AtMostOnce(providerDedupes, channel));

    [Fact]
    public void A_claim_is_left_to_its_worker_until_the_send_timeout_then_its_outcome_is_unknown()
    {
        Assert.Equal(ClaimedAt + Timeout, SendOnce.StillSendingUntil(ClaimedAt, ClaimedAt, Timeout));
        Assert.Equal(ClaimedAt + Timeout, SendOnce.StillSendingUntil(ClaimedAt, ClaimedAt + Timeout - TimeSpan.FromTicks(1), Timeout));
        Assert.Null(SendOnce.StillSendingUntil(ClaimedAt, ClaimedAt + Timeout, Timeout));
        Assert.Null(SendOnce.StillSendingUntil(ClaimedAt, ClaimedAt + TimeSpan.FromDays(1), Timeout));
    }
}
