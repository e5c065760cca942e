using Siyu.Channels.WeCom;
using Siyu.FakeProviders;

namespace Siyu.Channels.Tests;

/// <summary>WeCom (企业微信) over its own API against the fake: a token per corp and secret, customer messages and app messages.</summary>
public sealed class WeComTests
{
    private static ChannelMessage Customer(string key, string to = "wmCustomer1", string? link = null, Dictionary<string, string>? fields = null) =>
        new(Harness.Tenant, ChannelNames.WeCom, key, to, null, WeComMessages.Customer,
            fields ?? new Dictionary<string, string> { ["content"] = "静静，春季新品到店了" }, link, "p1~d~" + key, Marketing: true);

    private static ChannelMessage ToMember(string key, string to = "lisi") =>
        new(Harness.Tenant, ChannelNames.WeCom, key, to, null, WeComMessages.App,
            new Dictionary<string, string> { ["content"] = "你的客户静静刚下单" }, null, "p1~d~" + key);

    [Fact]
    public async Task A_customer_message_becomes_one_task_of_the_sender_with_a_token_asked_for_once()
    {
        await using var h = await Harness.StartAsync();
        h.Fake.RegisterWeComCustomer("wmCustomer1", "zhangsan");
        h.Fake.RegisterWeComCustomer("wmCustomer2", "zhangsan");

        var first = await h.Senders.SendAsync(Customer("d~w1", link: "https://shop.example/spring",
            fields: new() { ["content"] = "静静，春季新品到店了", ["linkTitle"] = "春季上新" }), Harness.WeComAccount, default);
        var second = await h.Senders.SendAsync(Customer("d~w2", to: "wmCustomer2"), Harness.WeComAccount, default);

        Assert.True(first.Outcome == SendOutcome.Accepted, first.ToString());
        Assert.Equal(SendOutcome.Accepted, second.Outcome);
        var task = h.Fake.Accepted.Single(m => m.Recipient == "wmCustomer1");
        Assert.Equal(("msg_template", "zhangsan", "静静，春季新品到店了"), (task.Template, task.Sender, task.Fields["content"]));
        Assert.Contains("春季上新", task.Link);
        Assert.Contains("https://shop.example/spring", task.Link);
        Assert.Equal(task.ProviderMessageId, first.ProviderMessageId);
        Assert.Equal(1, h.Fake.WeComTokenRequests);
    }

    [Fact]
    public async Task A_customer_in_the_fail_list_is_an_invalid_recipient()
    {
        await using var h = await Harness.StartAsync();
        h.Fake.RegisterWeComCustomer("wmOfLisi", "lisi");
        h.Fake.RegisterWeComMember("zhangsan");

        var notTheirs = await h.Senders.SendAsync(Customer("d~w3", to: "wmOfLisi"), Harness.WeComAccount, default);
        var unknown = await h.Senders.SendAsync(Customer("d~w4", to: "wmNobody"), Harness.WeComAccount, default);

        Assert.Equal((SendOutcome.Rejected, "invalid_recipient"), (notTheirs.Outcome, notTheirs.Code));
        Assert.Contains("fail_list", notTheirs.Detail);
        Assert.Equal((SendOutcome.Rejected, "invalid_recipient"), (unknown.Outcome, unknown.Code));
        Assert.Empty(h.Fake.Accepted);
    }

    [Fact]
    public async Task An_app_message_goes_from_the_agent_to_the_member_and_an_unknown_member_is_an_invalid_recipient()
    {
        await using var h = await Harness.StartAsync();
        h.Fake.RegisterWeComMember("lisi");

        var sent = await h.Senders.SendAsync(ToMember("d~w5"), Harness.WeComAccount, default);
        var nobody = await h.Senders.SendAsync(ToMember("d~w6", to: "nobody"), Harness.WeComAccount, default);
        var noAgent = await h.Senders.SendAsync(ToMember("d~w7"), Harness.WeComAccount with { KeyId = null }, default);
        var wrongAgent = await h.Senders.SendAsync(ToMember("d~w8"), Harness.WeComAccount with { KeyId = "1000099" }, default);

        Assert.Equal(SendOutcome.Accepted, sent.Outcome);
        var message = Assert.Single(h.Fake.Accepted);
        Assert.Equal(("lisi", "app_message", "1000002"), (message.Recipient, message.Template, message.Sender));
        Assert.Equal((SendOutcome.Rejected, "invalid_recipient"), (nobody.Outcome, nobody.Code));
        Assert.Equal("missing_credentials", noAgent.Code);
        Assert.Equal("wecom_40056", wrongAgent.Code);
    }

    [Fact]
    public async Task An_expired_token_is_replaced_and_the_message_sent_once()
    {
        await using var h = await Harness.StartAsync();
        h.Fake.RegisterWeComCustomer("wmCustomer1", "zhangsan");
        Assert.Equal(SendOutcome.Accepted, (await h.Senders.SendAsync(Customer("d~w9"), Harness.WeComAccount, default)).Outcome);
        h.Fake.ExpireWeComTokens();

        var again = await h.Senders.SendAsync(Customer("d~w10"), Harness.WeComAccount, default);

        Assert.Equal(SendOutcome.Accepted, again.Outcome);
        Assert.Equal(2, h.Fake.WeComTokenRequests);
        Assert.Equal(2, h.Fake.Accepted.Count);
    }

    [Fact]
    public async Task A_wrong_secret_or_corpid_is_unauthorized_and_nothing_is_sent()
    {
        await using var h = await Harness.StartAsync();
        h.Fake.RegisterWeComCustomer("wmCustomer1", "zhangsan");

        var wrongSecret = await h.Senders.SendAsync(Customer("d~w11"), Harness.WeComAccount with { ApiKey = "not-the-secret" }, default);
        var wrongCorp = await h.Senders.SendAsync(Customer("d~w12"), Harness.WeComAccount with { AppId = "wwnobody" }, default);

        Assert.Equal((SendOutcome.Rejected, "unauthorized"), (wrongSecret.Outcome, wrongSecret.Code));
        Assert.Equal((SendOutcome.Rejected, "unauthorized"), (wrongCorp.Outcome, wrongCorp.Code));
        Assert.Empty(h.Fake.Accepted);
    }

    [Fact]
    public async Task Busy_is_attempted_again_and_a_lost_answer_is_not_sent_twice()
    {
        await using var h = await Harness.StartAsync();
        h.Fake.RegisterWeComCustomer("wmBusy", "zhangsan");
        h.Fake.RegisterWeComCustomer("wmSlow", "zhangsan");
        h.Fake.FailNext("wmBusy", Fault.WeChat(-1, "system busy"));
        h.Fake.FailNext("wmSlow", Fault.AcceptThenHang(TimeSpan.FromSeconds(10)));

        var busy = await h.Senders.SendAsync(Customer("d~w13", to: "wmBusy"), Harness.WeComAccount, default);
        var slow = await h.Senders.SendAsync(Customer("d~w14", to: "wmSlow"), Harness.WeComAccount, default);

        Assert.Equal(SendOutcome.Accepted, busy.Outcome);
        Assert.Equal(2, h.Fake.RequestsFor("wmBusy"));
        Assert.Equal((SendOutcome.Retry, "timeout", true), (slow.Outcome, slow.Code, slow.MaybeDelivered));
        Assert.Equal(1, h.Fake.RequestsFor("wmSlow"));
        Assert.Single(h.Fake.Accepted, m => m.Recipient == "wmSlow");
    }

    [Fact]
    public async Task A_template_of_another_kind_or_with_other_fields_sends_nothing()
    {
        await using var h = await Harness.StartAsync();

        var kind = await h.Senders.SendAsync(Customer("d~w15") with { ProviderTemplate = "news" }, Harness.WeComAccount, default);
        var stray = await h.Senders.SendAsync(Customer("d~w16", fields: new() { ["content"] = "x", ["title"] = "y" }), Harness.WeComAccount, default);
        var empty = await h.Senders.SendAsync(Customer("d~w17", fields: new() { ["sender"] = "zhangsan" }), Harness.WeComAccount, default);

        Assert.Equal(("wecom_template_fields", "wecom_template_fields", "wecom_template_fields"), (kind.Code, stray.Code, empty.Code));
        Assert.Equal(0, h.Fake.Requests);
    }

    [Theory]
    [InlineData(-1, SendOutcome.Retry, "wecom_-1")]
    [InlineData(45009, SendOutcome.Retry, "rate_limited")]
    [InlineData(45033, SendOutcome.Retry, "rate_limited")]
    [InlineData(42001, SendOutcome.Retry, "wecom_42001")]
    [InlineData(40001, SendOutcome.Rejected, "unauthorized")]
    [InlineData(40013, SendOutcome.Rejected, "unauthorized")]
    [InlineData(48002, SendOutcome.Rejected, "unauthorized")]
    [InlineData(60020, SendOutcome.Rejected, "unauthorized")]
    [InlineData(40096, SendOutcome.Rejected, "invalid_recipient")]
    [InlineData(84061, SendOutcome.Rejected, "invalid_recipient")]
    [InlineData(41048, SendOutcome.Rejected, "invalid_recipient")]
    [InlineData(45002, SendOutcome.Rejected, "wecom_45002")]
    [InlineData(99999, SendOutcome.Rejected, "wecom_99999")]
    public void Every_errcode_maps_to_what_the_delivery_worker_should_do(int errcode, SendOutcome outcome, string ours)
    {
        var result = WeComErrors.Outcome(errcode);

        Assert.Equal((outcome, ours), (result.Outcome, result.Code));
    }
}
