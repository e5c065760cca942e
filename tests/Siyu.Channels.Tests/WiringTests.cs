using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Siyu.Channels.Tests;

public sealed class WiringTests
{
    [Fact]
    public void Options_are_bound_from_the_channels_section()
    {
        var config = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Channels:WeChatApiBaseUrl"] = "http://127.0.0.1:7072",
            ["Channels:ProviderBaseUrls:sms"] = "http://sms.local",
            ["Channels:Timeout"] = "00:00:03",
            ["Channels:MaxAttempts"] = "5",
            ["Channels:RatePerSecond"] = "20",
            ["Channels:Burst"] = "7",
            ["Channels:TokenRefreshMargin"] = "00:10:00",
        }).Build();
        using var services = new ServiceCollection().AddLogging().AddChannels(config).BuildServiceProvider();

        var options = services.GetRequiredService<IOptions<ChannelOptions>>().Value;

        Assert.Equal(("http://127.0.0.1:7072", "http://sms.local", TimeSpan.FromSeconds(3), 5, 20d, 7, TimeSpan.FromMinutes(10)),
            (options.WeChatApiBaseUrl, options.ProviderBaseUrls["sms"], options.Timeout, options.MaxAttempts, options.RatePerSecond, options.Burst, options.TokenRefreshMargin));
    }

    [Theory]
    [InlineData("wechat_oa", true)]
    [InlineData("miniprogram_subscribe", true)]
    [InlineData("wecom", true)]
    [InlineData("sms", true)]
    [InlineData("email", true)]
    [InlineData("push", true)]
    [InlineData("webhook", true)]
    [InlineData("fax", false)]
    public void Every_channel_has_one_sender(string channel, bool handled)
    {
        using var services = new ServiceCollection().AddLogging().AddChannels(new ConfigurationBuilder().Build()).BuildServiceProvider();

        Assert.Equal(handled, services.GetRequiredService<ChannelSenders>().Handles(channel));
    }

    [Theory]
    [InlineData("sms", "aliyun", true)]
    [InlineData("sms", "generic", true)]
    [InlineData("email", "aliyun", false)]
    [InlineData("sms", "nobody", false)]
    public void A_channel_is_handled_through_the_providers_it_may_name(string channel, string provider, bool handled)
    {
        using var services = new ServiceCollection().AddLogging().AddChannels(new ConfigurationBuilder().Build()).BuildServiceProvider();

        Assert.Equal(handled, services.GetRequiredService<ChannelSenders>().Handles(channel, provider));
    }

    [Fact]
    public async Task A_channel_nobody_handles_is_an_argument_error()
    {
        using var services = new ServiceCollection().AddLogging().AddChannels(new ConfigurationBuilder().Build()).BuildServiceProvider();
        var message = Harness.Provider("fax", "d~x", "+8613800138000");

        await Assert.ThrowsAsync<ArgumentException>(() => services.GetRequiredService<ChannelSenders>().SendAsync(message, Harness.ProviderAccount, default));
    }

    [Fact]
    public async Task A_malformed_message_is_rejected_before_any_request()
    {
        using var services = new ServiceCollection().AddLogging().AddChannels(new ConfigurationBuilder().Build()).BuildServiceProvider();
        var senders = services.GetRequiredService<ChannelSenders>();

        var longKey = await senders.SendAsync(Harness.Provider("sms", new string('k', 129), "+8613800138000"), Harness.ProviderAccount, default);
        var noRecipient = await senders.SendAsync(Harness.Provider("sms", "d~y", " "), Harness.ProviderAccount, default);
        var notConfigured = await senders.SendAsync(Harness.Provider("sms", "d~z", "+8613800138000"), Harness.ProviderAccount, default);

        Assert.Equal((SendOutcome.Rejected, "invalid_message"), (longKey.Outcome, longKey.Code));
        Assert.Equal((SendOutcome.Rejected, "invalid_recipient"), (noRecipient.Outcome, noRecipient.Code));
        Assert.Equal((SendOutcome.Rejected, "not_configured"), (notConfigured.Outcome, notConfigured.Code));
    }

    [Fact]
    public void An_account_never_prints_its_secrets()
    {
        var text = new ChannelAccount(AppId: "wx1", AppSecret: "s3cret", ApiKey: "pk_live").ToString();

        Assert.DoesNotContain("s3cret", text);
        Assert.DoesNotContain("pk_live", text);
        Assert.Contains("wx1", text);
    }
}
