using Microsoft.Extensions.Time.Testing;
using Siyu.FakeProviders;

namespace Siyu.Channels.Tests;

/// <summary>The two WeChat channels over real HTTP against the fake WeChat: tokens, idempotency, errcodes.</summary>
public sealed class WeChatSendTests
{
    [Fact]
    public async Task A_template_message_is_accepted_with_its_msgid_and_carries_the_key_as_client_msg_id()
    {
        await using var h = await Harness.StartAsync();

        var result = await h.Senders.SendAsync(Harness.Template("d~1~openid-1"), Harness.WeChatAccount, default);

        Assert.Equal(SendOutcome.Accepted, result.Outcome);
        Assert.Equal("ok", result.Code);
        var message = Assert.Single(h.Fake.Accepted);
        Assert.Equal(message.ProviderMessageId, result.ProviderMessageId);
        Assert.Equal("d~1~openid-1", message.IdempotencyKey);
        Assert.Equal(("wechat_oa", "openid-1", "tmpl-order", "https://shop.example/o/1"), (message.Channel, message.Recipient, message.Template, message.Link));
        Assert.Equal("订单已发货", message.Fields["thing1"]);
        Assert.Equal(1, h.Fake.TokenRequests(Harness.AppId));
    }

    [Fact]
    public async Task The_same_key_sent_twice_reaches_the_person_once()
    {
        await using var h = await Harness.StartAsync();

        var first = await h.Senders.SendAsync(Harness.Template("d~2"), Harness.WeChatAccount, default);
        var second = await h.Senders.SendAsync(Harness.Template("d~2"), Harness.WeChatAccount, default);

        Assert.Equal(SendOutcome.Accepted, second.Outcome);
        Assert.Equal(first.ProviderMessageId, second.ProviderMessageId);
        Assert.Single(h.Fake.Accepted);
        Assert.Equal(1, h.Fake.Duplicates);
    }

    [Fact]
    public async Task A_key_too_long_for_client_msg_id_is_sent_as_a_stable_digest()
    {
        await using var h = await Harness.StartAsync();
        var key = "journey~" + new string('k', 100);

        await h.Senders.SendAsync(Harness.Template(key), Harness.WeChatAccount, default);
        await h.Senders.SendAsync(Harness.Template(key), Harness.WeChatAccount, default);

        var sent = Assert.Single(h.Fake.Accepted).IdempotencyKey!;
        Assert.StartsWith("sha256~", sent);
        Assert.True(sent.Length <= 64);
        Assert.Equal(1, h.Fake.Duplicates);
    }

    [Fact]
    public async Task A_500_then_ok_is_attempted_again_and_delivers_one_message()
    {
        await using var h = await Harness.StartAsync();
        h.Fake.FailNext("openid-1", Fault.Http(500));

        var result = await h.Senders.SendAsync(Harness.Template("d~3"), Harness.WeChatAccount, default);

        Assert.Equal(SendOutcome.Accepted, result.Outcome);
        Assert.Equal(2, h.Fake.Requests);
        Assert.Single(h.Fake.Accepted);
    }

    [Fact]
    public async Task An_answer_lost_to_a_timeout_then_sent_again_with_the_same_key_is_one_message()
    {
        // A timeout long enough that a loaded machine still gets the request to the fake before it (the first send
        // must be taken, then its answer lost), far shorter than the hang.
        await using var h = await Harness.StartAsync(settings: new Dictionary<string, string?>
        {
            ["Channels:Timeout"] = "00:00:02",
            ["Channels:MaxAttempts"] = "1",
        });
        h.Fake.FailNext("openid-1", Fault.AcceptThenHang(TimeSpan.FromSeconds(20)));

        var lost = await h.Senders.SendAsync(Harness.Template("d~4"), Harness.WeChatAccount, default);
        var again = await h.Senders.SendAsync(Harness.Template("d~4"), Harness.WeChatAccount, default);

        Assert.Equal((SendOutcome.Retry, "timeout"), (lost.Outcome, lost.Code));
        Assert.Equal(SendOutcome.Accepted, again.Outcome);
        var message = Assert.Single(h.Fake.Accepted);
        Assert.Equal(message.ProviderMessageId, again.ProviderMessageId);
        Assert.Equal(1, h.Fake.Duplicates);
    }

    [Fact]
    public async Task A_timeout_inside_one_send_is_attempted_again_with_the_same_key()
    {
        await using var h = await Harness.StartAsync(settings: new Dictionary<string, string?> { ["Channels:Timeout"] = "00:00:02" });
        h.Fake.FailNext("openid-1", Fault.AcceptThenHang(TimeSpan.FromSeconds(20)));

        var result = await h.Senders.SendAsync(Harness.Template("d~5"), Harness.WeChatAccount, default);

        Assert.Equal(SendOutcome.Accepted, result.Outcome);
        Assert.Single(h.Fake.Accepted);
        Assert.Equal(1, h.Fake.Duplicates);
    }

    [Fact]
    public async Task A_subscribe_send_that_timed_out_is_not_repeated_because_it_has_no_key()
    {
        await using var h = await Harness.StartAsync(settings: new Dictionary<string, string?> { ["Channels:Timeout"] = "00:00:00.300" });
        h.Fake.FailNext("openid-1", Fault.AcceptThenHang(TimeSpan.FromSeconds(5)));

        var result = await h.Senders.SendAsync(Harness.Subscribe("d~6"), Harness.WeChatAccount, default);

        Assert.Equal((SendOutcome.Retry, "timeout"), (result.Outcome, result.Code));
        Assert.Equal(1, h.Fake.Requests);
    }

    [Fact]
    public async Task A_token_that_expires_mid_run_is_refreshed_and_the_send_succeeds()
    {
        await using var h = await Harness.StartAsync();
        await h.Senders.SendAsync(Harness.Template("d~7a"), Harness.WeChatAccount, default);

        h.Fake.ExpireTokens();
        var result = await h.Senders.SendAsync(Harness.Template("d~7b"), Harness.WeChatAccount, default);

        Assert.Equal(SendOutcome.Accepted, result.Outcome);
        Assert.Equal(2, h.Fake.TokenRequests(Harness.AppId));
        Assert.Equal(2, h.Fake.Accepted.Count);
        Assert.Equal(3, h.Fake.Requests); // the send refused with 42001, and the one after the refresh
    }

    [Fact]
    public async Task A_refused_token_that_stable_token_hands_back_again_is_force_refreshed()
    {
        await using var h = await Harness.StartAsync();
        h.Fake.FailNext("openid-1", Fault.WeChat(40001, "invalid credential"));

        var result = await h.Senders.SendAsync(Harness.Template("d~8"), Harness.WeChatAccount, default);

        Assert.Equal(SendOutcome.Accepted, result.Outcome);
        // the first token; the same one again in ordinary mode; a new one with force_refresh
        Assert.Equal(3, h.Fake.TokenRequests(Harness.AppId));
        Assert.Single(h.Fake.Accepted);
    }

    [Fact]
    public async Task A_token_refused_even_after_a_refresh_is_retry_later_not_a_loop()
    {
        await using var h = await Harness.StartAsync();
        h.Fake.FailNext("openid-1", Fault.WeChat(42001), Fault.WeChat(42001));

        var result = await h.Senders.SendAsync(Harness.Template("d~9"), Harness.WeChatAccount, default);

        Assert.Equal((SendOutcome.Retry, "wechat_42001"), (result.Outcome, result.Code));
        Assert.Equal(2, h.Fake.Requests);
    }

    [Fact]
    public async Task Fifty_concurrent_sends_on_a_cold_cache_make_exactly_one_token_request()
    {
        await using var h = await Harness.StartAsync();
        h.Fake.SetLatency(TimeSpan.FromMilliseconds(50));

        var results = await Task.WhenAll(Enumerable.Range(0, 50).Select(i =>
            h.Senders.SendAsync(Harness.Template($"d~10~{i}", $"openid-{i}"), Harness.WeChatAccount, default)));

        Assert.All(results, r => Assert.Equal(SendOutcome.Accepted, r.Outcome));
        Assert.Equal(1, h.Fake.TokenRequests(Harness.AppId));
        Assert.Equal(50, h.Fake.Accepted.Count);
    }

    [Fact]
    public async Task The_token_is_refreshed_a_margin_before_it_expires_when_the_clock_moves()
    {
        var clock = new FakeTimeProvider(DateTimeOffset.Parse("2026-03-01T08:00:00Z"));
        await using var h = await Harness.StartAsync(clock);
        await h.Senders.SendAsync(Harness.Template("d~11a"), Harness.WeChatAccount, default);

        clock.Advance(TimeSpan.FromSeconds(7200 - 300 - 1)); // one second before the 5-minute margin
        await h.Senders.SendAsync(Harness.Template("d~11b"), Harness.WeChatAccount, default);
        Assert.Equal(1, h.Fake.TokenRequests(Harness.AppId));

        clock.Advance(TimeSpan.FromSeconds(2));
        var result = await h.Senders.SendAsync(Harness.Template("d~11c"), Harness.WeChatAccount, default);
        Assert.Equal(SendOutcome.Accepted, result.Outcome);
        Assert.Equal(2, h.Fake.TokenRequests(Harness.AppId));
    }

    [Fact]
    public async Task A_failed_early_refresh_keeps_sending_with_the_token_that_is_still_valid()
    {
        var clock = new FakeTimeProvider(DateTimeOffset.Parse("2026-03-01T08:00:00Z"));
        await using var h = await Harness.StartAsync(clock);
        await h.Senders.SendAsync(Harness.Template("d~12a"), Harness.WeChatAccount, default);

        h.Fake.RegisterApp(Harness.AppId, "rotated-secret"); // stable_token now answers 40125 to our secret
        clock.Advance(TimeSpan.FromSeconds(7200 - 60));      // inside the refresh margin, before expiry
        var result = await h.Senders.SendAsync(Harness.Template("d~12b"), Harness.WeChatAccount, default);

        Assert.Equal(SendOutcome.Accepted, result.Outcome);
        Assert.Equal(2, h.Fake.TokenRequests(Harness.AppId));
        Assert.Equal(2, h.Fake.Accepted.Count);
    }

    [Fact]
    public async Task A_subscribe_message_carries_its_page_and_no_client_msg_id()
    {
        await using var h = await Harness.StartAsync();

        var result = await h.Senders.SendAsync(Harness.Subscribe("d~12"), Harness.WeChatAccount, default);

        Assert.Equal(SendOutcome.Accepted, result.Outcome);
        var message = Assert.Single(h.Fake.Accepted);
        Assert.Equal(("miniprogram_subscribe", "pages/index?from=siyu", null), (message.Channel, message.Link, message.IdempotencyKey));
    }

    [Fact]
    public async Task A_refused_subscription_43101_is_entitlement_lost()
    {
        await using var h = await Harness.StartAsync();
        h.Fake.FailNext("openid-1", Fault.WeChat(43101, "user refuse to accept the msg"));

        var result = await h.Senders.SendAsync(Harness.Subscribe("d~13"), Harness.WeChatAccount, default);

        Assert.Equal((SendOutcome.EntitlementLost, "wechat_43101"), (result.Outcome, result.Code));
        Assert.Empty(h.Fake.Accepted);
    }

    [Fact]
    public async Task An_invalid_template_40037_is_rejected_and_not_attempted_again()
    {
        await using var h = await Harness.StartAsync();
        h.Fake.FailNext("openid-1", Fault.WeChat(40037, "invalid template_id"));

        var result = await h.Senders.SendAsync(Harness.Template("d~14"), Harness.WeChatAccount, default);

        Assert.Equal((SendOutcome.Rejected, "wechat_40037"), (result.Outcome, result.Code));
        Assert.Equal(1, h.Fake.Requests);
    }

    [Fact]
    public async Task A_used_up_daily_quota_45009_is_retry_after_the_next_midnight_in_china()
    {
        var clock = new FakeTimeProvider(DateTimeOffset.Parse("2026-03-01T15:30:00Z")); // 23:30 in Beijing
        await using var h = await Harness.StartAsync(clock);
        h.Fake.FailNext("openid-1", Fault.WeChat(45009, "reach max api daily quota limit"));

        var result = await h.Senders.SendAsync(Harness.Template("d~15"), Harness.WeChatAccount, default);

        Assert.Equal((SendOutcome.Retry, "wechat_45009"), (result.Outcome, result.Code));
        Assert.Equal(TimeSpan.FromMinutes(31), result.RetryAfter);
        Assert.Equal(1, h.Fake.Requests);
    }

    [Fact]
    public async Task System_busy_is_attempted_again_inside_the_send()
    {
        await using var h = await Harness.StartAsync();
        h.Fake.FailNext("openid-1", Fault.WeChat(-1, "system error"));

        var result = await h.Senders.SendAsync(Harness.Template("d~16"), Harness.WeChatAccount, default);

        Assert.Equal(SendOutcome.Accepted, result.Outcome);
        Assert.Equal(2, h.Fake.Requests);
    }

    [Fact]
    public async Task A_wrong_app_secret_is_rejected_with_the_wechat_code_and_sends_nothing()
    {
        await using var h = await Harness.StartAsync();

        var result = await h.Senders.SendAsync(Harness.Template("d~17"), new ChannelAccount(AppId: Harness.AppId, AppSecret: "wrong"), default);

        Assert.Equal((SendOutcome.Rejected, "wechat_40125"), (result.Outcome, result.Code));
        Assert.Equal(0, h.Fake.Requests);
    }
}
