using System.Text.Json.Nodes;
using Siyu.Core.Consent;
using Siyu.Core.Events;
using Siyu.Core.Identities;
using Siyu.Core.Privacy;
using Siyu.Core.Profiles;
using Siyu.Core.Tags;

namespace Siyu.Core.Tests.Tags;

public sealed class TagRulesTests
{
    /// <summary>10:00 on 20 May 2026 in China (02:00 UTC).</summary>
    private static readonly DateTimeOffset Now = new(2026, 5, 20, 10, 0, 0, TimeSpan.FromHours(8));

    private static readonly DataDefinitions Definitions = new([],
    [
        new TagDefinition("milk-buyer", "purchase", null, null),
        new TagDefinition("loyal", "purchase", null, null),
        new TagDefinition("big-spender", "purchase", null, null),
        new TagDefinition("lactose-free", "health", null, "sensitive-health"),
    ]);

    private static bool TagExists(string tag) => Definitions.Tag(tag) is not null;

    private static TagRule Parse(string id, string json)
    {
        var errors = new List<string>();
        var rule = TagRules.Parse(id, JsonNode.Parse(json), TagExists, errors);
        Assert.Empty(errors);
        return rule!;
    }

    private static List<string> Errors(string json, string id = "rule-1")
    {
        var errors = new List<string>();
        Assert.Null(TagRules.Parse(id, JsonNode.Parse(json), TagExists, errors));
        Assert.NotEmpty(errors);
        return errors;
    }

    private static int _messages;

    private static IncomingEvent Event(string name, DateTimeOffset at, string? properties = null) => new()
    {
        MessageId = "m" + Interlocked.Increment(ref _messages),
        Type = EventType.Track,
        Name = name,
        Identities = [new Identity(IdentityType.UserId, "u1")],
        Properties = properties is null ? null : JsonNode.Parse(properties)!.AsObject(),
        Timestamp = at,
        ReceivedAt = Now,
        Source = "api",
    };

    /// <summary>Folds the event in, then applies the rules: the order the ingest path uses.</summary>
    private static IReadOnlyList<TagAdded> Receive(ProfileState p, IncomingEvent e, params TagRule[] rules)
    {
        ProfileFold.Apply(p, e, Definitions);
        return TagRules.Apply(p, e, rules, Definitions, Now);
    }

    private static ProfileState NewProfile() => ProfileState.New("p0000000000000000001", Now.AddYears(-1));

    // ---- parsing ----

    [Fact]
    public void A_rule_on_each_event_with_a_filter()
    {
        var rule = Parse("milk", """{"tag": "milk-buyer", "event": "order_paid", "where": [{"property": "category", "op": "eq", "value": "milk_powder"}]}""");
        Assert.Equal(("milk", "milk-buyer", "order_paid"), (rule.Id, rule.Tag, rule.Event));
        Assert.Single(rule.Where!.Conditions);
        Assert.Null(rule.AtLeast);
        Assert.Null(rule.WithinDays);
    }

    [Fact]
    public void A_rule_on_a_count_within_a_window()
    {
        var rule = Parse("loyal_3x30", """{"tag": "loyal", "event": "order_paid", "atLeast": 3, "withinDays": 30}""");
        Assert.Equal((3, 30), (rule.AtLeast, rule.WithinDays));
        Assert.Null(rule.Where);
    }

    [Fact]
    public void Where_with_atLeast_is_refused_with_the_reason() =>
        Assert.Equal(["where: cannot be combined with atLeast: counts over days do not keep event properties; count a more specific event instead, or drop atLeast to tag on each matching event"],
            Errors("""{"tag": "loyal", "event": "order_paid", "atLeast": 3, "withinDays": 30, "where": [{"property": "category", "op": "eq", "value": "milk_powder"}]}"""));

    [Theory]
    [InlineData("""{"tag": "loyal", "event": "order_paid", "atLeast": 3}""", "withinDays: is required with atLeast (1 to 180 days)")]
    [InlineData("""{"tag": "loyal", "event": "order_paid", "withinDays": 30}""", "withinDays: only applies with atLeast; a rule without atLeast tags on each matching event")]
    [InlineData("""{"tag": "loyal", "event": "order_paid", "atLeast": 3, "withinDays": 181}""", "withinDays: at most 180 days")]
    [InlineData("""{"tag": "loyal", "event": "order_paid", "atLeast": 3, "withinDays": 0}""", "withinDays: at least 1 day")]
    [InlineData("""{"tag": "loyal", "event": "order_paid", "atLeast": 0, "withinDays": 30}""", "atLeast: must be a whole number from 1 to 10000")]
    [InlineData("""{"tag": "loyal", "event": "order_paid", "atLeast": "3", "withinDays": 30}""", "atLeast: must be a whole number from 1 to 10000")]
    [InlineData("""{"tag": "whale", "event": "order_paid"}""", "tag: no tag 'whale' in the taxonomy")]
    [InlineData("""{"tag": "milk\u0001buyer", "event": "order_paid"}""", "tag: not a valid tag name (1-64 characters, no control characters, '/', '\\', '#' or '?', no surrounding spaces)")]
    [InlineData("""{"event": "order_paid"}""", "tag: is required: a tag name from the taxonomy")]
    [InlineData("""{"tag": "loyal"}""", "event: is required: the event name that adds the tag")]
    [InlineData("""{"tag": "loyal", "event": "order\npaid"}""", "event: must be 1-64 characters without control characters")]
    [InlineData("""{"tag": "loyal", "event": "order_paid", "when": "always"}""", "rule: unknown key 'when' (allowed in a tag rule: tag, event, where, atLeast, withinDays)")]
    [InlineData("""{"tag": "loyal", "event": "order_paid", "where": {"category": "milk"}}""", "where: must be an array of 1 to 20 conditions")]
    [InlineData("""["loyal"]""", "rule: must be an object like {\"tag\": \"milk-buyer\", \"event\": \"order_paid\"}, not an array")]
    public void Each_mistake_is_explained(string json, string expected) =>
        Assert.Contains(Errors(json), e => e.StartsWith(expected, StringComparison.Ordinal));

    [Fact]
    public void Filter_mistakes_carry_their_path() =>
        Assert.Equal(
            ["where[1].op: unknown operator 'like' (allowed: eq, ne, in, notIn, gt, gte, lt, lte, contains, startsWith, exists, notExists, withinLastDays, moreThanDaysAgo)"],
            Errors("""{"tag": "milk-buyer", "event": "order_paid", "where": [{"property": "a", "op": "exists"}, {"property": "category", "op": "like", "value": "milk%"}]}"""));

    [Theory]
    [InlineData("Milk")]
    [InlineData("")]
    [InlineData("milk rule")]
    public void Rule_ids_are_checked(string id) =>
        Assert.Equal(["id: must be 1-64 characters of a-z, 0-9, '-' and '_'"], Errors("""{"tag": "loyal", "event": "order_paid"}""", id));

    [Fact]
    public void Every_mistake_is_reported_at_once()
    {
        var errors = Errors("""{"tag": "whale", "event": "", "atLeast": 3, "withinDays": 365, "where": [{"property": "x", "op": "like"}], "extra": 1}""", "Bad Id");
        Assert.Equal(
        [
            "id: must be 1-64 characters of a-z, 0-9, '-' and '_'",
            "rule: unknown key 'extra' (allowed in a tag rule: tag, event, where, atLeast, withinDays)",
            "tag: no tag 'whale' in the taxonomy",
            "event: must be 1-64 characters without control characters",
            "where[0].op: unknown operator 'like' (allowed: eq, ne, in, notIn, gt, gte, lt, lte, contains, startsWith, exists, notExists, withinLastDays, moreThanDaysAgo)",
            "withinDays: at most 180 days",
            "where: cannot be combined with atLeast: counts over days do not keep event properties; count a more specific event instead, or drop atLeast to tag on each matching event",
        ], errors);
    }

    [Fact]
    public void A_repeated_key_is_reported_not_thrown() =>
        Assert.Equal(["rule: names the same key twice in one object"], Errors("""{"tag": "loyal", "tag": "milk-buyer", "event": "order_paid"}"""));

    // ---- applying ----

    [Fact]
    public void An_event_matching_the_filter_adds_the_tag_with_the_rule_as_its_reason()
    {
        var rule = Parse("milk", """{"tag": "milk-buyer", "event": "order_paid", "where": [{"property": "category", "op": "eq", "value": "milk_powder"}]}""");
        var p = NewProfile();

        Assert.Empty(Receive(p, Event("order_paid", Now, """{"category": "diapers"}"""), rule));
        Assert.Empty(Receive(p, Event("order_paid", Now), rule));
        Assert.Empty(Receive(p, Event("page_view", Now, """{"category": "milk_powder"}"""), rule));
        Assert.Empty(p.Tags);

        Assert.Equal([new TagAdded("milk-buyer", "milk")], Receive(p, Event("order_paid", Now.AddMinutes(-5), """{"category": "milk_powder"}"""), rule));
        Assert.Equal(new TagMark(Now, "rule:milk"), p.Tags["milk-buyer"]);
    }

    [Fact]
    public void A_rule_without_a_filter_tags_on_every_occurrence()
    {
        var rule = Parse("buyer", """{"tag": "big-spender", "event": "order_paid"}""");
        var p = NewProfile();
        Assert.Equal([new TagAdded("big-spender", "buyer")], Receive(p, Event("order_paid", Now), rule));
    }

    [Fact]
    public void A_tag_already_there_is_not_added_again_and_keeps_its_reason()
    {
        var rule = Parse("buyer", """{"tag": "big-spender", "event": "order_paid"}""");
        var p = NewProfile();
        var manual = new TagMark(Now.AddDays(-3), "key-ops");
        p.Tags["big-spender"] = manual;

        Assert.Empty(Receive(p, Event("order_paid", Now), rule));
        Assert.Same(manual, p.Tags["big-spender"]);
    }

    [Fact]
    public void Two_rules_for_one_tag_add_it_once()
    {
        var a = Parse("a", """{"tag": "big-spender", "event": "order_paid"}""");
        var b = Parse("b", """{"tag": "big-spender", "event": "order_paid", "where": [{"property": "total", "op": "gte", "value": 1000}]}""");
        var p = NewProfile();
        Assert.Equal([new TagAdded("big-spender", "a")], Receive(p, Event("order_paid", Now, """{"total": 2000}"""), a, b));
        Assert.Equal("rule:a", p.Tags["big-spender"].By);
    }

    [Fact]
    public void A_count_rule_tags_on_the_event_that_reaches_the_count()
    {
        var rule = Parse("loyal", """{"tag": "loyal", "event": "order_paid", "atLeast": 3, "withinDays": 30}""");
        var p = NewProfile();

        Assert.Empty(Receive(p, Event("order_paid", Now.AddDays(-10)), rule));
        Assert.Empty(Receive(p, Event("order_paid", Now.AddDays(-2)), rule));
        Assert.Empty(Receive(p, Event("page_view", Now), rule));
        Assert.Equal([new TagAdded("loyal", "loyal")], Receive(p, Event("order_paid", Now), rule));
        Assert.Equal(new TagMark(Now, "rule:loyal"), p.Tags["loyal"]);
        Assert.Empty(Receive(p, Event("order_paid", Now), rule));
    }

    [Fact]
    public void A_count_rule_counts_only_inside_its_window_in_China_days()
    {
        var rule = Parse("loyal", """{"tag": "loyal", "event": "order_paid", "atLeast": 3, "withinDays": 7}""");
        var p = NewProfile();
        var china = TimeSpan.FromHours(8);

        Receive(p, Event("order_paid", new DateTimeOffset(2026, 5, 13, 23, 59, 59, china)), rule); // just outside the 7 days
        Receive(p, Event("order_paid", new DateTimeOffset(2026, 5, 14, 0, 0, 0, china)), rule);    // first moment inside
        Assert.Empty(Receive(p, Event("order_paid", Now.AddHours(-1)), rule));
        Assert.Equal(["loyal"], Receive(p, Event("order_paid", Now), rule).Select(t => t.Tag));
    }

    [Fact]
    public void A_sensitive_tag_needs_its_consent()
    {
        var rule = Parse("lactose", """{"tag": "lactose-free", "event": "order_paid", "where": [{"property": "sku", "op": "startsWith", "value": "LF-"}]}""");
        var p = NewProfile();

        Assert.Empty(Receive(p, Event("order_paid", Now, """{"sku": "LF-900"}"""), rule));
        Assert.Empty(p.Tags);

        p.Consent.Apply(new ConsentDecision
        {
            Id = "c1", Purpose = "sensitive-health", Channel = ConsentVocabulary.AllChannels, Status = ConsentStatus.Granted,
            Source = "survey", OccurredAt = Now.AddMinutes(-1),
        });
        Assert.Equal([new TagAdded("lactose-free", "lactose")], Receive(p, Event("order_paid", Now, """{"sku": "LF-900"}"""), rule));
    }

    [Fact]
    public void A_marketing_consent_does_not_cover_a_sensitive_tag()
    {
        var rule = Parse("lactose", """{"tag": "lactose-free", "event": "order_paid"}""");
        var p = NewProfile();
        p.Consent.Apply(new ConsentDecision
        {
            Id = "c1", Purpose = "marketing", Channel = ConsentVocabulary.AllChannels, Status = ConsentStatus.Granted,
            Source = "survey", OccurredAt = Now.AddMinutes(-1),
        });
        Assert.Empty(Receive(p, Event("order_paid", Now), rule));
    }

    [Fact]
    public void Several_rules_add_several_tags_in_rule_order()
    {
        var rules = new[]
        {
            Parse("buyer", """{"tag": "big-spender", "event": "order_paid", "where": [{"property": "total", "op": "gt", "value": 500}]}"""),
            Parse("milk", """{"tag": "milk-buyer", "event": "order_paid", "where": [{"property": "items.category", "op": "eq", "value": "milk_powder"}]}"""),
            Parse("loyal", """{"tag": "loyal", "event": "order_paid", "atLeast": 1, "withinDays": 1}"""),
        };
        var p = NewProfile();
        var added = Receive(p, Event("order_paid", Now, """{"total": 800, "items": {"category": "milk_powder"}}"""), rules);
        Assert.Equal([new("big-spender", "buyer"), new("milk-buyer", "milk"), new TagAdded("loyal", "loyal")], added);
        Assert.Equal(3, p.Tags.Count);
    }
}
