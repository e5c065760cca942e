using System.Text;
using Siyu.FakeProviders;

namespace Siyu.Channels.Tests;

/// <summary>The generic provider contract (wecom, sms, email, push), its receipts, and the webhook channel, over
/// real HTTP against the fake.</summary>
public sealed class ProviderSendTests
{
    [Fact]
    public async Task A_provider_accepts_with_202_and_answers_a_repeat_with_the_same_id()
    {
        await using var h = await Harness.StartAsync();
        var message = Harness.Provider(ChannelNames.Sms, "d~p1", "+8613800138000");

        var first = await h.Senders.SendAsync(message, Harness.ProviderAccount, default);
        var second = await h.Senders.SendAsync(message, Harness.ProviderAccount, default);

        Assert.Equal(SendOutcome.Accepted, first.Outcome);
        Assert.Equal(first.ProviderMessageId, second.ProviderMessageId);
        var sent = Assert.Single(h.Fake.Accepted);
        Assert.Equal(("sms", "+8613800138000", "SMS_1234", "d~p1", "ref-d~p1", "SIYU"),
            (sent.Channel, sent.Recipient, sent.Template, sent.IdempotencyKey, sent.Reference, sent.Sender));
        Assert.Equal("4711", sent.Fields["code"]);
        Assert.Equal(1, h.Fake.Duplicates);
    }

    [Theory]
    [InlineData(ChannelNames.WeCom, "wmExternalUser1")]
    [InlineData(ChannelNames.Email, "li.lei@example.cn")]
    [InlineData(ChannelNames.Push, "device-42")]
    public async Task Every_generic_channel_speaks_the_same_contract(string channel, string to)
    {
        await using var h = await Harness.StartAsync();

        var result = await h.Senders.SendAsync(Harness.Provider(channel, "d~p2", to), Harness.ProviderAccount, default);

        Assert.Equal(SendOutcome.Accepted, result.Outcome);
        Assert.Equal(channel, Assert.Single(h.Fake.Accepted).Channel);
    }

    [Fact]
    public async Task A_422_is_rejected_with_the_providers_code_and_not_attempted_again()
    {
        await using var h = await Harness.StartAsync();

        var result = await h.Senders.SendAsync(Harness.Provider(ChannelNames.Sms, "d~p3", "13800138000"), Harness.ProviderAccount, default);

        Assert.Equal((SendOutcome.Rejected, "invalid_recipient"), (result.Outcome, result.Code));
        Assert.Equal(1, h.Fake.Requests);
    }

    [Fact]
    public async Task A_short_429_is_waited_out_inside_the_send()
    {
        await using var h = await Harness.StartAsync();
        h.Fake.FailNext("+8613800138001", Fault.TooManyRequests(TimeSpan.FromSeconds(1)));

        var result = await h.Senders.SendAsync(Harness.Provider(ChannelNames.Sms, "d~p4", "+8613800138001"), Harness.ProviderAccount, default);

        Assert.Equal(SendOutcome.Accepted, result.Outcome);
        Assert.Equal(2, h.Fake.Requests);
    }

    [Fact]
    public async Task A_long_429_is_handed_back_as_retry_with_the_providers_retry_after()
    {
        await using var h = await Harness.StartAsync();
        h.Fake.FailNext("+8613800138002", Fault.TooManyRequests(TimeSpan.FromSeconds(120)));

        var result = await h.Senders.SendAsync(Harness.Provider(ChannelNames.Sms, "d~p5", "+8613800138002"), Harness.ProviderAccount, default);

        Assert.Equal((SendOutcome.Retry, "rate_limited", TimeSpan.FromSeconds(120)), (result.Outcome, result.Code, result.RetryAfter));
        Assert.Equal(1, h.Fake.Requests);
    }

    [Fact]
    public async Task An_unknown_key_is_rejected_as_unauthorized()
    {
        await using var h = await Harness.StartAsync();

        var result = await h.Senders.SendAsync(Harness.Provider(ChannelNames.Sms, "d~p6", "+8613800138000"), new ChannelAccount(ApiKey: "pk_wrong"), default);

        Assert.Equal((SendOutcome.Rejected, "unauthorized"), (result.Outcome, result.Code));
        Assert.Equal(1, h.Fake.Requests);
    }

    [Fact]
    public async Task Server_errors_are_attempted_up_to_max_attempts_then_retry()
    {
        await using var h = await Harness.StartAsync();
        h.Fake.FailNext("+8613800138003", Fault.Http(503), Fault.Http(500), Fault.Http(502));

        var result = await h.Senders.SendAsync(Harness.Provider(ChannelNames.Sms, "d~p7", "+8613800138003"), Harness.ProviderAccount, default);

        Assert.Equal((SendOutcome.Retry, "http_502"), (result.Outcome, result.Code));
        Assert.Equal(3, h.Fake.Requests);
        Assert.Empty(h.Fake.Accepted);
    }

    [Fact]
    public async Task A_provider_that_does_not_dedupe_is_not_asked_again_once_a_request_may_have_reached_it()
    {
        await using var h = await Harness.StartAsync();
        h.Fake.RegisterApiKey("pk_aliyun", dedupes: false);
        var account = new ChannelAccount(ApiKey: "pk_aliyun", Dedupes: false);
        h.Fake.FailNext("+8613800138011", Fault.AcceptThenHang(TimeSpan.FromSeconds(5)));
        h.Fake.FailNext("+8613800138012", Fault.Http(503));
        h.Fake.FailNext("+8613800138013", Fault.TooManyRequests(TimeSpan.FromSeconds(1)));

        var hung = await h.Senders.SendAsync(Harness.Provider(ChannelNames.Sms, "d~n1", "+8613800138011"), account, default);
        var failed = await h.Senders.SendAsync(Harness.Provider(ChannelNames.Sms, "d~n2", "+8613800138012"), account, default);
        var limited = await h.Senders.SendAsync(Harness.Provider(ChannelNames.Sms, "d~n3", "+8613800138013"), account, default);

        // Taken, then no answer: asked once, and the caller is told it may have gone.
        Assert.Equal((SendOutcome.Retry, "timeout", true), (hung.Outcome, hung.Code, hung.MaybeDelivered));
        Assert.Equal(1, h.Fake.RequestsFor("+8613800138011"));
        Assert.Single(h.Fake.Accepted, m => m.Recipient == "+8613800138011");
        Assert.Equal((SendOutcome.Retry, "http_503", true), (failed.Outcome, failed.Code, failed.MaybeDelivered));
        Assert.Equal(1, h.Fake.RequestsFor("+8613800138012"));
        // A 429 never carried the message: waited out and asked again.
        Assert.Equal(SendOutcome.Accepted, limited.Outcome);
        Assert.Equal(2, h.Fake.RequestsFor("+8613800138013"));
    }

    [Fact]
    public async Task A_deduping_provider_is_asked_again_after_a_timeout_and_takes_the_message_once()
    {
        await using var h = await Harness.StartAsync();
        h.Fake.FailNext("+8613800138014", Fault.AcceptThenHang(TimeSpan.FromSeconds(5)));

        var result = await h.Senders.SendAsync(Harness.Provider(ChannelNames.Sms, "d~n4", "+8613800138014"), Harness.ProviderAccount, default);

        Assert.Equal((SendOutcome.Accepted, false), (result.Outcome, result.MaybeDelivered));
        Assert.Equal(2, h.Fake.RequestsFor("+8613800138014"));
        Assert.Single(h.Fake.Accepted);
        Assert.Equal(1, h.Fake.Duplicates);
    }

    [Fact]
    public async Task A_fake_key_that_does_not_dedupe_takes_a_repeated_key_as_another_message_and_counts_it()
    {
        await using var h = await Harness.StartAsync();
        h.Fake.RegisterApiKey("pk_tencent", dedupes: false);
        var account = new ChannelAccount(ApiKey: "pk_tencent", Dedupes: false);
        var message = Harness.Provider(ChannelNames.Sms, "d~n5", "+8613800138015");

        var first = await h.Senders.SendAsync(message, account, default);
        var second = await h.Senders.SendAsync(message, account, default);

        Assert.Equal((SendOutcome.Accepted, SendOutcome.Accepted), (first.Outcome, second.Outcome));
        Assert.NotEqual(first.ProviderMessageId, second.ProviderMessageId);
        Assert.Equal(2, h.Fake.Accepted.Count(m => m.IdempotencyKey == "d~n5"));
        Assert.Equal((0, 1), (h.Fake.Duplicates, h.Fake.Repeated));
        using var http = new HttpClient();
        var stats = System.Text.Json.JsonDocument.Parse(await http.GetStringAsync(new Uri(h.Fake.BaseUrl, "fake/stats"))).RootElement;
        Assert.Equal(1, stats.GetProperty("repeated").GetInt32());
    }

    [Fact]
    public async Task An_unreachable_provider_is_retry_network()
    {
        await using var h = await Harness.StartAsync(settings: new Dictionary<string, string?>
        {
            ["Channels:ProviderBaseUrls:sms"] = "http://127.0.0.1:1", // nothing listens on port 1
        });

        var result = await h.Senders.SendAsync(Harness.Provider(ChannelNames.Sms, "d~p8", "+8613800138000"), Harness.ProviderAccount, default);

        Assert.Equal((SendOutcome.Retry, "network"), (result.Outcome, result.Code));
    }

    [Fact]
    public async Task A_receipt_is_posted_signed_with_the_tenants_key_and_a_tampered_body_fails_verification()
    {
        await using var h = await Harness.StartAsync();
        h.Fake.ReceiptCallbackUrl = new Uri(h.Fake.BaseUrl, "fake/receipts");

        var sent = await h.Senders.SendAsync(Harness.Provider(ChannelNames.Sms, "d~p9", "+8613800138000"), Harness.ProviderAccount, default);
        var receipt = await FirstReceiptAsync(h.Fake);

        Assert.True(ReceiptSignature.Verify(Harness.ApiKey, receipt.Body, receipt.Signature));
        Assert.True(ProviderReceipt.TryParse(receipt.Body, out var parsed, out var error), error);
        Assert.Equal((sent.ProviderMessageId, "ref-d~p9", ProviderReceipt.Delivered), (parsed.Id, parsed.Reference, parsed.Status));
        Assert.NotNull(parsed.At);

        var tampered = Encoding.UTF8.GetBytes(Encoding.UTF8.GetString(receipt.Body).Replace("delivered", "failed"));
        Assert.False(ReceiptSignature.Verify(Harness.ApiKey, tampered, receipt.Signature));
        Assert.False(ReceiptSignature.Verify("another-tenants-key", receipt.Body, receipt.Signature));
    }

    [Fact]
    public async Task A_scripted_delivery_failure_comes_back_as_a_failed_receipt_with_its_error()
    {
        await using var h = await Harness.StartAsync();
        h.Fake.ReceiptCallbackUrl = new Uri(h.Fake.BaseUrl, "fake/receipts");
        h.Fake.FailNext("+8613800138004", Fault.ReceiptFails("handset_off", "The handset was unreachable."));

        var sent = await h.Senders.SendAsync(Harness.Provider(ChannelNames.Sms, "d~p10", "+8613800138004"), Harness.ProviderAccount, default);
        var receipt = await FirstReceiptAsync(h.Fake);

        Assert.Equal(SendOutcome.Accepted, sent.Outcome);
        Assert.True(ProviderReceipt.TryParse(receipt.Body, out var parsed, out _));
        Assert.Equal((ProviderReceipt.Failed, "handset_off", "The handset was unreachable."), (parsed.Status, parsed.ErrorCode, parsed.ErrorMessage));
    }

    [Fact]
    public async Task A_webhook_is_signed_with_the_accounts_key_and_delivered_once_per_key()
    {
        await using var h = await Harness.StartAsync();
        h.Fake.WebhookSecret = "hook-secret";
        var account = new ChannelAccount(ApiKey: "hook-secret", Url: new Uri(h.Fake.BaseUrl, "hooks/crm").ToString());
        var message = Webhook("d~w1");

        var first = await h.Senders.SendAsync(message, account, default);
        var second = await h.Senders.SendAsync(message, account, default);

        Assert.Equal((SendOutcome.Accepted, SendOutcome.Accepted), (first.Outcome, second.Outcome));
        var hook = Assert.Single(h.Fake.Accepted);
        Assert.Equal(("webhook", "/hooks/crm", "order_shipped", "ref-d~w1", "SF123"),
            (hook.Channel, hook.Link, hook.Template, hook.Reference, hook.Fields["tracking"]));
        Assert.Equal(1, h.Fake.Duplicates);
    }

    [Fact]
    public async Task A_webhook_with_the_wrong_signing_key_is_rejected()
    {
        await using var h = await Harness.StartAsync();
        h.Fake.WebhookSecret = "hook-secret";
        var account = new ChannelAccount(ApiKey: "not-the-secret", Url: new Uri(h.Fake.BaseUrl, "hooks/crm").ToString());

        var result = await h.Senders.SendAsync(Webhook("d~w2"), account, default);

        Assert.Equal((SendOutcome.Rejected, "unauthorized"), (result.Outcome, result.Code));
        Assert.Equal(1, h.Fake.Requests);
    }

    [Fact]
    public async Task A_webhook_5xx_is_attempted_again_and_a_4xx_is_rejected_at_once()
    {
        await using var h = await Harness.StartAsync();
        var account = new ChannelAccount(Url: new Uri(h.Fake.BaseUrl, "hooks/crm").ToString());
        h.Fake.FailNext("member-1", Fault.Http(503));
        h.Fake.FailNext("member-2", Fault.Http(400, "bad_payload"));

        var recovered = await h.Senders.SendAsync(Webhook("d~w3", "member-1"), account, default);
        var refused = await h.Senders.SendAsync(Webhook("d~w4", "member-2"), account, default);

        Assert.Equal(SendOutcome.Accepted, recovered.Outcome);
        Assert.Equal(2, h.Fake.RequestsFor("member-1"));
        Assert.Equal((SendOutcome.Rejected, "bad_payload"), (refused.Outcome, refused.Code));
        Assert.Equal(1, h.Fake.RequestsFor("member-2"));
    }

    private static ChannelMessage Webhook(string key, string to = "member-9") =>
        new(Harness.Tenant, ChannelNames.Webhook, key, to, null, "order_shipped",
            new Dictionary<string, string> { ["tracking"] = "SF123" }, null, "ref-" + key);

    /// <summary>Receipts are sent fire-and-forget after a short delay; wait for the first to arrive.</summary>
    private static async Task<ReceivedReceipt> FirstReceiptAsync(FakeProviderServer fake)
    {
        using var patience = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        while (fake.ReceivedReceipts.Count == 0) await Task.Delay(10, patience.Token);
        return fake.ReceivedReceipts[0];
    }
}
