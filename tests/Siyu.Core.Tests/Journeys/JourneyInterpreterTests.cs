using System.Text.Json.Nodes;
using Siyu.Core.Journeys;
using Siyu.Core.Profiles;
using static Siyu.Core.Tests.Journeys.JourneyKit;

namespace Siyu.Core.Tests.Journeys;

/// <summary>One instance through the cart-recovery journey: waits, timers, events, sends, exits.</summary>
public sealed class JourneyInterpreterTests
{
    private static readonly JourneyDefinition Cart = Parse(CartRecovery);
    private static readonly JsonObject CartContext = Json("""{"event": {"product": "婴儿奶粉", "cartId": "c-42"}}""");
    private static readonly ProfileState Person = Profile(attributes: ("nickname", "小王"));

    private static string KeyAt(int steps, int run = 1, string profileId = ProfileId) => $"{JourneyId}~{profileId}~0~{run}~{steps}";

    /// <summary>A run of the cart journey, entered at <see cref="JourneyKit.Now"/> and waiting at wait_pay.</summary>
    private static JourneyInstance Waiting(string profileId = ProfileId) =>
        Enter(Cart, NewRun(Cart, profileId, context: CartContext), Now).Instance;

    [Fact]
    public void A_new_run_starts_before_the_start_node_with_its_goal_window()
    {
        var run = NewRun(Cart, context: CartContext);
        Assert.Equal((InstanceStatus.Active, (string?)null, 0L, 0), (run.Status, run.Node, run.Generation, run.Steps));
        Assert.Equal(Now, run.EnteredAt);
        Assert.Equal(Now.AddDays(7), run.GoalBy);
        Assert.Equal("evt-1", run.EnteredBy);
        Assert.Equal($"{JourneyId}~{ProfileId}~0", run.Key);
        Assert.Null(NewRun(Nodes("""{"a": {"type": "exit"}}""")).GoalBy);
    }

    [Fact]
    public void Entering_runs_to_the_first_wait_and_arms_its_timer()
    {
        var run = NewRun(Cart, context: CartContext);
        var r = Enter(Cart, run, Now, profile: null, loaded: false);

        Assert.Equal(StepOutcome.Moved, r.Outcome);
        var i = r.Instance;
        Assert.Equal(("wait_pay", 1L, 1), (i.Node, i.Generation, i.Steps));
        Assert.Equal(Now.AddHours(2), i.DueAt);
        Assert.Equal(Now, i.WaitingSince);
        Assert.Equal(Now.AddHours(2), r.TimerAt);
        Assert.Equal([new PathStep("wait_pay", Now)], i.Path);
        Assert.Empty(r.Sends);
        Assert.Null(r.Effect);
        Assert.Equal(1, r.Delta.Entered);
        Assert.Equal(1, r.Delta.Node("wait_pay").Entered);
        Assert.Empty(r.Delta.Node("wait_pay").Left);
        Assert.Equal((0L, 0L), (r.Delta.Completed, r.Delta.Exited));
        // The step works on a copy: the instance given is untouched.
        Assert.Equal((null, 0L, 0), (run.Node, run.Generation, run.Path.Count));
    }

    [Fact]
    public void Entering_twice_is_ignored()
    {
        var r = JourneyInterpreter.Step(Waiting(), new Stimulus.Enter(), Input(Cart, Now));
        Assert.Equal(StepOutcome.Ignored, r.Outcome);
        Assert.True(r.Delta.IsEmpty);
    }

    [Fact]
    public void A_timer_of_an_earlier_generation_is_stale()
    {
        var waiting = Waiting();
        var r = JourneyInterpreter.Step(waiting, new Stimulus.TimerFired(waiting.Generation - 1), Input(Cart, Now.AddHours(3), Person));
        Assert.Equal((StepOutcome.Ignored, "stale timer"), (r.Outcome, r.Why));
        Assert.Equal(("wait_pay", 1L), (r.Instance.Node, r.Instance.Generation));
        Assert.Empty(r.Sends);
        Assert.True(r.Delta.IsEmpty);
        Assert.Null(r.TimerAt);

        var later = JourneyInterpreter.Step(waiting, new Stimulus.TimerFired(waiting.Generation + 1), Input(Cart, Now.AddHours(3), Person));
        Assert.Equal((StepOutcome.Ignored, "stale timer"), (later.Outcome, later.Why));
    }

    [Fact]
    public void An_early_timer_is_not_yet_due_and_is_armed_again()
    {
        var waiting = Waiting();
        var r = Fire(Cart, waiting, Person, at: Now.AddHours(1));
        Assert.Equal((StepOutcome.NotYet, (DateTimeOffset?)Now.AddHours(2)), (r.Outcome, r.TimerAt));
        Assert.Equal(("wait_pay", 1L, (DateTimeOffset?)Now.AddHours(2)), (r.Instance.Node, r.Instance.Generation, r.Instance.DueAt));
        Assert.True(r.Delta.IsEmpty);

        // Within the tolerance for clocks that differ a little, it is taken.
        var nearly = Fire(Cart, waiting, Person, at: Now.AddHours(2) - TimeSpan.FromSeconds(1));
        Assert.Equal(StepOutcome.Moved, nearly.Outcome);
        Assert.Equal("wait_pay_2", nearly.Instance.Node);
    }

    [Fact]
    public void The_awaited_event_takes_the_arrived_branch()
    {
        var at = Now.AddMinutes(30);
        var r = JourneyInterpreter.Step(Waiting(), Event("order_paid", at), Input(Cart, at));

        Assert.Equal(StepOutcome.Moved, r.Outcome);
        var i = r.Instance;
        Assert.Equal((InstanceStatus.Completed, JourneyInterpreter.ReasonExitNode, (DateTimeOffset?)at), (i.Status, i.EndReason, i.EndedAt));
        Assert.Equal("done", i.Node);
        Assert.Equal([new PathStep("wait_pay", Now, "arrived"), new PathStep("done", at, "end")], i.Path);
        Assert.Null(i.DueAt);
        Assert.Null(i.WaitingSince);
        Assert.Null(r.TimerAt);
        Assert.Equal(1, r.Delta.Node("wait_pay").Left["arrived"]);
        Assert.Equal(1, r.Delta.Node("done").Entered);
        Assert.Equal(1, r.Delta.Node("done").Left["end"]);
        Assert.Equal((0L, 1L, 0L), (r.Delta.Entered, r.Delta.Completed, r.Delta.Exited));
    }

    [Fact]
    public void An_event_before_the_wait_began_or_after_it_timed_out_does_not_count()
    {
        var waiting = Waiting();
        var before = JourneyInterpreter.Step(waiting, Event("order_paid", Now.AddSeconds(-1)), Input(Cart, Now.AddMinutes(1)));
        Assert.Equal((StepOutcome.Ignored, "the event happened before the wait began"), (before.Outcome, before.Why));

        var late = JourneyInterpreter.Step(waiting, Event("order_paid", Now.AddHours(2).AddSeconds(1)), Input(Cart, Now.AddHours(2).AddSeconds(1)));
        Assert.Equal((StepOutcome.Ignored, "the event came after the wait timed out"), (late.Outcome, late.Why));

        var onTheDot = JourneyInterpreter.Step(waiting, Event("order_paid", Now.AddHours(2)), Input(Cart, Now.AddHours(2)));
        Assert.Equal(StepOutcome.Moved, onTheDot.Outcome);

        var other = JourneyInterpreter.Step(waiting, Event("order_refunded", Now.AddMinutes(5)), Input(Cart, Now.AddMinutes(5)));
        Assert.Equal((StepOutcome.Ignored, "not the awaited event"), (other.Outcome, other.Why));
        Assert.Equal("wait_pay", other.Instance.Node);
    }

    [Fact]
    public void An_event_that_does_not_pass_the_wait_filter_is_ignored()
    {
        var j = Nodes("""
            {"a": {"type": "waitForEvent", "event": "order_paid", "where": [{"property": "total", "op": "gte", "value": 100}], "timeout": "1d", "arrived": "yes", "timedOut": "no"},
             "yes": {"type": "exit"}, "no": {"type": "exit"}}
            """);
        var waiting = Enter(j, NewRun(j), Now).Instance;
        var small = JourneyInterpreter.Step(waiting, Event("order_paid", Now.AddHours(1), """{"total": 99}"""), Input(j, Now.AddHours(1)));
        Assert.Equal(StepOutcome.Ignored, small.Outcome);
        var none = JourneyInterpreter.Step(waiting, Event("order_paid", Now.AddHours(1)), Input(j, Now.AddHours(1)));
        Assert.Equal(StepOutcome.Ignored, none.Outcome);
        var big = JourneyInterpreter.Step(waiting, Event("order_paid", Now.AddHours(1), """{"total": 100}"""), Input(j, Now.AddHours(1)));
        Assert.Equal(("yes", InstanceStatus.Completed), (big.Instance.Node, big.Instance.Status));
    }

    [Fact]
    public void An_event_when_no_wait_is_current_is_ignored()
    {
        var j = Nodes("""{"a": {"type": "delay", "for": "1h", "next": "done"}, "done": {"type": "exit"}}""");
        var delayed = Enter(j, NewRun(j), Now).Instance;
        var r = JourneyInterpreter.Step(delayed, Event("order_paid", Now.AddMinutes(1)), Input(j, Now.AddMinutes(1)));
        Assert.Equal((StepOutcome.Ignored, "not waiting"), (r.Outcome, r.Why));
    }

    [Fact]
    public void A_wait_that_times_out_takes_the_timed_out_branch_and_sends_with_rendered_variables()
    {
        var waiting = Waiting();
        var due = waiting.DueAt!.Value;

        var withoutProfile = JourneyInterpreter.Step(waiting, new Stimulus.TimerFired(1), Input(Cart, due, profile: null, loaded: false));
        Assert.Equal(StepOutcome.NeedsProfile, withoutProfile.Outcome);
        Assert.Empty(withoutProfile.Sends);
        Assert.True(withoutProfile.Delta.IsEmpty);
        Assert.Null(withoutProfile.TimerAt);

        var r = JourneyInterpreter.Step(waiting, new Stimulus.TimerFired(1), Input(Cart, due, Person));
        Assert.Equal(StepOutcome.Moved, r.Outcome);
        var send = Assert.Single(r.Sends);
        Assert.Equal((KeyAt(2), "remind", "wechat_oa", "cart_reminder"), (send.Key, send.Node, send.Channel, send.Template));
        Assert.Equal(new Dictionary<string, string> { ["product"] = "婴儿奶粉", ["nickname"] = "小王" }, send.Variables);
        Assert.Null(r.Effect);

        var i = r.Instance;
        Assert.Equal(("wait_pay_2", 2L, 3), (i.Node, i.Generation, i.Steps));
        Assert.Equal(due.AddDays(1), i.DueAt);
        Assert.Equal(due, i.WaitingSince);
        Assert.Equal(due.AddDays(1), r.TimerAt);
        Assert.Equal([new PathStep("wait_pay", Now, "timedOut"), new PathStep("remind", due, "next"), new PathStep("wait_pay_2", due)], i.Path);
        Assert.Equal(1, r.Delta.Node("wait_pay").Left["timedOut"]);
        Assert.Equal((1L, 1L), (r.Delta.Node("remind").Entered, r.Delta.Node("remind").Left["next"]));
        Assert.Equal(1, r.Delta.Node("wait_pay_2").Entered);
        Assert.Equal(0, r.Delta.Entered);
    }

    [Fact]
    public void The_same_state_and_stimulus_give_the_same_result_and_keys()
    {
        var waiting = Waiting();
        var first = Fire(Cart, waiting, Person);
        var second = Fire(Cart, waiting, Person);
        Assert.Equal(first.Sends.Single().Key, second.Sends.Single().Key);
        Assert.Equal(first.Sends.Single().Variables, second.Sends.Single().Variables);
        Assert.Equal((first.Instance.Node, first.Instance.Generation, first.Instance.DueAt), (second.Instance.Node, second.Instance.Generation, second.Instance.DueAt));

        var otherPerson = Fire(Cart, Waiting("p0000000000000000002"), Person);
        Assert.NotEqual(first.Sends.Single().Key, otherPerson.Sends.Single().Key);
    }

    [Fact]
    public void An_awaited_event_held_while_paused_is_taken_when_the_timer_fires()
    {
        var waiting = Waiting();
        waiting.Held = new HeldArrival("evt-9", Now.AddMinutes(10));
        var r = Fire(Cart, waiting, Person);
        Assert.Equal(("done", InstanceStatus.Completed), (r.Instance.Node, r.Instance.Status));
        Assert.Equal(1, r.Delta.Node("wait_pay").Left["arrived"]);
        Assert.Null(r.Instance.Held);
        Assert.Empty(r.Sends);
    }

    [Fact]
    public void A_profile_that_is_gone_ends_the_run_where_it_would_be_needed()
    {
        var waiting = Waiting();
        var r = JourneyInterpreter.Step(waiting, new Stimulus.TimerFired(1), Input(Cart, waiting.DueAt!.Value, profile: null, loaded: true));
        Assert.Equal(StepOutcome.Moved, r.Outcome);
        Assert.Equal((InstanceStatus.Exited, JourneyInterpreter.ReasonProfileGone), (r.Instance.Status, r.Instance.EndReason));
        Assert.Empty(r.Sends);
        Assert.Equal(1, r.Delta.Exited);
        Assert.Equal(1, r.Delta.Node("wait_pay").Left["timedOut"]);
        Assert.False(r.Delta.Nodes.ContainsKey("remind"));
        Assert.Null(r.TimerAt);
    }

    [Fact]
    public void Leaving_from_a_wait_ends_the_run_and_counts_the_reason_at_the_node()
    {
        var waiting = Waiting();
        var at = Now.AddMinutes(20);
        var r = JourneyInterpreter.Step(waiting, new Stimulus.Leave(JourneyInterpreter.ReasonExitEvent), Input(Cart, at));

        Assert.Equal(StepOutcome.Moved, r.Outcome);
        var i = r.Instance;
        Assert.Equal((InstanceStatus.Exited, JourneyInterpreter.ReasonExitEvent, (DateTimeOffset?)at), (i.Status, i.EndReason, i.EndedAt));
        Assert.Equal(2, i.Generation);
        Assert.Null(i.DueAt);
        Assert.Null(r.TimerAt);
        Assert.Equal(1, r.Delta.Exited);
        Assert.Equal(0, r.Delta.Completed);
        Assert.Equal(1, r.Delta.Node("wait_pay").Left[JourneyInterpreter.ReasonExitEvent]);
        Assert.Equal(0, r.Delta.Node("wait_pay").Entered);
        Assert.Equal(new PathStep("wait_pay", Now, JourneyInterpreter.ReasonExitEvent), Assert.Single(i.Path));

        var timer = JourneyInterpreter.Step(i, new Stimulus.TimerFired(1), Input(Cart, Now.AddHours(2), Person));
        Assert.Equal((StepOutcome.Ignored, "ended"), (timer.Outcome, timer.Why));
        Assert.Equal(StepOutcome.Ignored, JourneyInterpreter.Step(i, new Stimulus.Leave(JourneyInterpreter.ReasonArchived), Input(Cart, at)).Outcome);
        Assert.Equal(StepOutcome.Ignored, JourneyInterpreter.Step(i, Event("order_paid", at), Input(Cart, at)).Outcome);
    }

    [Fact]
    public void Reaching_the_coupon_branch_sends_the_coupon_and_completes()
    {
        var split = (SplitNode)Cart.Node("offer");
        var id = ProfileTaking(split, "coupon");
        var run = Fire(Cart, Fire(Cart, Waiting(id), Person).Instance, Person);

        var i = run.Instance;
        Assert.Equal((InstanceStatus.Completed, JourneyInterpreter.ReasonExitNode), (i.Status, i.EndReason));
        Assert.Equal(new Dictionary<string, string> { ["offer"] = "coupon" }, i.Splits);
        var send = Assert.Single(run.Sends);
        Assert.Equal((KeyAt(5, profileId: id), "give_coupon", "sms", "coupon_10"), (send.Key, send.Node, send.Channel, send.Template));
        Assert.Equal(new Dictionary<string, string> { ["code"] = "CART10" }, send.Variables);
        Assert.Equal(1, run.Delta.Node("offer").Left["coupon"]);
        Assert.Equal(1, run.Delta.Node("wait_pay_2").Left["timedOut"]);
        Assert.Equal(1, run.Delta.Completed);
        Assert.Equal(["wait_pay", "remind", "wait_pay_2", "offer", "give_coupon", "done"], i.Path.Select(p => p.Node).ToList());
        Assert.Equal(["timedOut", "next", "timedOut", "coupon", "next", "end"], i.Path.Select(p => p.Branch).ToList());
    }

    [Fact]
    public void The_control_branch_ends_the_run_completed_and_records_the_split()
    {
        var split = (SplitNode)Cart.Node("offer");
        var id = ProfileTaking(split, "control");
        var run = Fire(Cart, Fire(Cart, Waiting(id), Person).Instance, Person);

        var i = run.Instance;
        Assert.Equal((InstanceStatus.Completed, JourneyInterpreter.ReasonControl), (i.Status, i.EndReason));
        Assert.Equal("offer", i.Node);
        Assert.Equal(new Dictionary<string, string> { ["offer"] = "control" }, i.Splits);
        Assert.Empty(run.Sends);
        Assert.Null(run.Effect);
        Assert.Null(run.TimerAt);
        Assert.Equal(new PathStep("offer", Now.AddHours(2).AddDays(1), "control"), i.Path[^1]);
        Assert.Equal((1L, 1L), (run.Delta.Node("offer").Entered, run.Delta.Node("offer").Left["control"]));
        Assert.Equal((1L, 0L), (run.Delta.Completed, run.Delta.Exited));
        Assert.False(run.Delta.Nodes.ContainsKey("give_coupon"));
    }

    [Fact]
    public void A_condition_on_the_person_needs_the_profile_and_then_decides()
    {
        var j = Nodes("""{"a": {"type": "condition", "if": {"tag": "vip"}, "then": "yes", "else": "no"}, "yes": {"type": "exit"}, "no": {"type": "exit"}}""");
        var run = NewRun(j);
        var needs = Enter(j, run, Now, profile: null, loaded: false);
        Assert.Equal((StepOutcome.NeedsProfile, "needs the profile"), (needs.Outcome, needs.Why));
        Assert.True(needs.Delta.IsEmpty);

        var vip = Profile();
        vip.Tags["vip"] = new TagMark(Now.AddDays(-3), "test");
        var then = Enter(j, run, Now, vip);
        Assert.Equal(("yes", InstanceStatus.Completed), (then.Instance.Node, then.Instance.Status));
        Assert.Equal(1, then.Delta.Node("a").Left["then"]);

        var other = Enter(j, run, Now, Profile());
        Assert.Equal("no", other.Instance.Node);
        Assert.Equal(1, other.Delta.Node("a").Left["else"]);

        var gone = Enter(j, run, Now, profile: null, loaded: true);
        Assert.Equal((InstanceStatus.Exited, JourneyInterpreter.ReasonProfileGone), (gone.Instance.Status, gone.Instance.EndReason));
        Assert.Equal((1L, 1L), (gone.Delta.Entered, gone.Delta.Exited));
    }

    [Fact]
    public void A_condition_refers_to_segments_through_the_step_input()
    {
        var j = Nodes("""{"a": {"type": "condition", "if": {"segment": "big-spenders"}, "then": "yes", "else": "no"}, "yes": {"type": "exit"}, "no": {"type": "exit"}}""");
        var rule = Siyu.Core.Segments.SegmentRules.ParseCondition(Json("""{"tag": "vip"}"""), "test", new JourneyCatalog(), []);
        var vip = Profile();
        vip.Tags["vip"] = new TagMark(Now, "test");
        var known = JourneyInterpreter.Step(NewRun(j), new Stimulus.Enter(), Input(j, Now, vip, segments: id => id == "big-spenders" ? rule : null));
        Assert.Equal("yes", known.Instance.Node);
        var unknown = JourneyInterpreter.Step(NewRun(j), new Stimulus.Enter(), Input(j, Now, vip, segments: _ => null));
        Assert.Equal("no", unknown.Instance.Node);
    }

    [Fact]
    public void A_condition_on_the_context_alone_needs_no_profile_and_both_must_hold_when_both_are_given()
    {
        var onlyContext = Nodes("""
            {"a": {"type": "condition", "context": [{"property": "event.price", "op": "gte", "value": 100}], "then": "yes", "else": "no"},
             "yes": {"type": "exit"}, "no": {"type": "exit"}}
            """);
        Assert.Equal("yes", Enter(onlyContext, NewRun(onlyContext, context: Json("""{"event": {"price": 150}}""")), Now, null, loaded: false).Instance.Node);
        Assert.Equal("no", Enter(onlyContext, NewRun(onlyContext, context: Json("""{"event": {"price": 50}}""")), Now, null, loaded: false).Instance.Node);
        Assert.Equal("no", Enter(onlyContext, NewRun(onlyContext), Now, null, loaded: false).Instance.Node);

        var both = Nodes("""
            {"a": {"type": "condition", "if": {"tag": "vip"}, "context": [{"property": "event.price", "op": "gte", "value": 100}], "then": "yes", "else": "no"},
             "yes": {"type": "exit"}, "no": {"type": "exit"}}
            """);
        var vip = Profile();
        vip.Tags["vip"] = new TagMark(Now, "test");
        var rich = Json("""{"event": {"price": 150}}""");
        var poor = Json("""{"event": {"price": 50}}""");
        Assert.Equal("yes", Enter(both, NewRun(both, context: rich), Now, vip).Instance.Node);
        Assert.Equal("no", Enter(both, NewRun(both, context: poor), Now, vip).Instance.Node);
        Assert.Equal("no", Enter(both, NewRun(both, context: rich), Now, Profile()).Instance.Node);
    }

    [Fact]
    public void Sends_in_a_loop_through_a_delay_get_new_keys()
    {
        var j = Nodes("""{"a": {"type": "send", "channel": "sms", "template": "nudge", "next": "d"}, "d": {"type": "delay", "for": "1d", "next": "a"}}""");
        var first = Enter(j, NewRun(j), Now);
        var second = Fire(j, first.Instance);
        var third = Fire(j, second.Instance);
        Assert.Equal([KeyAt(1), KeyAt(3), KeyAt(5)], new[] { first, second, third }.Select(r => r.Sends.Single().Key).ToList());
        Assert.Equal(Now.AddDays(3), third.TimerAt);
        Assert.Equal(3, third.Instance.Generation);

        // Another run of the same slot does not repeat the first run's keys.
        var again = Enter(j, NewRun(j, run: 2), Now.AddDays(30));
        Assert.Equal(KeyAt(1, run: 2), again.Sends.Single().Key);
    }

    [Fact]
    public void Outside_effects_wait_for_their_key_to_be_reported_done()
    {
        var j = Nodes("""
            {"a": {"type": "tag", "tag": "cart-abandoner", "next": "b"},
             "b": {"type": "setAttribute", "attribute": "last_cart", "value": "{{context.cartId}}", "next": "c"},
             "c": {"type": "webhook", "url": "https://crm.example.com/hook", "body": {"cart": "{{context.cartId}}", "items": "{{context.items}}"}, "next": "done"},
             "done": {"type": "exit"}}
            """);
        var context = Json("""{"cartId": "c-42", "items": 3}""");
        var entered = Enter(j, NewRun(j, context: context), Now, profile: null, loaded: false);

        Assert.Equal(StepOutcome.Moved, entered.Outcome);
        Assert.Equal(new TagEffect(KeyAt(1), "a", "cart-abandoner", true), entered.Effect);
        Assert.Equal(new PendingEffect("a", KeyAt(1)), entered.Instance.Pending);
        Assert.Equal("a", entered.Instance.Node);
        Assert.Null(entered.TimerAt);
        Assert.Empty(entered.Sends);
        Assert.Empty(entered.Delta.Node("a").Left);

        var wrong = JourneyInterpreter.Step(entered.Instance, new Stimulus.EffectDone(KeyAt(2), null), Input(j, Now));
        Assert.Equal((StepOutcome.Ignored, "no such effect pending"), (wrong.Outcome, wrong.Why));
        Assert.Equal(new PendingEffect("a", KeyAt(1)), wrong.Instance.Pending);

        var tagged = JourneyInterpreter.Step(entered.Instance, new Stimulus.EffectDone(KeyAt(1), "tagged"), Input(j, Now.AddSeconds(1)));
        Assert.Equal(StepOutcome.Moved, tagged.Outcome);
        Assert.Equal(new PathStep("a", Now, "next", "tagged"), tagged.Instance.Path[0]);
        Assert.Equal(1, tagged.Delta.Node("a").Left["next"]);
        var set = Assert.IsType<SetAttributeEffect>(tagged.Effect);
        Assert.Equal((KeyAt(2), "b", "last_cart", "c-42"), (set.Key, set.Node, set.Attribute, set.Value!.GetValue<string>()));
        Assert.Equal(new PendingEffect("b", KeyAt(2)), tagged.Instance.Pending);

        // The same effect, the same key, rebuilt from the stored instance alone (as after a restart).
        var rebuilt = Assert.IsType<SetAttributeEffect>(JourneyInterpreter.PendingEffect(tagged.Instance, Input(j, Now.AddMinutes(5))));
        Assert.Equal((set.Key, set.Node, set.Attribute, set.Value.ToJsonString()), (rebuilt.Key, rebuilt.Node, rebuilt.Attribute, rebuilt.Value!.ToJsonString()));
        Assert.False(JourneyInterpreter.PendingNeedsProfile(tagged.Instance, j));

        var set2 = JourneyInterpreter.Step(tagged.Instance, new Stimulus.EffectDone(KeyAt(2), null), Input(j, Now.AddSeconds(2)));
        var hook = Assert.IsType<WebhookEffect>(set2.Effect);
        Assert.Equal((KeyAt(3), "c", new Uri("https://crm.example.com/hook")), (hook.Key, hook.Node, hook.Url));
        Assert.Equal($$$"""{"journey":"{{{JourneyId}}}","version":1,"node":"c","profileId":"{{{ProfileId}}}","run":1,"data":{"cart":"c-42","items":3}}""", hook.Body.ToJsonString());
        var rebuiltHook = Assert.IsType<WebhookEffect>(JourneyInterpreter.PendingEffect(set2.Instance, Input(j, Now.AddMinutes(5))));
        Assert.Equal((hook.Key, hook.Url, hook.Body.ToJsonString()), (rebuiltHook.Key, rebuiltHook.Url, rebuiltHook.Body.ToJsonString()));

        var done = JourneyInterpreter.Step(set2.Instance, new Stimulus.EffectDone(KeyAt(3), null), Input(j, Now.AddSeconds(3)));
        Assert.Equal((InstanceStatus.Completed, (PendingEffect?)null), (done.Instance.Status, done.Instance.Pending));
        Assert.Null(done.Effect);
        Assert.Null(JourneyInterpreter.PendingEffect(done.Instance, Input(j, Now)));
        Assert.Equal(StepOutcome.Ignored, JourneyInterpreter.Step(done.Instance, new Stimulus.EffectDone(KeyAt(3), null), Input(j, Now)).Outcome);
    }

    [Fact]
    public void Rebuilding_a_pending_effect_that_renders_attributes_needs_the_profile()
    {
        var j = Nodes("""
            {"a": {"type": "setAttribute", "attribute": "greeting", "value": "Hi {{attributes.nickname}}", "next": "b"},
             "b": {"type": "untag", "tag": "vip", "next": "done"}, "done": {"type": "exit"}}
            """);
        var run = NewRun(j);
        Assert.Equal(StepOutcome.NeedsProfile, Enter(j, run, Now, profile: null, loaded: false).Outcome);
        var entered = Enter(j, run, Now, Person);
        Assert.Equal("Hi 小王", Assert.IsType<SetAttributeEffect>(entered.Effect).Value!.GetValue<string>());
        Assert.True(JourneyInterpreter.PendingNeedsProfile(entered.Instance, j));
        Assert.Equal("Hi 小王", Assert.IsType<SetAttributeEffect>(JourneyInterpreter.PendingEffect(entered.Instance, Input(j, Now, Person))).Value!.GetValue<string>());

        var untag = JourneyInterpreter.Step(entered.Instance, new Stimulus.EffectDone(KeyAt(1), null), Input(j, Now, Person));
        Assert.Equal(new TagEffect(KeyAt(2), "b", "vip", false), untag.Effect);
        Assert.False(JourneyInterpreter.PendingNeedsProfile(untag.Instance, j));
    }

    [Fact]
    public void Leaving_while_an_effect_is_pending_clears_it()
    {
        var j = Nodes("""{"a": {"type": "tag", "tag": "vip", "next": "done"}, "done": {"type": "exit"}}""");
        var pending = Enter(j, NewRun(j), Now).Instance;
        var r = JourneyInterpreter.Step(pending, new Stimulus.Leave(JourneyInterpreter.ReasonArchived), Input(j, Now.AddMinutes(1)));
        Assert.Equal((InstanceStatus.Exited, JourneyInterpreter.ReasonArchived, (PendingEffect?)null), (r.Instance.Status, r.Instance.EndReason, r.Instance.Pending));
        Assert.Equal(1, r.Delta.Node("a").Left[JourneyInterpreter.ReasonArchived]);
        Assert.Equal(StepOutcome.Ignored, JourneyInterpreter.Step(r.Instance, new Stimulus.EffectDone(KeyAt(1), null), Input(j, Now)).Outcome);
    }

    [Fact]
    public void The_path_keeps_the_last_hundred_steps()
    {
        var sends = string.Join(", ", Enumerable.Range(0, 120).Select(n =>
            $$"""{{(n == 0 ? "\"a\"" : $"\"s{n}\"")}}: {"type": "send", "channel": "sms", "template": "t", "next": "{{(n == 119 ? "done" : $"s{n + 1}")}}"}"""));
        var j = Nodes("{" + sends + """, "done": {"type": "exit"}}""");
        var r = Enter(j, NewRun(j), Now);

        Assert.Equal(InstanceStatus.Completed, r.Instance.Status);
        Assert.Equal(121, r.Instance.Steps);
        Assert.Equal(JourneyInstance.MaxPath, r.Instance.Path.Count);
        Assert.Equal("s21", r.Instance.Path[0].Node);
        Assert.Equal(new PathStep("done", Now, "end"), r.Instance.Path[^1]);
        Assert.Equal(120, r.Sends.Select(s => s.Key).Distinct().Count());
        Assert.Equal(1, r.Delta.Node("a").Left["next"]);
    }

    [Fact]
    public void A_run_that_cannot_pause_is_stopped_by_the_safety_net()
    {
        // Publishing refuses such a cycle; a definition built by hand shows the interpreter stops anyway.
        var filter = Siyu.Core.Conditions.PropertyFilter.Parse(JsonNode.Parse("""[{"property": "x", "op": "notExists"}]"""), "context", [])!;
        var spin = new JourneyDefinition("Spin", new JourneyEntry(EntryKind.Api, null, null, ReentryPolicy.Once, null), [], null, "a",
            new Dictionary<string, JourneyNode> { ["a"] = new ConditionNode("a", null, filter, "a", "a") });
        var r = Enter(spin, NewRun(spin), Now);
        Assert.Equal((InstanceStatus.Exited, "too many steps without a pause"), (r.Instance.Status, r.Instance.EndReason));
        Assert.Equal(JourneyInterpreter.MaxNodesPerStep, r.Delta.Node("a").Entered);
        Assert.Equal(JourneyInstance.MaxPath, r.Instance.Path.Count);
        Assert.Equal(1, r.Delta.Exited);
    }

    [Fact]
    public void Stats_deltas_add_up()
    {
        var waiting = Enter(Cart, NewRun(Cart, context: CartContext), Now);
        var timedOut = Fire(Cart, waiting.Instance, Person);
        var left = JourneyInterpreter.Step(timedOut.Instance, new Stimulus.Leave(JourneyInterpreter.ReasonExitEvent), Input(Cart, Now.AddHours(3)));

        var total = new JourneyStats();
        Assert.True(total.IsEmpty);
        foreach (var r in new[] { waiting, timedOut, left }) total.Add(r.Delta);

        Assert.Equal((1L, 0L, 1L, 0L), (total.Entered, total.Completed, total.Exited, total.Converted));
        Assert.Equal((1L, 1L), (total.Node("wait_pay").Entered, total.Node("wait_pay").LeftTotal));
        Assert.Equal((1L, 1L), (total.Node("remind").Entered, total.Node("remind").Left["next"]));
        Assert.Equal((1L, 1L), (total.Node("wait_pay_2").Entered, total.Node("wait_pay_2").Left[JourneyInterpreter.ReasonExitEvent]));
        Assert.False(total.IsEmpty);

        var again = new JourneyStats();
        again.Add(waiting.Delta);
        total.Add(again);
        Assert.Equal((2L, 2L), (total.Entered, total.Node("wait_pay").Entered));
    }
}
