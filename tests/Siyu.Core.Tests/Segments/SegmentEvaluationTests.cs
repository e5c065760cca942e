using System.Text.Json.Nodes;
using Siyu.Core.Consent;
using Siyu.Core.Profiles;
using Siyu.Core.Segments;
using Siyu.Core.Traits;
using static Siyu.Core.Tests.Segments.SegmentKit;

namespace Siyu.Core.Tests.Segments;

public sealed class SegmentEvaluationTests
{
    // ---- and / or / not ----

    [Theory]
    [InlineData(false, false, false, false)]
    [InlineData(true, false, false, true)]
    [InlineData(false, true, false, true)]
    [InlineData(true, true, true, true)]
    public void And_needs_all_or_needs_one(bool vip, bool fan, bool and, bool or)
    {
        var p = NewProfile();
        if (vip) p.Tags["vip"] = new TagMark(Now, "k");
        if (fan) p.Tags["core-fan"] = new TagMark(Now, "k");
        Assert.Equal(and, Matches("""{"and": [{"tag": "vip"}, {"tag": "core-fan"}]}""", p));
        Assert.Equal(or, Matches("""{"or": [{"tag": "vip"}, {"tag": "core-fan"}]}""", p));
        Assert.Equal(!and, Matches("""{"not": {"and": [{"tag": "vip"}, {"tag": "core-fan"}]}}""", p));
        Assert.Equal(!or, Matches("""{"not": {"or": [{"tag": "vip"}, {"tag": "core-fan"}]}}""", p));
        Assert.Equal(vip, Matches("""{"not": {"not": {"tag": "vip"}}}""", p));
    }

    [Fact]
    public void A_single_child_group_is_its_child()
    {
        var p = NewProfile();
        p.Tags["vip"] = new TagMark(Now, "k");
        Assert.True(Matches("""{"and": [{"tag": "vip"}]}""", p));
        Assert.True(Matches("""{"or": [{"tag": "vip"}]}""", p));
        Assert.False(Matches("""{"or": [{"tag": "core-fan"}]}""", p));
    }

    // ---- attributes ----

    [Fact]
    public void Attributes_are_compared_as_the_rule_says()
    {
        var p = NewProfile();
        p.Attributes["city"] = JsonValue.Create("上海");
        p.Attributes["age"] = JsonNode.Parse("31");
        p.Attributes["member"] = JsonValue.Create(true);
        p.Attributes["registeredAt"] = JsonValue.Create("2026-05-15T09:00:00+08:00");

        Assert.True(Matches("""{"attribute": "city", "type": "string", "op": "eq", "value": "上海"}""", p));
        Assert.False(Matches("""{"attribute": "city", "op": "eq", "value": "北京"}""", p));
        Assert.True(Matches("""{"attribute": "age", "op": "gte", "value": 30}""", p));
        Assert.False(Matches("""{"attribute": "age", "type": "string", "op": "eq", "value": "31"}""", p));
        Assert.True(Matches("""{"attribute": "member", "op": "eq", "value": true}""", p));
        Assert.True(Matches("""{"attribute": "registeredAt", "type": "date", "op": "withinLastDays", "value": 7}""", p));
        Assert.False(Matches("""{"attribute": "registeredAt", "type": "date", "op": "withinLastDays", "value": 5}""", p));
    }

    [Fact]
    public void A_missing_attribute_matches_only_ne_notIn_and_notExists()
    {
        var p = NewProfile();
        Assert.False(Matches("""{"attribute": "city", "op": "eq", "value": "上海"}""", p));
        Assert.False(Matches("""{"attribute": "city", "op": "in", "value": ["上海"]}""", p));
        Assert.False(Matches("""{"attribute": "city", "op": "contains", "value": "上"}""", p));
        Assert.False(Matches("""{"attribute": "city", "op": "exists"}""", p));
        Assert.True(Matches("""{"attribute": "city", "op": "ne", "value": "上海"}""", p));
        Assert.True(Matches("""{"attribute": "city", "op": "notIn", "value": ["上海"]}""", p));
        Assert.True(Matches("""{"attribute": "city", "op": "notExists"}""", p));
    }

    // ---- traits ----

    [Fact]
    public void Lifecycle_and_rfm_come_from_the_computed_traits()
    {
        var p = NewProfile();
        p.Traits = new ProfileTraits("active", new RfmScore(5, 3, 4, "important_value"));
        Assert.True(Matches("""{"trait": "lifecycle", "op": "in", "value": ["active", "new"]}""", p));
        Assert.False(Matches("""{"trait": "lifecycle", "op": "eq", "value": "dormant"}""", p));
        Assert.True(Matches("""{"trait": "rfmSegment", "op": "eq", "value": "important_value"}""", p));
        Assert.True(Matches("""{"trait": "recencyScore", "op": "gte", "value": 5}""", p));
        Assert.True(Matches("""{"trait": "frequencyScore", "op": "eq", "value": 3}""", p));
        Assert.True(Matches("""{"trait": "monetaryScore", "op": "in", "value": [4, 5]}""", p));
        Assert.False(Matches("""{"trait": "monetaryScore", "op": "lt", "value": 4}""", p));
    }

    [Fact]
    public void Without_computed_traits_they_are_missing()
    {
        var p = NewProfile();
        Assert.False(Matches("""{"trait": "lifecycle", "op": "eq", "value": "new"}""", p));
        Assert.True(Matches("""{"trait": "lifecycle", "op": "ne", "value": "new"}""", p));
        Assert.True(Matches("""{"trait": "lifecycle", "op": "notExists"}""", p));
        Assert.False(Matches("""{"trait": "recencyScore", "op": "gte", "value": 1}""", p));
        Assert.True(Matches("""{"trait": "recencyScore", "op": "notIn", "value": [1, 2]}""", p));

        p.Traits = new ProfileTraits("new", null);
        Assert.True(Matches("""{"trait": "lifecycle", "op": "eq", "value": "new"}""", p));
        Assert.True(Matches("""{"trait": "rfmSegment", "op": "notExists"}""", p));
        Assert.False(Matches("""{"trait": "rfmSegment", "op": "exists"}""", p));
    }

    [Fact]
    public void Order_figures_count_cny_only()
    {
        var p = NewProfile();
        Assert.True(Matches("""{"trait": "orderCount", "op": "eq", "value": 0}""", p));
        Assert.True(Matches("""{"trait": "orderTotal", "op": "eq", "value": 0}""", p));

        p.Orders.Count = 3;
        p.Orders.Total["CNY"] = 1299.90m;
        p.Orders.Total["USD"] = 5000m;
        Assert.True(Matches("""{"trait": "orderCount", "op": "gte", "value": 3}""", p));
        Assert.True(Matches("""{"trait": "orderTotal", "op": "eq", "value": 1299.9}""", p));
        Assert.False(Matches("""{"trait": "orderTotal", "op": "gt", "value": 1300}""", p));
    }

    [Fact]
    public void Days_since_are_calendar_days_in_China_time_and_missing_when_never()
    {
        var p = NewProfile();
        Assert.False(Matches("""{"trait": "daysSinceLastOrder", "op": "gte", "value": 0}""", p));
        Assert.True(Matches("""{"trait": "daysSinceLastOrder", "op": "notExists"}""", p));
        Assert.True(Matches("""{"trait": "daysSinceLastSeen", "op": "notExists"}""", p));

        // 23:59 yesterday in China is one day ago at 10:00 today; 00:00 today is today.
        p.Orders.Last = China(5, 19, 23, 59);
        p.LastSeen = China(5, 20, 0, 0);
        Assert.True(Matches("""{"trait": "daysSinceLastOrder", "op": "eq", "value": 1}""", p));
        Assert.True(Matches("""{"trait": "daysSinceLastSeen", "op": "eq", "value": 0}""", p));

        p.Orders.Last = China(4, 20, 0, 0);
        Assert.True(Matches("""{"trait": "daysSinceLastOrder", "op": "eq", "value": 30}""", p));

        // A clock ahead of ours does not make a negative age.
        p.LastSeen = Now.AddDays(2);
        Assert.True(Matches("""{"trait": "daysSinceLastSeen", "op": "eq", "value": 0}""", p));
    }

    [Fact]
    public void Event_count_is_every_event_ever()
    {
        var p = NewProfile();
        p.EventCount = 42;
        Assert.True(Matches("""{"trait": "eventCount", "op": "gt", "value": 41}""", p));
        Assert.False(Matches("""{"trait": "eventCount", "op": "gt", "value": 42}""", p));
    }

    // ---- tags ----

    [Fact]
    public void A_tag_condition_asks_whether_the_person_carries_it()
    {
        var p = NewProfile();
        Assert.False(Matches("""{"tag": "会员-金卡"}""", p));
        p.Tags["会员-金卡"] = new TagMark(Now, "rule:gold");
        Assert.True(Matches("""{"tag": "会员-金卡"}""", p));
    }

    // ---- consent ----

    [Fact]
    public void Consent_reads_the_governing_decision()
    {
        var p = NewProfile();
        const string sms = """{"consent": {"purpose": "marketing", "channel": "sms"}}""";
        const string none = """{"consent": {"purpose": "marketing", "channel": "sms"}, "status": "none"}""";
        const string withdrawn = """{"consent": {"purpose": "marketing", "channel": "sms"}, "status": "withdrawn"}""";
        Assert.False(Matches(sms, p));
        Assert.True(Matches(none, p));

        p.Consent.Apply(Decision("marketing", "sms", ConsentStatus.Granted, China(5, 1)));
        Assert.True(Matches(sms, p));
        Assert.False(Matches(none, p));
        Assert.False(Matches(withdrawn, p));

        // A later "withdraw on every channel" governs SMS too.
        p.Consent.Apply(Decision("marketing", "all", ConsentStatus.Withdrawn, China(5, 2)));
        Assert.False(Matches(sms, p));
        Assert.True(Matches(withdrawn, p));
        Assert.True(Matches("""{"consent": {"purpose": "marketing", "channel": "all"}, "status": "withdrawn"}""", p));
        Assert.True(Matches("""{"consent": {"purpose": "marketing", "channel": "email"}, "status": "withdrawn"}""", p));
        Assert.True(Matches("""{"consent": {"purpose": "analytics", "channel": "email"}, "status": "none"}""", p));
    }

    [Fact]
    public void Denied_is_its_own_status()
    {
        var p = NewProfile();
        p.Consent.Apply(Decision("personalisation", "wechat_oa", ConsentStatus.Denied, China(5, 1)));
        Assert.True(Matches("""{"consent": {"purpose": "personalisation", "channel": "wechat_oa"}, "status": "denied"}""", p));
        Assert.False(Matches("""{"consent": {"purpose": "personalisation", "channel": "wechat_oa"}}""", p));
    }

    // ---- events ----

    [Fact]
    public void Without_a_window_events_are_counted_over_all_time()
    {
        var p = NewProfile();
        p.Counters["purchase"] = new EventCounter { Count = 2, First = China(1, 1), Last = China(1, 2) };
        Assert.True(Matches("""{"event": "purchase"}""", p));
        Assert.True(Matches("""{"event": "purchase", "atLeast": 2}""", p));
        Assert.False(Matches("""{"event": "purchase", "atLeast": 3}""", p));
        Assert.False(Matches("""{"event": "purchase", "atMost": 1}""", p));
        Assert.False(Matches("""{"event": "share"}""", p));
        Assert.True(Matches("""{"event": "share", "atMost": 0}""", p));
        // The old events are outside any window.
        Assert.False(Matches("""{"event": "purchase", "withinDays": 30}""", p));
    }

    [Fact]
    public void Windowed_counts_start_at_midnight_China_time()
    {
        var p = NewProfile();
        Did(p, "purchase", China(5, 14, 0, 0));       // first minute of the 7-day window
        Did(p, "purchase", China(5, 13, 23, 59, 59)); // last second before it
        Did(p, "purchase", new DateTimeOffset(2026, 5, 13, 15, 59, 59, TimeSpan.Zero)); // 23:59:59 China time, written in UTC
        Did(p, "purchase", China(5, 20, 9, 0), times: 2);

        Assert.True(Matches("""{"event": "purchase", "atLeast": 3, "atMost": 3, "withinDays": 7}""", p));
        Assert.True(Matches("""{"event": "purchase", "atLeast": 5, "withinDays": 8}""", p));
        Assert.True(Matches("""{"event": "purchase", "atLeast": 2, "atMost": 2, "withinDays": 1}""", p));
        Assert.True(Matches("""{"event": "purchase", "atLeast": 5}""", p));
    }

    [Theory]
    [InlineData(null, true)]    // never
    [InlineData(31, true)]      // 31 days ago
    [InlineData(30, true)]      // 30 days ago: before "today and the 29 days before"
    [InlineData(29, false)]     // inside the window
    [InlineData(0, false)]      // today
    public void Did_not_do_it_in_the_last_days(int? daysAgo, bool expected)
    {
        var p = NewProfile();
        if (daysAgo is { } d) Did(p, "purchase", China(5, 20, 8, 0).AddDays(-d));
        Assert.Equal(expected, Matches("""{"event": "purchase", "atMost": 0, "withinDays": 30}""", p));
    }

    [Theory]
    [InlineData(10)]
    [InlineData(29)]
    [InlineData(30)]
    [InlineData(31)]
    public void No_order_in_30_days_reads_the_same_as_trait_event_and_date_conditions(int daysAgo)
    {
        var p = NewProfile();
        var at = China(5, 20, 23, 30).AddDays(-daysAgo);
        Did(p, "order", at);
        p.Orders.Count = 1;
        p.Orders.Last = at;
        p.Attributes["lastOrderAt"] = JsonValue.Create(at.ToString("O"));

        var byEvent = Matches("""{"event": "order", "atMost": 0, "withinDays": 30}""", p);
        Assert.Equal(byEvent, Matches("""{"trait": "daysSinceLastOrder", "op": "gte", "value": 30}""", p));
        Assert.Equal(byEvent, Matches("""{"attribute": "lastOrderAt", "type": "date", "op": "moreThanDaysAgo", "value": 30}""", p));
        Assert.Equal(!byEvent, Matches("""{"attribute": "lastOrderAt", "type": "date", "op": "withinLastDays", "value": 30}""", p));
        Assert.Equal(daysAgo >= 30, byEvent);
    }

    [Fact]
    public void A_window_of_the_maximum_reaches_the_oldest_kept_day()
    {
        var p = NewProfile();
        Did(p, "visit", China(5, 20).AddDays(-(ActivityWindow.MaxDays - 1)));
        Assert.True(Matches($$"""{"event": "visit", "withinDays": {{ActivityWindow.MaxDays}}}""", p));
        Assert.False(Matches($$"""{"event": "visit", "withinDays": {{ActivityWindow.MaxDays - 1}}}""", p));
    }

    // ---- segment references ----

    [Fact]
    public void A_reference_is_membership_by_the_referenced_rule()
    {
        var catalog = new TestCatalog().With("vips", """{"tag": "vip"}""");
        var vips = Parse("""{"tag": "vip"}""", catalog, "vips");
        var rule = Parse("""{"and": [{"segment": "vips"}, {"event": "purchase"}]}""", catalog, "buying-vips");
        var ctx = () => new SegmentContext(Now, id => id == "vips" ? vips : null);

        var p = NewProfile();
        Did(p, "purchase", China(5, 1));
        Assert.False(rule.Matches(p, ctx()));
        // Stored membership does not count: only the rule does.
        p.Segments["vips"] = Now;
        Assert.False(rule.Matches(p, ctx()));
        p.Tags["vip"] = new TagMark(Now, "k");
        Assert.True(rule.Matches(p, ctx()));
        // A segment that no longer exists has nobody in it.
        Assert.False(rule.Matches(p, new SegmentContext(Now, _ => null)));
    }

    [Fact]
    public void A_context_evaluates_each_referenced_segment_once_per_profile()
    {
        var catalog = new TestCatalog().With("base", """{"tag": "vip"}""").With("a", """{"segment": "base"}""").With("b", """{"segment": "base"}""");
        var rules = new Dictionary<string, SegmentCondition>
        {
            ["base"] = Parse("""{"tag": "vip"}""", catalog, "base"),
            ["a"] = Parse("""{"segment": "base"}""", catalog, "a"),
            ["b"] = Parse("""{"not": {"segment": "base"}}""", catalog, "b"),
        };
        var resolved = new List<string>();
        var ctx = new SegmentContext(Now, id => { resolved.Add(id); return rules.GetValueOrDefault(id); });

        var p = NewProfile();
        p.Tags["vip"] = new TagMark(Now, "k");
        Assert.True(ctx.IsMember(p, "a"));
        Assert.False(ctx.IsMember(p, "b"));
        Assert.True(ctx.IsMember(p, "base"));
        Assert.Equal(["a", "base", "b"], resolved);

        // Another profile is evaluated afresh.
        var q = NewProfile();
        Assert.False(ctx.IsMember(q, "a"));
        Assert.Equal(["a", "base", "b", "a", "base"], resolved);
    }
}
