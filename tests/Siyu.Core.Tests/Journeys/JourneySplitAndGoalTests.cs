using Siyu.Core.Journeys;
using static Siyu.Core.Tests.Journeys.JourneyKit;

namespace Siyu.Core.Tests.Journeys;

/// <summary>Splits (sticky, weighted) and goal conversions (once, in the window, per branch).</summary>
public sealed class JourneySplitAndGoalTests
{
    private static readonly JourneyDefinition Cart = Parse(CartRecovery);
    private static readonly SplitNode Offer = (SplitNode)Cart.Node("offer");

    private static SplitNode Split(params (string Name, int Weight)[] branches) =>
        new("ab", branches.Select(b => new SplitBranch(b.Name, b.Weight, "done", false)).ToList());

    private static IEnumerable<string> People(int count) => Enumerable.Range(0, count).Select(n => $"p{n:D19}");

    /// <summary>The cart journey run to its end for a person, with <see cref="JourneyKit.Now"/> as entry.</summary>
    private static JourneyInstance RunToEnd(string profileId, int version = 1)
    {
        var person = Profile(profileId, attributes: ("nickname", "小王"));
        var run = Enter(Cart, NewRun(Cart, profileId, version: version, context: Json("""{"event": {"product": "奶粉"}}""")), Now).Instance;
        run = Fire(Cart, run, person).Instance;
        return Fire(Cart, run, person).Instance;
    }

    [Fact]
    public void A_person_always_takes_the_same_branch()
    {
        foreach (var id in People(200))
        {
            var first = JourneyInterpreter.Pick(Offer, JourneyId, id);
            Assert.Equal(first, JourneyInterpreter.Pick(Offer, JourneyId, id));
            // A new version of the journey with the same split keeps the person where they were.
            Assert.Equal(first, JourneyInterpreter.Pick(Offer with { Branches = [.. Offer.Branches] }, JourneyId, id));
        }
    }

    [Fact]
    public void The_branch_taken_in_a_run_is_the_same_across_runs_and_versions()
    {
        foreach (var id in People(20))
        {
            var v1 = RunToEnd(id, version: 1);
            var v2 = RunToEnd(id, version: 2);
            Assert.Equal(JourneyInterpreter.Pick(Offer, JourneyId, id).Name, v1.Splits!["offer"]);
            Assert.Equal(v1.Splits, v2.Splits);
            Assert.Equal(v1.EndReason, v2.EndReason);
        }
    }

    [Fact]
    public void Different_journeys_and_splits_draw_independently()
    {
        var people = People(200).ToList();
        var here = people.Select(id => JourneyInterpreter.Pick(Offer, JourneyId, id).Name).ToList();
        var otherJourney = people.Select(id => JourneyInterpreter.Pick(Offer, "welcome", id).Name).ToList();
        var otherSplit = people.Select(id => JourneyInterpreter.Pick(Offer with { Id = "offer2" }, JourneyId, id).Name).ToList();
        Assert.NotEqual(here, otherJourney);
        Assert.NotEqual(here, otherSplit);
    }

    [Theory]
    [InlineData(50, 50, 0)]
    [InlineData(20, 30, 50)]
    [InlineData(10, 0, 90)]
    public void Ten_thousand_people_spread_within_three_percent_of_the_weights(int a, int b, int c)
    {
        var split = Split(("a", a), ("b", b), ("c", c));
        var counts = People(10_000).GroupBy(id => JourneyInterpreter.Pick(split, JourneyId, id).Name).ToDictionary(g => g.Key, g => g.Count());
        foreach (var (name, weight) in new[] { ("a", a), ("b", b), ("c", c) })
        {
            var share = counts.GetValueOrDefault(name) / 100.0;
            Assert.InRange(share, weight - 3.0, weight + 3.0);
        }
        Assert.Equal(10_000, counts.Values.Sum());
        if (b == 0) Assert.False(counts.ContainsKey("b"));
    }

    [Fact]
    public void A_branch_of_all_the_weight_takes_everyone() =>
        Assert.All(People(500), id => Assert.Equal("only", JourneyInterpreter.Pick(Split(("never", 0), ("only", 100)), JourneyId, id).Name));

    [Fact]
    public void A_goal_event_in_the_window_converts_once()
    {
        var run = RunToEnd(ProfileTaking(Offer, "coupon"));
        Assert.Equal(InstanceStatus.Completed, run.Status);

        var paid = JourneyInterpreter.Convert(run, Event("order_paid", Now.AddDays(2)), Cart);
        Assert.Equal(StepOutcome.Moved, paid.Outcome);
        Assert.Equal(Now.AddDays(2), paid.Instance.ConvertedAt);
        Assert.Equal(1, paid.Delta.Converted);
        Assert.Equal(new Dictionary<string, long> { ["offer:coupon"] = 1 }, paid.Delta.ConvertedBy);
        Assert.Equal((0L, 0L, 0L), (paid.Delta.Entered, paid.Delta.Completed, paid.Delta.Exited));
        Assert.Equal(InstanceStatus.Completed, paid.Instance.Status);
        Assert.Null(run.ConvertedAt);

        var twice = JourneyInterpreter.Convert(paid.Instance, Event("order_paid", Now.AddDays(3)), Cart);
        Assert.Equal((StepOutcome.Ignored, "not a conversion"), (twice.Outcome, twice.Why));
        Assert.True(twice.Delta.IsEmpty);
    }

    [Fact]
    public void The_control_group_converts_under_its_own_branch()
    {
        var run = RunToEnd(ProfileTaking(Offer, "control"));
        Assert.Equal((InstanceStatus.Completed, JourneyInterpreter.ReasonControl), (run.Status, run.EndReason));
        var paid = JourneyInterpreter.Convert(run, Event("order_paid", Now.AddDays(6)), Cart);
        Assert.Equal(1, paid.Delta.Converted);
        Assert.Equal(new Dictionary<string, long> { ["offer:control"] = 1 }, paid.Delta.ConvertedBy);
    }

    [Fact]
    public void A_run_that_took_no_split_converts_without_a_branch()
    {
        var waiting = Enter(Cart, NewRun(Cart), Now).Instance;
        var paid = JourneyInterpreter.Convert(waiting, Event("order_paid", Now.AddMinutes(5)), Cart);
        Assert.Equal(1, paid.Delta.Converted);
        Assert.Empty(paid.Delta.ConvertedBy);
        // Converting does not move the run: the wait still takes the same event.
        Assert.Equal(("wait_pay", waiting.Generation), (paid.Instance.Node, paid.Instance.Generation));
    }

    [Fact]
    public void Only_the_goal_event_within_the_window_counts()
    {
        var run = Enter(Cart, NewRun(Cart), Now).Instance;
        Assert.Equal(StepOutcome.Ignored, JourneyInterpreter.Convert(run, Event("order_paid", Now.AddSeconds(-1)), Cart).Outcome);
        Assert.Equal(StepOutcome.Ignored, JourneyInterpreter.Convert(run, Event("order_paid", Now.AddDays(7).AddSeconds(1)), Cart).Outcome);
        Assert.Equal(StepOutcome.Ignored, JourneyInterpreter.Convert(run, Event("add_to_cart", Now.AddDays(1)), Cart).Outcome);
        Assert.Equal(StepOutcome.Moved, JourneyInterpreter.Convert(run, Event("order_paid", Now), Cart).Outcome);
        Assert.Equal(StepOutcome.Moved, JourneyInterpreter.Convert(run, Event("order_paid", Now.AddDays(7)), Cart).Outcome);
    }

    [Fact]
    public void A_goal_filter_must_match_and_a_journey_without_a_goal_converts_no_one()
    {
        var j = Parse("""
            {"name": "Big orders", "entry": {"on": "api"}, "goal": {"event": "order_paid", "where": [{"property": "total", "op": "gte", "value": 500}], "within": "1d"},
             "start": "done", "nodes": {"done": {"type": "exit"}}}
            """);
        var run = Enter(j, NewRun(j), Now).Instance;
        Assert.Equal(StepOutcome.Ignored, JourneyInterpreter.Convert(run, Event("order_paid", Now.AddHours(1), """{"total": 499}"""), j).Outcome);
        Assert.Equal(StepOutcome.Moved, JourneyInterpreter.Convert(run, Event("order_paid", Now.AddHours(1), """{"total": 500}"""), j).Outcome);

        var noGoal = Nodes("""{"a": {"type": "exit"}}""");
        var ended = Enter(noGoal, NewRun(noGoal), Now).Instance;
        Assert.Equal(StepOutcome.Ignored, JourneyInterpreter.Convert(ended, Event("order_paid", Now.AddHours(1)), noGoal).Outcome);
    }
}
