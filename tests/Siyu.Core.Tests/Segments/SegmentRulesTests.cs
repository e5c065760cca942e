using System.Text.Json.Nodes;
using Siyu.Core.Segments;
using static Siyu.Core.Tests.Segments.SegmentKit;

namespace Siyu.Core.Tests.Segments;

/// <summary>Validation of segment rules: every mistake reported, each with its path, none thrown.</summary>
public sealed class SegmentRulesTests
{
    private const string Kinds = "and, or, not, attribute, trait, tag, consent, event, segment";

    [Theory]
    [InlineData("""{"tag": "vip"}""")]
    [InlineData("""{"attribute": "city", "type": "string", "op": "eq", "value": "上海"}""")]
    [InlineData("""{"attribute": "city", "op": "in", "value": ["上海", "北京"]}""")]
    [InlineData("""{"trait": "lifecycle", "op": "in", "value": ["active", "new"]}""")]
    [InlineData("""{"trait": "rfmSegment", "op": "eq", "value": "important_value"}""")]
    [InlineData("""{"trait": "recencyScore", "op": "gte", "value": 4}""")]
    [InlineData("""{"trait": "orderTotal", "op": "gt", "value": 1000.5}""")]
    [InlineData("""{"trait": "daysSinceLastOrder", "op": "exists"}""")]
    [InlineData("""{"consent": {"purpose": "marketing", "channel": "sms"}}""")]
    [InlineData("""{"consent": {"purpose": "marketing", "channel": "all"}, "status": "none"}""")]
    [InlineData("""{"event": "purchase", "atLeast": 2, "withinDays": 90}""")]
    [InlineData("""{"event": "purchase", "atMost": 0, "withinDays": 30}""")]
    [InlineData("""{"event": "purchase", "atLeast": 1, "atMost": 3}""")]
    [InlineData("""{"event": "purchase", "withinDays": 180}""")]
    [InlineData("""{"not": {"and": [{"tag": "vip"}, {"or": [{"tag": "core-fan"}, {"event": "share"}]}]}}""")]
    public void Valid_rules_parse(string rule) => Parse(rule);

    [Fact]
    public void An_unknown_attribute_type_names_the_allowed_ones() =>
        Assert.Equal(["rule.type: unknown type 'float128' (allowed: string, number, boolean, date)"],
            Errors("""{"attribute": "height", "type": "float128", "op": "gt", "value": 1.8}"""));

    [Fact]
    public void A_window_over_the_maximum_names_the_maximum() =>
        Assert.Equal(["rule.and[2].withinDays: at most 180 days"],
            Errors("""{"and": [{"tag": "vip"}, {"tag": "core-fan"}, {"event": "purchase", "atLeast": 1, "withinDays": 181}]}"""));

    [Theory]
    [InlineData("0", "rule.withinDays: at least 1 day")]
    [InlineData("-5", "rule.withinDays: at least 1 day")]
    [InlineData("\"30\"", "rule.withinDays: must be a whole number of days from 1 to 180")]
    [InlineData("2.5", "rule.withinDays: must be a whole number of days from 1 to 180")]
    [InlineData("null", "rule.withinDays: must be a whole number of days from 1 to 180")]
    public void A_window_must_be_whole_days_from_one(string days, string expected) =>
        Assert.Equal([expected], Errors($$"""{"event": "purchase", "withinDays": {{days}}}"""));

    [Theory]
    [InlineData("core\u0001fan")]
    [InlineData("core\nfan")]
    [InlineData(" vip")]
    [InlineData("a/b")]
    [InlineData("")]
    public void An_invalid_tag_name_is_refused(string tag) =>
        Assert.Equal(["rule.tag: not a valid tag name (1-64 characters, no control characters, '/', '\\', '#' or '?', no surrounding spaces)"],
            Errors(new JsonObject { ["tag"] = tag }.ToJsonString()));

    [Fact]
    public void A_tag_outside_the_taxonomy_is_refused()
    {
        Assert.Equal(["rule.tag: no tag 'whale' in the taxonomy"], Errors("""{"tag": "whale"}"""));
        Parse("""{"tag": "会员-金卡"}""");
    }

    [Fact]
    public void A_segment_cannot_refer_to_itself() =>
        Assert.Equal(["rule.or[1].segment: a segment cannot refer to itself"],
            Errors("""{"or": [{"tag": "vip"}, {"segment": "loyal"}]}""", id: "loyal"));

    [Fact]
    public void A_reference_to_an_unknown_segment_is_refused() =>
        Assert.Equal(["rule.segment: unknown segment 'ghost'"], Errors("""{"segment": "ghost"}"""));

    [Fact]
    public void A_reference_must_be_a_segment_id() =>
        Assert.Equal(["rule.segment: must be a segment id (must be 1-64 characters of a-z, 0-9, '-' and '_')"], Errors("""{"segment": "Big Spenders"}"""));

    [Fact]
    public void A_cycle_through_another_segment_is_reported_with_its_path()
    {
        var catalog = new TestCatalog().With("b", """{"and": [{"tag": "vip"}, {"segment": "a"}]}""");
        Assert.Equal(["rule.segment: reference cycle a -> b -> a"], Errors("""{"segment": "b"}""", catalog, "a"));
    }

    [Fact]
    public void A_longer_cycle_is_reported_with_every_id_on_it()
    {
        var catalog = new TestCatalog()
            .With("b", """{"or": [{"tag": "vip"}, {"segment": "c"}]}""")
            .With("c", """{"not": {"segment": "a"}}""")
            .With("d", """{"tag": "vip"}""");
        Assert.Equal(["rule.and[1].segment: reference cycle a -> b -> c -> a"],
            Errors("""{"and": [{"segment": "d"}, {"segment": "b"}]}""", catalog, "a"));
    }

    [Fact]
    public void Chains_and_diamonds_without_a_way_back_are_fine()
    {
        var catalog = new TestCatalog()
            .With("b", """{"and": [{"segment": "c"}, {"segment": "d"}]}""")
            .With("c", """{"segment": "d"}""")
            .With("d", """{"tag": "vip"}""");
        var rule = Parse("""{"or": [{"segment": "b"}, {"segment": "c"}, {"segment": "b"}]}""", catalog, "a");
        Assert.Equal(["b", "c"], rule.SegmentRefs);
    }

    [Fact]
    public void A_cycle_among_other_segments_does_not_hang_the_check()
    {
        var catalog = new TestCatalog()
            .With("b", """{"segment": "c"}""")
            .With("c", """{"segment": "b"}""");
        Parse("""{"segment": "b"}""", catalog, "a");
    }

    [Fact]
    public void The_segments_own_saved_rule_is_not_followed_when_it_is_being_changed()
    {
        // "a" used to refer to "b"; "b" refers to "c". Changing "a" to refer to "c" is fine.
        var catalog = new TestCatalog()
            .With("a", """{"segment": "b"}""")
            .With("b", """{"segment": "c"}""")
            .With("c", """{"tag": "vip"}""");
        Parse("""{"segment": "c"}""", catalog, "a");
        Assert.Equal(["rule.segment: reference cycle c -> a -> b -> c"], Errors("""{"segment": "a"}""", catalog, "c"));
    }

    [Fact]
    public void An_unknown_trait_names_the_known_ones() =>
        Assert.Equal(["rule.trait: unknown trait 'vipLevel' (known: lifecycle, rfmSegment, recencyScore, frequencyScore, monetaryScore, orderCount, orderTotal, daysSinceLastOrder, daysSinceLastSeen, eventCount)"],
            Errors("""{"trait": "vipLevel", "op": "eq", "value": 3}"""));

    [Theory]
    [InlineData("""{"trait": "lifecycle", "op": "eq", "value": "sleeping"}""", "rule.value: unknown lifecycle 'sleeping' (known: new, active, churn_risk, dormant)")]
    [InlineData("""{"trait": "lifecycle", "op": "in", "value": ["new", "lost"]}""", "rule.value[1]: unknown lifecycle 'lost' (known: new, active, churn_risk, dormant)")]
    [InlineData("""{"trait": "rfmSegment", "op": "ne", "value": "whales"}""", "rule.value: unknown rfmSegment 'whales' (known: important_value, important_develop, important_maintain, important_retain, general_value, general_develop, general_maintain, general_retain)")]
    [InlineData("""{"trait": "lifecycle", "op": "contains", "value": "act"}""", "rule.op: 'contains' does not apply to lifecycle (allowed: eq, ne, in, notIn, exists, notExists)")]
    [InlineData("""{"trait": "lifecycle", "op": "gt", "value": "new"}""", "rule.op: 'gt' does not apply to lifecycle (allowed: eq, ne, in, notIn, exists, notExists)")]
    [InlineData("""{"trait": "lifecycle", "op": "eq", "value": 1}""", "rule.value: must be a string, not a number")]
    [InlineData("""{"trait": "recencyScore", "op": "eq", "value": 6}""", "rule.value: recencyScore is a score from 1 to 5")]
    [InlineData("""{"trait": "monetaryScore", "op": "in", "value": [1, 0]}""", "rule.value[1]: monetaryScore is a score from 1 to 5")]
    [InlineData("""{"trait": "orderCount", "op": "gte", "value": "3"}""", "rule.value: must be a number, not a string")]
    [InlineData("""{"trait": "orderCount", "op": "startsWith", "value": 3}""", "rule.op: 'startsWith' does not apply to number values")]
    [InlineData("""{"trait": "eventCount", "type": "number", "op": "gt", "value": 3}""", "rule: unknown key 'type' (allowed in a trait condition: trait, op, value)")]
    [InlineData("""{"trait": 5, "op": "gt", "value": 3}""", "rule.trait: must be a string (known: lifecycle,")]
    public void Trait_values_and_operators_are_checked(string rule, string expected) =>
        Assert.Contains(Errors(rule), e => e.StartsWith(expected, StringComparison.Ordinal));

    [Theory]
    [InlineData("""{"consent": {"purpose": "spam", "channel": "sms"}}""", "rule.consent.purpose: unknown purpose 'spam' (known: marketing, personalisation, analytics, sensitive-health, sensitive-finance, sensitive-biometric, sensitive-minor, sensitive-location)")]
    [InlineData("""{"consent": {"purpose": "marketing", "channel": "fax"}}""", "rule.consent.channel: unknown channel 'fax' (known: wechat_oa, miniprogram_subscribe, wecom, sms, email, push, all)")]
    [InlineData("""{"consent": {"purpose": "marketing"}}""", "rule.consent.channel: is required (one of wechat_oa, miniprogram_subscribe, wecom, sms, email, push, all)")]
    [InlineData("""{"consent": {"purpose": 1, "channel": "sms"}}""", "rule.consent.purpose: must be a string (one of marketing,")]
    [InlineData("""{"consent": {"purpose": "marketing", "channel": "sms", "scope": "t1"}}""", "rule.consent: unknown key 'scope' (allowed in a consent: purpose, channel)")]
    [InlineData("""{"consent": "marketing/sms"}""", "rule.consent: must be an object like {\"purpose\": \"marketing\", \"channel\": \"sms\"}")]
    [InlineData("""{"consent": {"purpose": "marketing", "channel": "sms"}, "status": "maybe"}""", "rule.status: unknown status 'maybe' (known: granted, denied, withdrawn, none)")]
    [InlineData("""{"consent": {"purpose": "marketing", "channel": "sms"}, "status": true}""", "rule.status: must be a string (one of granted, denied, withdrawn, none)")]
    public void Consent_words_come_from_the_vocabulary(string rule, string expected) =>
        Assert.Contains(Errors(rule), e => e.StartsWith(expected, StringComparison.Ordinal));

    [Fact]
    public void A_rule_nested_deeper_than_eight_levels_is_refused()
    {
        static string Nest(int levels) => levels == 1 ? """{"tag": "vip"}""" : $$"""{"not": {{Nest(levels - 1)}}}""";
        Parse(Nest(SegmentRules.MaxDepth));
        Assert.Equal(["rule.not.not.not.not.not.not.not.not: nested deeper than 8 levels"], Errors(Nest(SegmentRules.MaxDepth + 1)));
    }

    [Fact]
    public void Deep_and_lists_report_their_depth_too()
    {
        var node = (JsonNode)new JsonObject { ["tag"] = "vip" };
        for (var i = 0; i < 9; i++) node = new JsonObject { ["and"] = new JsonArray(new JsonObject { ["tag"] = "vip" }, node) };
        var errors = new List<string>();
        Assert.Null(SegmentRules.Parse("seg", node, new TestCatalog(), errors));
        Assert.Equal(["rule.and[1].and[1].and[1].and[1].and[1].and[1].and[1].and: nested deeper than 8 levels"], errors);
    }

    [Fact]
    public void More_than_a_hundred_conditions_is_refused()
    {
        static JsonArray Tags(int n) => new([.. Enumerable.Range(0, n).Select(_ => (JsonNode)new JsonObject { ["tag"] = "vip" })]);
        // 1 "or" + 5 "and" + 5 × 19 tags = 101 conditions.
        var rule = new JsonObject { ["or"] = new JsonArray([.. Enumerable.Range(0, 5).Select(_ => (JsonNode)new JsonObject { ["and"] = Tags(19) })]) };
        var errors = new List<string>();
        Assert.Null(SegmentRules.Parse("seg", rule, new TestCatalog(), errors));
        Assert.Equal(["rule: more than 100 conditions"], errors);

        ((JsonArray)rule["or"]![4]!["and"]!).RemoveAt(0);
        errors.Clear();
        Assert.NotNull(SegmentRules.Parse("seg", rule, new TestCatalog(), errors));
    }

    [Theory]
    [InlineData("""{"and": []}""", "rule.and: must be an array of 1 to 20 conditions")]
    [InlineData("""{"or": {"tag": "vip"}}""", "rule.or: must be an array of 1 to 20 conditions")]
    [InlineData("""{"not": [{"tag": "vip"}]}""", "rule.not: must be an object, not an array")]
    [InlineData("""{"not": null}""", "rule.not: must be an object, not null")]
    [InlineData("""{"and": [1, "vip", null, []]}""", "rule.and[0]: must be an object, not a number|rule.and[1]: must be an object, not a string|rule.and[2]: must be an object, not null|rule.and[3]: must be an object, not an array")]
    [InlineData("\"vip\"", "rule: must be an object, not a string")]
    [InlineData("{}", "rule: is empty; a condition is exactly one of " + Kinds)]
    [InlineData("""{"tags": "vip"}""", "rule: has no condition key (found: tags); a condition is exactly one of " + Kinds)]
    [InlineData("""{"tag": "vip", "event": "purchase"}""", "rule: has both 'tag' and 'event': a condition is exactly one of " + Kinds)]
    [InlineData("""{"tag": "vip", "op": "eq"}""", "rule: unknown key 'op' (allowed in a tag condition: tag)")]
    [InlineData("""{"event": "purchase", "where": []}""", "rule: unknown key 'where' (allowed in an event condition: event, atLeast, atMost, withinDays)")]
    [InlineData("""{"and": [{"tag": "vip"}], "label": "x"}""", "rule: unknown key 'label' (allowed in an and condition: and)")]
    [InlineData("""{"tag": 5}""", "rule.tag: must be a string, not a number")]
    [InlineData("""{"attribute": 5, "op": "exists"}""", "rule.attribute: must be a string, not a number")]
    [InlineData("""{"attribute": "", "op": "exists"}""", "rule.attribute: must be 1-100 characters without control characters")]
    [InlineData("""{"event": 5}""", "rule.event: must be a string, not a number")]
    [InlineData("""{"event": "pur\u0000chase"}""", "rule.event: must be 1-64 characters without control characters")]
    [InlineData("""{"event": "purchase", "atLeast": "2"}""", "rule.atLeast: must be a whole number from 1 to 1000000")]
    [InlineData("""{"event": "purchase", "atLeast": 0}""", "rule.atLeast: must be a whole number from 1 to 1000000")]
    [InlineData("""{"event": "purchase", "atMost": -1}""", "rule.atMost: must be a whole number from 0 to 1000000")]
    [InlineData("""{"event": "purchase", "atLeast": 5, "atMost": 2}""", "rule: atLeast (5) is more than atMost (2): nobody can match")]
    public void Malformed_structure_is_reported_with_paths(string rule, string expected) =>
        Assert.Equal(expected.Split('|'), Errors(rule));

    [Fact]
    public void Event_names_are_at_most_64_characters()
    {
        Parse($$"""{"event": "{{new string('e', 64)}}"}""");
        Assert.Equal(["rule.event: must be 1-64 characters without control characters"], Errors($$"""{"event": "{{new string('e', 65)}}"}"""));
    }

    [Fact]
    public void Five_mistakes_give_five_messages()
    {
        var errors = Errors("""
            {"and": [
              {"attribute": "age", "type": "float128", "op": "gt", "value": 30},
              {"event": "purchase", "atLeast": 2, "withinDays": 365},
              {"tag": "whale"},
              {"trait": "vipLevel", "op": "eq", "value": 1},
              {"not": {"consent": {"purpose": "spam", "channel": "sms"}}}
            ]}
            """);
        Assert.Equal(
        [
            "rule.and[0].type: unknown type 'float128' (allowed: string, number, boolean, date)",
            "rule.and[1].withinDays: at most 180 days",
            "rule.and[2].tag: no tag 'whale' in the taxonomy",
            "rule.and[3].trait: unknown trait 'vipLevel' (known: lifecycle, rfmSegment, recencyScore, frequencyScore, monetaryScore, orderCount, orderTotal, daysSinceLastOrder, daysSinceLastSeen, eventCount)",
            "rule.and[4].not.consent.purpose: unknown purpose 'spam' (known: marketing, personalisation, analytics, sensitive-health, sensitive-finance, sensitive-biometric, sensitive-minor, sensitive-location)",
        ], errors);
    }

    [Fact]
    public void Mistakes_in_different_fields_of_one_condition_are_all_reported()
    {
        var errors = Errors("""{"event": "", "atLeast": -1, "atMost": "x", "withinDays": 999, "extra": 1}""", id: "Bad Id");
        Assert.Equal(
        [
            "id: must be 1-64 characters of a-z, 0-9, '-' and '_'",
            "rule: unknown key 'extra' (allowed in an event condition: event, atLeast, atMost, withinDays)",
            "rule.event: must be 1-64 characters without control characters",
            "rule.atLeast: must be a whole number from 1 to 1000000",
            "rule.atMost: must be a whole number from 0 to 1000000",
            "rule.withinDays: at most 180 days",
        ], errors);
    }

    [Fact]
    public void A_missing_rule_is_reported()
    {
        var errors = new List<string>();
        Assert.Null(SegmentRules.Parse("seg", null, new TestCatalog(), errors));
        Assert.Equal(["rule: is required, e.g. {\"tag\": \"core-fan\"}"], errors);
    }

    [Fact]
    public void A_repeated_key_is_reported_not_thrown() =>
        Assert.Equal(["rule: names the same key twice in one object"], Errors("""{"and": [{"tag": "vip", "tag": "core-fan"}]}"""));

    [Theory]
    [InlineData("vip", true)]
    [InlineData("high_value-2026", true)]
    [InlineData("", false)]
    [InlineData("VIP", false)]
    [InlineData("a b", false)]
    [InlineData("会员", false)]
    [InlineData(null, false)]
    public void Segment_ids_are_lowercase_letters_digits_dashes_and_underscores(string? id, bool valid) =>
        Assert.Equal(valid, SegmentRules.IsValidId(id));

    [Fact]
    public void Segment_ids_are_at_most_64_characters()
    {
        Assert.True(SegmentRules.IsValidId(new string('a', 64)));
        Assert.False(SegmentRules.IsValidId(new string('a', 65)));
    }

    [Fact]
    public void Define_checks_name_and_description_as_well()
    {
        var errors = new List<string>();
        Assert.Null(SegmentRules.Define("vips", "  ", new string('d', 501), JsonNode.Parse("""{"tag": "whale"}"""), new TestCatalog(), errors));
        Assert.Equal(
        [
            "name: must be 1-100 characters without control characters",
            "description: at most 500 characters",
            "rule.tag: no tag 'whale' in the taxonomy",
        ], errors);
    }

    [Fact]
    public void Define_keeps_its_own_copy_of_the_rule()
    {
        var json = JsonNode.Parse("""{"tag": "vip"}""")!;
        var errors = new List<string>();
        var definition = SegmentRules.Define("vips", "VIPs", "Our best customers", json, new TestCatalog(), errors)!;
        json["tag"] = "core-fan";
        Assert.Equal("""{"tag":"vip"}""", definition.RuleJson.ToJsonString());
        Assert.Equal(("vips", "VIPs", "Our best customers"), (definition.Id, definition.Name, definition.Description));
    }

    [Theory]
    [InlineData("""{"and": [{"segment": 5}, {"not": {"or": [{}]}}, {"attribute": "x", "op": "in", "value": [{}]}]}""")]
    [InlineData("""{"consent": null, "status": null}""")]
    [InlineData("""{"trait": "lifecycle", "op": "in", "value": [null, 1, {}, []]}""")]
    [InlineData("""{"event": "e", "atLeast": 1e300, "atMost": 1e400, "withinDays": -1e400}""")]
    [InlineData("[[[[]]]]")]
    [InlineData("12")]
    public void Nonsense_is_reported_never_thrown(string rule) => Assert.NotEmpty(Errors(rule));
}
