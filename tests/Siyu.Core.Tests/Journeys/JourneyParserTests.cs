using System.Text.Json.Nodes;
using Siyu.Core.Journeys;
using Siyu.Core.Segments;
using static Siyu.Core.Tests.Journeys.JourneyKit;

namespace Siyu.Core.Tests.Journeys;

/// <summary>Journeys that publish, read into the model as written.</summary>
public sealed class JourneyParserTests
{
    [Fact]
    public void The_cart_recovery_journey_reads_node_for_node()
    {
        var j = Parse(CartRecovery);

        Assert.Equal("Cart recovery", j.Name);
        Assert.Equal(EntryKind.Event, j.Entry.On);
        Assert.Equal("add_to_cart", j.Entry.Event!.Name);
        Assert.Null(j.Entry.Event.Where);
        Assert.Null(j.Entry.Segment);
        Assert.Equal(ReentryPolicy.Once, j.Entry.Reentry);
        Assert.Null(j.Entry.DedupeKey);
        Assert.Equal("unsubscribe", Assert.Single(j.ExitOn).Name);
        Assert.Equal("order_paid", j.Goal!.Event.Name);
        Assert.Equal(TimeSpan.FromDays(7), j.Goal.Within);
        Assert.Equal("wait_pay", j.Start);
        Assert.Equal(["wait_pay", "remind", "wait_pay_2", "offer", "give_coupon", "done"], j.Nodes.Keys.ToList());

        var wait = Assert.IsType<WaitNode>(j.Node("wait_pay"));
        Assert.Equal(("order_paid", TimeSpan.FromHours(2), "done", "remind"), (wait.Event.Name, wait.Timeout, wait.Arrived, wait.TimedOut));
        Assert.Equal("waitForEvent", wait.Type);
        Assert.True(wait.Pauses);

        var remind = Assert.IsType<SendNode>(j.Node("remind"));
        Assert.Equal(("wechat_oa", "cart_reminder", "wait_pay_2"), (remind.Channel, remind.Template, remind.NextNode));
        Assert.Equal("{{context.event.product}}", remind.Variables["product"]);
        Assert.Equal("{{attributes.nickname}}", remind.Variables["nickname"]);
        Assert.False(remind.Pauses);

        var wait2 = Assert.IsType<WaitNode>(j.Node("wait_pay_2"));
        Assert.Equal((TimeSpan.FromDays(1), "done", "offer"), (wait2.Timeout, wait2.Arrived, wait2.TimedOut));

        var split = Assert.IsType<SplitNode>(j.Node("offer"));
        Assert.Equal([new SplitBranch("coupon", 50, "give_coupon", false), new SplitBranch("control", 50, null, true)], split.Branches);
        Assert.Equal([("coupon", (string?)"give_coupon")], split.Exits.ToList());

        var coupon = Assert.IsType<SendNode>(j.Node("give_coupon"));
        Assert.Equal(("sms", "coupon_10", "done"), (coupon.Channel, coupon.Template, coupon.NextNode));
        Assert.IsType<ExitNode>(j.Node("done"));
        Assert.Empty(j.Node("done").Exits);

        Assert.Equal(["add_to_cart", "unsubscribe", "order_paid", "order_paid", "order_paid"], j.EventNames.ToList());
        Assert.Throws<KeyNotFoundException>(() => j.Node("nope"));
    }

    [Fact]
    public void A_segment_entry_reacts_to_segment_entered_events()
    {
        var j = Parse("""
            {"name": "Welcome", "entry": {"on": "segment", "segment": "new-members", "reentry": "afterExit"},
             "start": "hello", "nodes": {"hello": {"type": "send", "channel": "sms", "template": "welcome", "next": "bye"}, "bye": {"type": "exit"}}}
            """);
        Assert.Equal(new JourneyEntry(EntryKind.Segment, null, "new-members", ReentryPolicy.AfterExit, null), j.Entry);
        Assert.Equal([SegmentEvents.Entered], j.EventNames.ToList());
        Assert.Empty(j.ExitOn);
        Assert.Null(j.Goal);
    }

    [Fact]
    public void An_api_entry_takes_no_event_and_defaults_to_once()
    {
        var j = Parse("""{"name": "By hand", "entry": {"on": "api"}, "start": "done", "nodes": {"done": {"type": "exit"}}}""");
        Assert.Equal(new JourneyEntry(EntryKind.Api, null, null, ReentryPolicy.Once, null), j.Entry);
        Assert.Empty(j.EventNames);
    }

    [Fact]
    public void An_every_time_entry_names_a_dedupe_key_and_may_filter_the_event()
    {
        var j = Parse("""
            {"name": "Each cart", "entry": {"on": "event", "event": "add_to_cart", "reentry": "everyTime", "dedupeKey": "cart.id",
               "where": [{"property": "price", "op": "gte", "value": 100}]},
             "start": "done", "nodes": {"done": {"type": "exit"}}}
            """);
        Assert.Equal(ReentryPolicy.EveryTime, j.Entry.Reentry);
        Assert.Equal("cart.id", j.Entry.DedupeKey);
        Assert.True(j.Entry.Event!.Matches("add_to_cart", Json("""{"price": 120}"""), Now));
        Assert.False(j.Entry.Event.Matches("add_to_cart", Json("""{"price": 80}"""), Now));
        Assert.False(j.Entry.Event.Matches("add_to_wishlist", Json("""{"price": 120}"""), Now));
    }

    [Fact]
    public void Exit_events_and_goals_may_filter_their_events()
    {
        var j = Parse("""
            {"name": "Filtered", "entry": {"on": "api"},
             "exitOn": [{"event": "unsubscribe"}, {"event": "consent_changed", "where": [{"property": "status", "op": "eq", "value": "withdrawn"}]}],
             "goal": {"event": "order_paid", "where": [{"property": "total", "op": "gt", "value": 0}], "within": "1d12h"},
             "start": "done", "nodes": {"done": {"type": "exit"}}}
            """);
        Assert.Equal(["unsubscribe", "consent_changed"], j.ExitOn.Select(e => e.Name).ToList());
        Assert.True(j.ExitOn[1].Matches("consent_changed", Json("""{"status": "withdrawn"}"""), Now));
        Assert.False(j.ExitOn[1].Matches("consent_changed", Json("""{"status": "granted"}"""), Now));
        Assert.Equal(TimeSpan.FromHours(36), j.Goal!.Within);
        Assert.False(j.Goal.Event.Matches("order_paid", Json("""{"total": 0}"""), Now));
    }

    [Fact]
    public void Delays_wait_for_a_time_until_a_local_time_of_day_or_around_a_date_attribute()
    {
        var j = Nodes("""
            {"a": {"type": "delay", "for": "1d12h", "next": "b"},
             "b": {"type": "delay", "at": "10:00", "next": "c"},
             "c": {"type": "delay", "untilAttribute": "birthday", "offset": "-1d", "next": "d"},
             "d": {"type": "delay", "untilAttribute": "renewal_date", "next": "done"},
             "done": {"type": "exit"}}
            """);
        Assert.Equal(new DelayNode("a", TimeSpan.FromHours(36), null, null, TimeSpan.Zero, "b"), j.Node("a"));
        Assert.Equal(new DelayNode("b", null, new TimeOnly(10, 0), null, TimeSpan.Zero, "c"), j.Node("b"));
        Assert.Equal(new DelayNode("c", null, null, "birthday", TimeSpan.FromDays(-1), "d"), j.Node("c"));
        Assert.Equal(new DelayNode("d", null, null, "renewal_date", TimeSpan.Zero, "done"), j.Node("d"));
        Assert.All(j.Nodes.Values.OfType<DelayNode>(), d => Assert.True(d.Pauses));
    }

    [Fact]
    public void A_condition_takes_a_segment_language_rule_a_context_filter_or_both()
    {
        var j = Nodes("""
            {"a": {"type": "condition", "if": {"tag": "vip"}, "then": "b", "else": "done"},
             "b": {"type": "condition", "context": [{"property": "event.price", "op": "gte", "value": 100}], "then": "c", "else": "done"},
             "c": {"type": "condition", "if": {"or": [{"segment": "big-spenders"}, {"attribute": "city", "op": "eq", "value": "上海"}]},
                   "context": [{"property": "source", "op": "eq", "value": "miniprogram"}], "then": "done", "else": "done"},
             "done": {"type": "exit"}}
            """);
        var a = Assert.IsType<ConditionNode>(j.Node("a"));
        Assert.NotNull(a.If);
        Assert.Null(a.Context);
        Assert.Equal([("then", (string?)"b"), ("else", "done")], a.Exits.ToList());
        var b = Assert.IsType<ConditionNode>(j.Node("b"));
        Assert.Null(b.If);
        Assert.Equal(["event", "price"], Assert.Single(b.Context!.Conditions).Steps);
        var c = Assert.IsType<ConditionNode>(j.Node("c"));
        Assert.Equal(["big-spenders"], c.If!.SegmentRefs);
        Assert.NotNull(c.Context);
    }

    [Fact]
    public void Tag_untag_set_attribute_and_webhook_nodes_read_their_settings()
    {
        var j = Nodes("""
            {"a": {"type": "tag", "tag": "cart-abandoner", "next": "b"},
             "b": {"type": "untag", "tag": "vip", "next": "c"},
             "c": {"type": "setAttribute", "attribute": "last_cart", "value": "{{context.cartId}}", "next": "d"},
             "d": {"type": "setAttribute", "attribute": "coupon", "value": null, "next": "e"},
             "e": {"type": "setAttribute", "attribute": "reminders", "value": 2, "next": "f"},
             "f": {"type": "webhook", "url": "https://crm.example.com/hooks/cart?src=siyu", "body": {"cart": "{{context.cartId}}", "who": "{{attributes.nickname}}"}, "next": "g"},
             "g": {"type": "webhook", "url": "http://10.0.0.5:8080/notify", "next": "done"},
             "done": {"type": "exit"}}
            """);
        Assert.Equal(new TagNode("a", "cart-abandoner", true, "b"), j.Node("a"));
        Assert.Equal("tag", j.Node("a").Type);
        Assert.Equal(new TagNode("b", "vip", false, "c"), j.Node("b"));
        Assert.Equal("untag", j.Node("b").Type);
        var c = Assert.IsType<SetAttributeNode>(j.Node("c"));
        Assert.Equal(("last_cart", "{{context.cartId}}"), (c.Attribute, c.Value!.GetValue<string>()));
        Assert.Null(Assert.IsType<SetAttributeNode>(j.Node("d")).Value);
        Assert.Equal(2, Assert.IsType<SetAttributeNode>(j.Node("e")).Value!.GetValue<int>());
        var f = Assert.IsType<WebhookNode>(j.Node("f"));
        Assert.Equal(new Uri("https://crm.example.com/hooks/cart?src=siyu"), f.Url);
        Assert.Equal("""{"cart":"{{context.cartId}}","who":"{{attributes.nickname}}"}""", f.Body!.ToJsonString());
        var g = Assert.IsType<WebhookNode>(j.Node("g"));
        Assert.Equal("http", g.Url.Scheme);
        Assert.Null(g.Body);
    }

    [Fact]
    public void A_cycle_through_a_delay_or_a_wait_is_allowed()
    {
        var j = Nodes("""
            {"a": {"type": "condition", "context": [{"property": "done", "op": "notExists"}], "then": "t", "else": "done"},
             "t": {"type": "tag", "tag": "vip", "next": "d"},
             "d": {"type": "delay", "for": "1d", "next": "w"},
             "w": {"type": "waitForEvent", "event": "open", "timeout": "1h", "arrived": "a", "timedOut": "a"},
             "done": {"type": "exit"}}
            """);
        Assert.Equal(5, j.Nodes.Count);
        Nodes("""
            {"a": {"type": "send", "channel": "sms", "template": "nudge", "next": "w"},
             "w": {"type": "waitForEvent", "event": "open", "timeout": "1d", "arrived": "done", "timedOut": "a"},
             "done": {"type": "exit"}}
            """);
    }

    [Fact]
    public void Every_channel_but_all_may_be_named_by_a_send()
    {
        Assert.Equal(["wechat_oa", "miniprogram_subscribe", "wecom", "sms", "email", "push"], JourneyParser.Channels);
        foreach (var channel in JourneyParser.Channels)
            Nodes($$$"""{"a": {"type": "send", "channel": "{{{channel}}}", "template": "t1", "next": "done"}, "done": {"type": "exit"}}""");
    }

    [Fact]
    public void A_split_may_have_a_zero_weight_branch_and_no_control()
    {
        var j = Nodes("""
            {"a": {"type": "split", "branches": [{"name": "x", "weight": 100, "next": "done"}, {"name": "y", "weight": 0, "next": "done", "control": false}]},
             "done": {"type": "exit"}}
            """);
        Assert.Equal([new SplitBranch("x", 100, "done", false), new SplitBranch("y", 0, "done", false)], Assert.IsType<SplitNode>(j.Node("a")).Branches);
    }

    [Fact]
    public void Parsing_keeps_no_reference_to_the_document()
    {
        var doc = JsonNode.Parse(WithNodes("""{"a": {"type": "setAttribute", "attribute": "x", "value": "v", "next": "done"}, "done": {"type": "exit"}}"""))!;
        var j = JourneyParser.Parse(doc, new JourneyCatalog(), []);
        doc["nodes"]!["a"]!["value"] = "changed";
        Assert.Equal("v", Assert.IsType<SetAttributeNode>(j!.Node("a")).Value!.GetValue<string>());
    }
}
