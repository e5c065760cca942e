using System.Text.Json.Nodes;
using Siyu.Core.Journeys;
using static Siyu.Core.Tests.Journeys.JourneyKit;

namespace Siyu.Core.Tests.Journeys;

/// <summary>What publishing refuses: every problem at once, each with its path, none thrown.</summary>
public sealed class JourneyValidationTests
{
    private const string DurationRule = "must be a duration from 1s to 366d, such as \"30m\", \"2h\" or \"1d12h\"";
    private const string DelayRule = "give exactly one of for (\"2h\"), at (a local time of day, \"10:00\") or untilAttribute (a date attribute)";
    private const string IdRule = "must be 1-64 characters of a-z, 0-9, '-' and '_'";
    private const string Exit = "\"done\": {\"type\": \"exit\"}";
    private const string OnlyExit = "{" + Exit + "}";

    private static List<string> EntryErrors(string entry) =>
        Errors($$"""{"name": "T", "entry": {{entry}}, "start": "done", "nodes": {{OnlyExit}}}""");

    // ---- the document ----

    [Theory]
    [InlineData("[]")]
    [InlineData("\"journey\"")]
    [InlineData("null")]
    public void A_document_that_is_not_an_object_is_refused(string json)
    {
        var errors = new List<string>();
        Assert.Null(JourneyParser.Parse(JsonNode.Parse(json), new JourneyCatalog(), errors));
        Assert.Equal(["journey: must be a JSON object with entry, start and nodes"], errors);
    }

    [Fact]
    public void A_key_named_twice_anywhere_is_refused_before_anything_else() =>
        Assert.Equal(["journey: names the same key twice in one object"],
            Errors("""{"name": "T", "entry": {"on": "api"}, "start": "done", "nodes": {"done": {"type": "exit", "type": "exit"}}}"""));

    [Fact]
    public void The_same_node_id_twice_is_a_key_named_twice() =>
        Assert.Equal(["journey: names the same key twice in one object"],
            Errors($$"""{"name": "T", "entry": {"on": "api"}, "start": "done", "nodes": {{"{" + Exit + ", " + Exit + "}"}}}"""));

    [Fact]
    public void Unknown_keys_are_named_with_the_allowed_ones()
    {
        var errors = Errors("""
            {"name": "T", "owner": "me", "entry": {"on": "api", "when": "now"}, "goal": {"event": "paid", "within": "1d", "value": 5},
             "exitOn": [{"event": "unsubscribe", "reason": "x"}], "start": "a",
             "nodes": {"a": {"type": "send", "channel": "sms", "template": "t", "next": "s", "delay": "1h"},
                       "s": {"type": "split", "branches": [{"name": "x", "weight": 100, "next": "done", "label": "X"}, {"name": "y", "weight": 0, "next": "done"}]},
                       "done": {"type": "exit", "next": "a"}}}
            """);
        Assert.Equal([
            "journey: unknown key 'owner' (allowed in a journey: name, description, entry, exitOn, goal, start, nodes)",
            "entry: unknown key 'when' (allowed in an entry: on, event, where, segment, reentry, dedupeKey)",
            "exitOn[0]: unknown key 'reason' (allowed in an exit event: event, where)",
            "goal: unknown key 'value' (allowed in a goal: event, where, within)",
            "nodes.a: unknown key 'delay' (allowed in a send node: type, channel, template, variables, next)",
            "nodes.s.branches[0]: unknown key 'label' (allowed in a split branch: name, weight, next, control)",
            "nodes.done: unknown key 'next' (allowed in an exit node: type)",
        ], errors);
    }

    [Fact]
    public void Name_start_entry_and_nodes_are_required() =>
        Assert.Equal([
            "name: is required",
            "entry: is required, e.g. {\"on\": \"event\", \"event\": \"add_to_cart\", \"reentry\": \"once\"}",
            "nodes: must be an object of 1 to 200 nodes by id, e.g. {\"done\": {\"type\": \"exit\"}}",
            "start: is required",
        ], Errors("{}"));

    [Fact]
    public void Name_and_description_are_bounded_text()
    {
        var longName = new string('n', 101);
        var longText = new string('d', 2001);
        Assert.Equal([
            "name: must be 1-100 characters of text without control characters",
            "description: at most 2000 characters of text",
        ], Errors($$"""{"name": "{{longName}}", "description": "{{longText}}", "entry": {"on": "api"}, "start": "done", "nodes": {{OnlyExit}}}"""));
        Assert.Equal(["name: must be 1-100 characters of text without control characters", "description: at most 2000 characters of text"],
            Errors($$"""{"name": "  ", "description": 5, "entry": {"on": "api"}, "start": "done", "nodes": {{OnlyExit}}}"""));
    }

    [Fact]
    public void Start_must_name_a_node() =>
        Assert.Equal(["start: no node is called 'begin'"], NodeErrors($"{{{Exit}}}", start: "begin"));

    [Fact]
    public void Nodes_must_be_a_non_empty_object_of_at_most_200()
    {
        const string message = "nodes: must be an object of 1 to 200 nodes by id, e.g. {\"done\": {\"type\": \"exit\"}}";
        Assert.Equal([message], NodeErrors("{}"));
        Assert.Equal([message], NodeErrors("[]"));
        var many = string.Join(", ", Enumerable.Range(0, 201).Select(n => $"\"n{n}\": {{\"type\": \"exit\"}}"));
        Assert.Equal([message], NodeErrors("{" + many + "}", start: "n0"));
    }

    [Fact]
    public void A_node_id_must_be_an_id() =>
        Assert.Equal(["nodes.Done Now: a node id " + IdRule], NodeErrors("""{"Done Now": {"type": "exit"}}""", start: "Done Now"));

    // ---- entry ----

    [Fact]
    public void An_unknown_way_in_is_refused() =>
        Assert.Equal(["entry.on: 'schedule' is not a way in; use event, segment or api"], EntryErrors("""{"on": "schedule"}"""));

    [Fact]
    public void An_unknown_reentry_policy_is_refused() =>
        Assert.Equal(["entry.reentry: 'twice' is not a re-entry policy; use once, afterExit or everyTime"], EntryErrors("""{"on": "api", "reentry": "twice"}"""));

    [Fact]
    public void An_entry_on_an_event_needs_the_event() =>
        Assert.Equal(["entry.event: is required"], EntryErrors("""{"on": "event", "reentry": "once"}"""));

    [Fact]
    public void An_entry_filter_is_checked_with_its_path() =>
        Assert.Equal(["entry.where[0].op: unknown operator 'like' (allowed: eq, ne, in, notIn, gt, gte, lt, lte, contains, startsWith, exists, notExists, withinLastDays, moreThanDaysAgo)"],
            EntryErrors("""{"on": "event", "event": "add_to_cart", "where": [{"property": "sku", "op": "like", "value": "x"}]}"""));

    [Fact]
    public void Event_and_where_belong_to_an_entry_on_an_event() =>
        Assert.Equal(["entry: event and where belong to an entry on an event"], EntryErrors("""{"on": "api", "event": "add_to_cart"}"""));

    [Fact]
    public void A_segment_belongs_to_an_entry_on_a_segment() =>
        Assert.Equal(["entry.segment: belongs to an entry on a segment"], EntryErrors("""{"on": "event", "event": "add_to_cart", "segment": "new-members"}"""));

    [Fact]
    public void An_entry_on_a_segment_needs_a_segment_id() =>
        Assert.Equal(["entry.segment: " + IdRule], EntryErrors("""{"on": "segment", "segment": "New Members"}"""));

    [Fact]
    public void An_entry_on_a_segment_needs_the_segment()
    {
        Assert.Equal(["entry.segment: is required"], EntryErrors("""{"on": "segment"}"""));
        Assert.Equal(["entry.segment: unknown segment 'ghosts'"], EntryErrors("""{"on": "segment", "segment": "ghosts"}"""));
    }

    [Fact]
    public void A_dedupe_key_needs_an_every_time_entry_on_an_event()
    {
        Assert.Equal(["entry.dedupeKey: only an everyTime entry has a dedupe key"],
            EntryErrors("""{"on": "event", "event": "add_to_cart", "dedupeKey": "cartId"}"""));
        Assert.Equal(["entry.dedupeKey: only an everyTime entry has a dedupe key"],
            EntryErrors("""{"on": "event", "event": "add_to_cart", "reentry": "afterExit", "dedupeKey": "cartId"}"""));
        Assert.Equal(["entry.dedupeKey: names a property of the entering event, so the entry must be on an event"],
            EntryErrors("""{"on": "segment", "segment": "new-members", "reentry": "everyTime", "dedupeKey": "cartId"}"""));
        Assert.Equal(["entry.dedupeKey: must be 1-100 characters of text without control characters"],
            EntryErrors("""{"on": "event", "event": "add_to_cart", "reentry": "everyTime", "dedupeKey": ""}"""));
    }

    [Fact]
    public void Exit_events_are_an_array_of_at_most_ten_events()
    {
        const string message = "exitOn: must be an array of at most 10 events, e.g. [{\"event\": \"unsubscribe\"}]";
        Assert.Equal([message], Errors($$"""{"name": "T", "entry": {"on": "api"}, "exitOn": {"event": "x"}, "start": "done", "nodes": {{OnlyExit}}}"""));
        var eleven = string.Join(", ", Enumerable.Range(0, 11).Select(n => $"{{\"event\": \"e{n}\"}}"));
        Assert.Equal([message], Errors($$"""{"name": "T", "entry": {"on": "api"}, "exitOn": [{{eleven}}], "start": "done", "nodes": {{OnlyExit}}}"""));
        Assert.Equal(["exitOn[0]: must be an object with event", "exitOn[1].event: is required"],
            Errors($$"""{"name": "T", "entry": {"on": "api"}, "exitOn": ["unsubscribe", {}], "start": "done", "nodes": {{OnlyExit}}}"""));
    }

    [Fact]
    public void A_goal_needs_an_event_and_a_window()
    {
        Assert.Equal(["goal.event: is required", "goal.within: is required, e.g. \"2h\""],
            Errors($$"""{"name": "T", "entry": {"on": "api"}, "goal": {}, "start": "done", "nodes": {{OnlyExit}}}"""));
        Assert.Equal(["goal.within: " + DurationRule],
            Errors($$"""{"name": "T", "entry": {"on": "api"}, "goal": {"event": "paid", "within": "400d"}, "start": "done", "nodes": {{OnlyExit}}}"""));
        Assert.Equal(["goal: must be an object, e.g. {\"event\": \"order_paid\", \"within\": \"7d\"}"],
            Errors($$"""{"name": "T", "entry": {"on": "api"}, "goal": "order_paid", "start": "done", "nodes": {{OnlyExit}}}"""));
    }

    // ---- nodes ----

    [Fact]
    public void An_unknown_node_type_is_refused_and_its_branches_still_count() =>
        Assert.Equal(["nodes.a.type: unknown node type 'sleep'; use one of delay, waitForEvent, condition, split, send, tag, untag, setAttribute, webhook, exit"],
            NodeErrors($$"""{"a": {"type": "sleep", "next": "done"}, {{Exit}}}"""));

    [Fact]
    public void A_node_needs_a_type()
    {
        Assert.Equal(["nodes.a.type: is required"], NodeErrors($$"""{"a": {"next": "done"}, {{Exit}}}"""));
        Assert.Equal(["nodes.a: must be an object with a type"], NodeErrors("""{"a": "exit"}"""));
    }

    [Fact]
    public void A_branch_to_a_missing_node_is_refused_with_the_branch_path()
    {
        Assert.Equal(["nodes.a.next: leads to 'nowhere', which is not a node"],
            NodeErrors("""{"a": {"type": "send", "channel": "sms", "template": "t", "next": "nowhere"}}"""));
        Assert.Equal(["nodes.a.arrived: leads to 'paid', which is not a node"],
            NodeErrors($$"""{"a": {"type": "waitForEvent", "event": "order_paid", "timeout": "1h", "arrived": "paid", "timedOut": "done"}, {{Exit}}}"""));
        Assert.Equal(["nodes.a.else: leads to 'other', which is not a node"],
            NodeErrors($$"""{"a": {"type": "condition", "if": {"tag": "vip"}, "then": "done", "else": "other"}, {{Exit}}}"""));
        Assert.Equal(["nodes.a.branches: leads to 'b2', which is not a node"],
            NodeErrors($$"""{"a": {"type": "split", "branches": [{"name": "x", "weight": 50, "next": "done"}, {"name": "y", "weight": 50, "next": "b2"}]}, {{Exit}}}"""));
    }

    [Fact]
    public void A_missing_branch_is_refused()
    {
        Assert.Equal(["nodes.a.timedOut: is missing; name the node this branch leads to"],
            NodeErrors($$"""{"a": {"type": "waitForEvent", "event": "order_paid", "timeout": "1h", "arrived": "done"}, {{Exit}}}"""));
        Assert.Equal(["nodes.a.next: is missing; name the node this branch leads to"],
            NodeErrors("""{"a": {"type": "send", "channel": "sms", "template": "t"}}"""));
        Assert.Equal(["nodes.a.then: is missing; name the node this branch leads to"],
            NodeErrors($$"""{"a": {"type": "condition", "if": {"tag": "vip"}, "else": "done"}, {{Exit}}}"""));
        Assert.Equal(["nodes.a.branches[1].next: is missing; name the node this branch leads to"],
            NodeErrors($$"""{"a": {"type": "split", "branches": [{"name": "x", "weight": 50, "next": "done"}, {"name": "y", "weight": 50}]}, {{Exit}}}"""));
        Assert.Equal(["nodes.a.next: must be a node id"],
            NodeErrors("""{"a": {"type": "tag", "tag": "vip", "next": ["done"]}}"""));
    }

    [Fact]
    public void A_node_no_one_can_reach_is_refused() =>
        Assert.Equal(["nodes.lost: cannot be reached from start 'a'", "nodes.orphan: cannot be reached from start 'a'"],
            NodeErrors($$"""{"orphan": {"type": "tag", "tag": "vip", "next": "done"}, "a": {"type": "delay", "for": "1h", "next": "done"}, "lost": {"type": "exit"}, {{Exit}}}"""));

    [Fact]
    public void A_cycle_in_which_no_time_passes_is_refused() =>
        Assert.Equal(["nodes.a: a cycle with no delay or wait in it (a -> t -> a) would run forever"],
            NodeErrors($$"""
                {"a": {"type": "condition", "if": {"tag": "vip"}, "then": "t", "else": "done"},
                 "t": {"type": "tag", "tag": "vip", "next": "a"}, {{Exit}}}
                """));

    [Fact]
    public void A_node_leading_to_itself_without_pausing_is_a_cycle() =>
        Assert.Equal(["nodes.a: a cycle with no delay or wait in it (a -> a) would run forever"],
            NodeErrors($$"""{"a": {"type": "condition", "context": [{"property": "x", "op": "exists"}], "then": "a", "else": "done"}, {{Exit}}}"""));

    [Fact]
    public void Each_cycle_is_reported_once() =>
        Assert.Equal([
            "nodes.a: a cycle with no delay or wait in it (a -> b -> c -> a) would run forever",
            "nodes.x: a cycle with no delay or wait in it (x -> y -> x) would run forever",
        ], NodeErrors($$"""
            {"a": {"type": "send", "channel": "sms", "template": "t", "next": "b"},
             "b": {"type": "split", "branches": [{"name": "l", "weight": 50, "next": "c"}, {"name": "r", "weight": 50, "next": "x"}]},
             "c": {"type": "untag", "tag": "vip", "next": "a"},
             "x": {"type": "setAttribute", "attribute": "n", "value": 1, "next": "y"},
             "y": {"type": "condition", "context": [{"property": "n", "op": "exists"}], "then": "x", "else": "done"}, {{Exit}}}
            """));

    [Fact]
    public void A_wait_needs_a_timeout() =>
        Assert.Equal(["nodes.a.timeout: a wait needs a timeout (e.g. \"2h\"), or people would wait forever"],
            NodeErrors($$"""{"a": {"type": "waitForEvent", "event": "order_paid", "arrived": "done", "timedOut": "done"}, {{Exit}}}"""));

    [Fact]
    public void A_wait_needs_its_event() =>
        Assert.Equal(["nodes.a.event: is required"],
            NodeErrors($$"""{"a": {"type": "waitForEvent", "timeout": "1h", "arrived": "done", "timedOut": "done"}, {{Exit}}}"""));

    [Theory]
    [InlineData("0s")]
    [InlineData("-1h")]
    [InlineData("367d")]
    [InlineData("366d1s")]
    [InlineData("2 hours")]
    [InlineData("")]
    public void Durations_must_be_from_one_second_to_366_days(string duration)
    {
        Assert.Equal(["nodes.a.timeout: " + DurationRule],
            NodeErrors($$"""{"a": {"type": "waitForEvent", "event": "order_paid", "timeout": "{{duration}}", "arrived": "done", "timedOut": "done"}, {{Exit}}}"""));
        Assert.Equal(["nodes.a.for: " + DurationRule],
            NodeErrors($$"""{"a": {"type": "delay", "for": "{{duration}}", "next": "done"}, {{Exit}}}"""));
        Assert.Equal(["goal.within: " + DurationRule],
            Errors($$"""{"name": "T", "entry": {"on": "api"}, "goal": {"event": "paid", "within": "{{duration}}"}, "start": "done", "nodes": {{OnlyExit}}}"""));
    }

    [Fact]
    public void A_duration_must_be_text() =>
        Assert.Equal(["nodes.a.for: " + DurationRule], NodeErrors($$"""{"a": {"type": "delay", "for": 3600, "next": "done"}, {{Exit}}}"""));

    [Fact]
    public void The_longest_durations_are_accepted()
    {
        Nodes($$"""{"a": {"type": "delay", "for": "366d", "next": "done"}, {{Exit}}}""");
        Nodes($$"""{"a": {"type": "delay", "for": "1s", "next": "done"}, {{Exit}}}""");
        Nodes($$"""{"a": {"type": "delay", "untilAttribute": "birthday", "offset": "-366d", "next": "done"}, {{Exit}}}""");
    }

    [Theory]
    [InlineData(""" "next": "done" """)]
    [InlineData(""" "for": "1h", "at": "10:00", "next": "done" """)]
    [InlineData(""" "at": "10:00", "untilAttribute": "birthday", "next": "done" """)]
    [InlineData(""" "for": "1h", "at": "10:00", "untilAttribute": "birthday", "next": "done" """)]
    public void A_delay_takes_exactly_one_of_for_at_and_until_attribute(string keys) =>
        Assert.Equal(["nodes.a: " + DelayRule], NodeErrors($$"""{"a": {"type": "delay", {{keys}}}, {{Exit}}}"""));

    [Theory]
    [InlineData("25:00")]
    [InlineData("9:00")]
    [InlineData("10h")]
    [InlineData("ab:cd")]
    public void A_delay_at_needs_a_time_of_day(string at) =>
        Assert.Equal([$"nodes.a.at: '{at}' is not a time of day HH:mm"], NodeErrors($$"""{"a": {"type": "delay", "at": "{{at}}", "next": "done"}, {{Exit}}}"""));

    [Fact]
    public void Only_a_delay_until_an_attribute_takes_an_offset_and_it_is_bounded()
    {
        Assert.Equal(["nodes.a.offset: only a delay untilAttribute takes an offset"],
            NodeErrors($$"""{"a": {"type": "delay", "for": "1h", "offset": "1h", "next": "done"}, {{Exit}}}"""));
        Assert.Equal(["nodes.a.offset: must be a signed duration such as \"-1d\" or \"9h\", at most 366d"],
            NodeErrors($$"""{"a": {"type": "delay", "untilAttribute": "birthday", "offset": "-367d", "next": "done"}, {{Exit}}}"""));
        Assert.Equal(["nodes.a.offset: must be a signed duration such as \"-1d\" or \"9h\", at most 366d"],
            NodeErrors($$"""{"a": {"type": "delay", "untilAttribute": "birthday", "offset": "soon", "next": "done"}, {{Exit}}}"""));
    }

    [Fact]
    public void A_condition_needs_a_rule_or_a_context_filter() =>
        Assert.Equal(["nodes.a: give if (a rule on the person, e.g. {\"tag\": \"vip\"}) and/or context (conditions on the run's variables)"],
            NodeErrors($$"""{"a": {"type": "condition", "then": "done", "else": "done"}, {{Exit}}}"""));

    [Fact]
    public void A_condition_rule_is_checked_as_a_segment_rule_against_the_catalog()
    {
        Assert.Equal(["nodes.a.if.tag: no tag 'whale' in the taxonomy"],
            NodeErrors($$"""{"a": {"type": "condition", "if": {"tag": "whale"}, "then": "done", "else": "done"}, {{Exit}}}"""));
        Assert.Equal(["nodes.a.if.or[1].segment: unknown segment 'ghosts'"],
            NodeErrors($$"""{"a": {"type": "condition", "if": {"or": [{"tag": "vip"}, {"segment": "ghosts"}]}, "then": "done", "else": "done"}, {{Exit}}}"""));
        Assert.Equal(["nodes.a.if: has no condition key (found: vip); a condition is exactly one of and, or, not, attribute, trait, tag, consent, event, segment"],
            NodeErrors($$"""{"a": {"type": "condition", "if": {"vip": true}, "then": "done", "else": "done"}, {{Exit}}}"""));
        Assert.Equal(["nodes.a.context[0].property: is required"],
            NodeErrors($$"""{"a": {"type": "condition", "context": [{"op": "exists"}], "then": "done", "else": "done"}, {{Exit}}}"""));
    }

    [Fact]
    public void Split_weights_must_add_up_to_100()
    {
        Assert.Equal(["nodes.a.branches: weights add up to 110, not 100"],
            NodeErrors($$"""{"a": {"type": "split", "branches": [{"name": "x", "weight": 60, "next": "done"}, {"name": "y", "weight": 50, "next": "done"}]}, {{Exit}}}"""));
        Assert.Equal(["nodes.a.branches: weights add up to 90, not 100"],
            NodeErrors($$"""{"a": {"type": "split", "branches": [{"name": "x", "weight": 40, "next": "done"}, {"name": "y", "weight": 50, "control": true}]}, {{Exit}}}"""));
    }

    [Theory]
    [InlineData("101")]
    [InlineData("-1")]
    [InlineData("50.5")]
    [InlineData("\"50\"")]
    [InlineData("null")]
    public void A_split_weight_is_a_whole_number_from_0_to_100(string weight) =>
        Assert.Equal(["nodes.a.branches[0].weight: must be a whole number from 0 to 100"],
            NodeErrors($$"""{"a": {"type": "split", "branches": [{"name": "x", "weight": {{weight}}, "next": "done"}, {"name": "y", "weight": 50, "next": "done"}]}, {{Exit}}}"""));

    [Fact]
    public void A_split_has_two_to_ten_branches()
    {
        const string message = "nodes.a.branches: must be an array of 2 to 10 branches, e.g. [{\"name\": \"coupon\", \"weight\": 50, \"next\": \"give\"}, {\"name\": \"control\", \"weight\": 50, \"control\": true}]";
        Assert.Equal([message], NodeErrors($$"""{"a": {"type": "split", "branches": [{"name": "x", "weight": 100, "next": "done"}]}, {{Exit}}}"""));
        var eleven = string.Join(", ", Enumerable.Range(0, 11).Select(n => $$"""{"name": "b{{n}}", "weight": {{(n == 0 ? 0 : 10)}}, "next": "done"}"""));
        // The branches still lead somewhere, so nothing behind them is reported unreachable.
        Assert.Equal([message], NodeErrors($$"""{"a": {"type": "split", "branches": [{{eleven}}]}, {{Exit}}}"""));
    }

    [Fact]
    public void Split_branch_names_are_unique_ids() =>
        Assert.Equal(["nodes.a.branches[1].name: " + IdRule, "nodes.a.branches: two branches are called 'x'"],
            NodeErrors($$"""
                {"a": {"type": "split", "branches": [{"name": "x", "weight": 30, "next": "done"}, {"name": "Big X", "weight": 30, "next": "done"}, {"name": "x", "weight": 40, "next": "done"}]}, {{Exit}}}
                """));

    [Fact]
    public void A_split_has_at_most_one_control_branch() =>
        Assert.Equal(["nodes.a.branches: at most one control branch"],
            NodeErrors($$"""
                {"a": {"type": "split", "branches": [{"name": "x", "weight": 50, "next": "done"}, {"name": "c1", "weight": 25, "control": true}, {"name": "c2", "weight": 25, "control": true}]}, {{Exit}}}
                """));

    [Fact]
    public void A_control_branch_has_no_next() =>
        Assert.Equal(["nodes.a.branches[1].next: a control branch does nothing, so it has no next"],
            NodeErrors($$"""{"a": {"type": "split", "branches": [{"name": "x", "weight": 50, "next": "done"}, {"name": "c", "weight": 50, "control": true, "next": "done"}]}, {{Exit}}}"""));

    [Fact]
    public void A_control_flag_is_true_or_false() =>
        Assert.Equal(["nodes.a.branches[1].control: must be true or false"],
            NodeErrors($$"""{"a": {"type": "split", "branches": [{"name": "x", "weight": 50, "next": "done"}, {"name": "c", "weight": 50, "control": "yes", "next": "done"}]}, {{Exit}}}"""));

    [Fact]
    public void A_send_names_a_known_channel() =>
        Assert.Equal(["nodes.a.channel: unknown channel 'fax'; use one of wechat_oa, miniprogram_subscribe, wecom, sms, email, push"],
            NodeErrors($$"""{"a": {"type": "send", "channel": "fax", "template": "t", "next": "done"}, {{Exit}}}"""));

    [Fact]
    public void The_all_wildcard_is_not_a_channel_to_send_on() =>
        Assert.Equal(["nodes.a.channel: unknown channel 'all'; use one of wechat_oa, miniprogram_subscribe, wecom, sms, email, push"],
            NodeErrors($$"""{"a": {"type": "send", "channel": "all", "template": "t", "next": "done"}, {{Exit}}}"""));

    [Theory]
    [InlineData("Cart Reminder")]
    [InlineData("cart/reminder")]
    public void A_send_names_a_template_id(string template) =>
        Assert.Equal(["nodes.a.template: a template id " + IdRule],
            NodeErrors($$"""{"a": {"type": "send", "channel": "sms", "template": "{{template}}", "next": "done"}, {{Exit}}}"""));

    [Fact]
    public void Send_variables_are_text_with_known_placeholders()
    {
        Assert.Equal([
            "nodes.a.variables.p: '{{foo.bar}}' starts with 'foo'; use one of attributes, context, profile",
            "nodes.a.variables.q: '{{nickname}}' must name a root and a field, e.g. {{attributes.nickname}}",
            "nodes.a.variables.r: must be text of at most 2000 characters",
        ], NodeErrors($$$"""
            {"a": {"type": "send", "channel": "sms", "template": "t", "next": "done",
                   "variables": {"p": "Hi {{foo.bar}}", "q": "{{nickname}}", "r": 5, "ok": "{{profile.id}}"}}, {{{Exit}}}}
            """));
        Assert.Equal(["nodes.a.variables: must be an object of at most 30 names to text, e.g. {\"product\": \"{{context.event.name}}\"}"],
            NodeErrors($$"""{"a": {"type": "send", "channel": "sms", "template": "t", "variables": ["x"], "next": "done"}, {{Exit}}}"""));
    }

    [Fact]
    public void Placeholders_are_checked_in_attribute_values_and_webhook_bodies_too() =>
        Assert.Equal([
            "nodes.a.value: '{{foo.bar}}' starts with 'foo'; use one of attributes, context, profile",
            "nodes.b.body: '{{profile.nickname}}': the profile offers only profile.id",
        ], NodeErrors($$$"""
            {"a": {"type": "setAttribute", "attribute": "x", "value": "{{foo.bar}}", "next": "b"},
             "b": {"type": "webhook", "url": "https://example.com/h", "body": {"list": [1, {"who": "{{profile.nickname}}"}]}, "next": "done"}, {{{Exit}}}}
            """));

    [Fact]
    public void An_attribute_value_is_required_and_simple()
    {
        Assert.Equal(["nodes.a.value: is required (null clears the attribute)"],
            NodeErrors($$"""{"a": {"type": "setAttribute", "attribute": "x", "next": "done"}, {{Exit}}}"""));
        Assert.Equal(["nodes.a.value: must be text, a number, true/false or null"],
            NodeErrors($$"""{"a": {"type": "setAttribute", "attribute": "x", "value": {"y": 1}, "next": "done"}, {{Exit}}}"""));
    }

    [Theory]
    [InlineData("ftp://example.com/hook")]
    [InlineData("https://user:secret@example.com/hook")]
    [InlineData("http://token@example.com/hook")]
    [InlineData("/relative/hook")]
    [InlineData("example.com/hook")]
    [InlineData("javascript:alert(1)")]
    public void A_webhook_url_is_an_absolute_http_url_without_credentials(string url) =>
        Assert.Equal(["nodes.a.url: must be an absolute http(s) URL without credentials"],
            NodeErrors($$"""{"a": {"type": "webhook", "url": "{{url}}", "next": "done"}, {{Exit}}}"""));

    [Fact]
    public void A_webhook_body_is_at_most_16_kb() =>
        Assert.Equal(["nodes.a.body: at most 16 KB"],
            NodeErrors($$"""{"a": {"type": "webhook", "url": "https://example.com/h", "body": {"x": "{{new string('x', 17_000)}}"}, "next": "done"}, {{Exit}}}"""));

    [Fact]
    public void A_tag_node_names_a_tag_of_the_taxonomy()
    {
        Assert.Equal(["nodes.a.tag: no tag 'whale' in the taxonomy"],
            NodeErrors($$"""{"a": {"type": "tag", "tag": "whale", "next": "done"}, {{Exit}}}"""));
        Assert.Equal(["nodes.a.tag: no tag 'whale' in the taxonomy"],
            NodeErrors($$"""{"a": {"type": "untag", "tag": "whale", "next": "done"}, {{Exit}}}"""));
        Assert.Equal(["nodes.a.tag: not a valid tag name (1-64 characters, no control characters, '/', '\\', '#' or '?', no surrounding spaces)"],
            NodeErrors($$"""{"a": {"type": "tag", "tag": "a/b", "next": "done"}, {{Exit}}}"""));
        Assert.Equal(["nodes.a.tag: is required"],
            NodeErrors($$"""{"a": {"type": "tag", "next": "done"}, {{Exit}}}"""));
    }

    // ---- all at once ----

    [Fact]
    public void Every_problem_of_a_document_is_reported_at_once()
    {
        var errors = Errors("""
            {
              "name": "Cart recovery",
              "entry": {"on": "event", "reentry": "once", "dedupeKey": "cartId"},
              "goal": {"event": "order_paid", "within": "0s"},
              "start": "wait_pay",
              "nodes": {
                "wait_pay": {"type": "waitForEvent", "event": "order_paid", "arrived": "done", "timedOut": "remind"},
                "remind": {"type": "send", "channel": "fax", "template": "cart_reminder",
                           "variables": {"nickname": "{{user.nickname}}"}, "next": "offer"},
                "offer": {"type": "split", "branches": [
                  {"name": "coupon", "weight": 60, "next": "give_coupon"},
                  {"name": "control", "weight": 50, "control": true}
                ]},
                "give_coupon": {"type": "send", "channel": "sms", "template": "coupon_10", "next": "gone"},
                "hook": {"type": "webhook", "url": "ftp://crm.example.com", "next": "done"},
                "spin": {"type": "condition", "if": {"tag": "vip"}, "then": "spin", "else": "done"},
                "done": {"type": "exit"}
              }
            }
            """);
        Assert.Equal([
            "entry.event: is required",
            "entry.dedupeKey: only an everyTime entry has a dedupe key",
            "goal.within: " + DurationRule,
            "nodes.wait_pay.timeout: a wait needs a timeout (e.g. \"2h\"), or people would wait forever",
            "nodes.remind.channel: unknown channel 'fax'; use one of wechat_oa, miniprogram_subscribe, wecom, sms, email, push",
            "nodes.remind.variables.nickname: '{{user.nickname}}' starts with 'user'; use one of attributes, context, profile",
            "nodes.offer.branches: weights add up to 110, not 100",
            "nodes.hook.url: must be an absolute http(s) URL without credentials",
            "nodes.give_coupon.next: leads to 'gone', which is not a node",
            "nodes.hook: cannot be reached from start 'wait_pay'",
            "nodes.spin: cannot be reached from start 'wait_pay'",
            "nodes.spin: a cycle with no delay or wait in it (spin -> spin) would run forever",
        ], errors);
    }
}
