using System.Text.Json.Nodes;
using Siyu.Core.Analytics;
using Siyu.Core.Consent;
using Siyu.Core.Profiles;

namespace Siyu.Core.Tests.Analytics;

public sealed class ProportionsTests
{
    [Theory]
    // Newcombe (1998), "Two-sided confidence intervals for the single proportion", Table I: the score method.
    [InlineData(81, 263, 0.2553, 0.3662)]
    [InlineData(15, 148, 0.0624, 0.1605)]
    [InlineData(0, 20, 0.0, 0.1611)]
    [InlineData(1, 29, 0.0061, 0.1718)]
    public void Wilson_intervals_match_the_published_ones(long x, long n, double low, double high)
    {
        var p = Proportions.Of(x, n);
        Assert.Equal(low, p.Low!.Value, 3);
        Assert.Equal(high, p.High!.Value, 3);
    }

    [Fact]
    public void The_difference_to_control_matches_newcombes_method_10()
    {
        // Newcombe (1998), "Interval estimation for the difference between independent proportions", example (a): 56/70 − 48/80.
        var d = Proportions.Difference(56, 70, 48, 80)!;
        Assert.Equal(0.2, d.Difference, 4);
        Assert.Equal(0.0524, d.Low, 3);
        Assert.Equal(0.3339, d.High, 3);
        Assert.True(d.Significant);
        Assert.False(Proportions.Difference(5, 10, 5, 10)!.Significant);
        Assert.Null(Proportions.Difference(1, 0, 1, 10));
    }

    [Fact]
    public void No_trials_give_no_rate_and_intervals_stay_within_zero_and_one()
    {
        Assert.Null(Proportions.Of(0, 0).Rate);
        var all = Proportions.Of(10, 10);
        Assert.Equal(1.0, all.Rate);
        Assert.Equal(1.0, all.High);
        Assert.InRange(all.Low!.Value, 0.69, 0.73);
    }
}

public sealed class FunnelTests
{
    private static readonly DateTimeOffset T0 = new(2026, 12, 1, 2, 0, 0, TimeSpan.Zero);
    private static readonly AnalysisRequest Funnel = new(AnalysisKinds.Funnel, ["view", "add_to_cart", "order_paid"], 7);

    private static int Reached(params (string Name, double Hours)[] events) => Funnels.StepsReached(events.Select(e => (e.Name, T0.AddHours(e.Hours))), Funnel);

    [Fact]
    public void Steps_count_only_in_order_and_within_the_window_of_the_first()
    {
        Assert.Equal(3, Reached(("view", 0), ("add_to_cart", 1), ("order_paid", 2)));
        Assert.Equal(3, Reached(("order_paid", 2), ("view", 0), ("add_to_cart", 1))); // arrival order does not matter
        Assert.Equal(2, Reached(("order_paid", 0), ("view", 1), ("add_to_cart", 2)));
        Assert.Equal(1, Reached(("view", 0), ("add_to_cart", 24 * 8)));
        Assert.Equal(0, Reached(("add_to_cart", 0), ("order_paid", 1)));
        Assert.Equal(0, Reached());
    }

    [Fact]
    public void A_later_first_step_may_reach_further_than_an_earlier_one()
    {
        // Viewed, nothing for ten days, viewed again and bought: the second visit converts.
        Assert.Equal(3, Reached(("view", 0), ("view", 240), ("add_to_cart", 241), ("order_paid", 242)));
    }

    [Fact]
    public void The_first_step_counts_only_in_the_range_asked()
    {
        var ranged = Funnel with { From = new DateOnly(2026, 12, 2) };
        Assert.Equal(0, Funnels.StepsReached([("view", T0), ("add_to_cart", T0.AddHours(1))], ranged));
        Assert.Equal(2, Funnels.StepsReached([("view", T0.AddDays(1)), ("add_to_cart", T0.AddDays(1.1))], ranged));
    }

    [Fact]
    public void Results_give_each_steps_conversion_from_the_one_before_and_from_the_first()
    {
        var total = new AnalysisPartial { People = 20, Reached = [10, 5, 2] };
        var steps = Funnels.Result(Funnel, total);
        Assert.Equal([10L, 5L, 2L], steps.Select(s => s.People).ToArray());
        Assert.Equal(0.5, steps[0].FromPrevious.Rate);
        Assert.Equal(0.4, steps[2].FromPrevious.Rate);
        Assert.Equal(0.2, steps[2].FromFirst.Rate);
    }

    [Fact]
    public void Partials_add_in_any_order()
    {
        var a = new AnalysisPartial { People = 3, Reached = [3, 2, 1], Rfm = new() { ["x"] = 1 } };
        var b = new AnalysisPartial { People = 2, Reached = [2, 0, 0], Rfm = new() { ["x"] = 2, ["y"] = 1 } };
        var ab = new AnalysisPartial(); ab.Add(a); ab.Add(b);
        var ba = new AnalysisPartial(); ba.Add(b); ba.Add(a);
        Assert.Equal(ab.Reached, ba.Reached);
        Assert.Equal([5L, 2L, 1L], ab.Reached!);
        Assert.Equal(3, ab.Rfm!["x"]);
        Assert.Equal(ab.Rfm, ba.Rfm);
    }
}

public sealed class CohortAndAudienceTests
{
    private static readonly DateTimeOffset Now = new(2026, 12, 4, 12, 0, 0, TimeSpan.Zero); // a Friday, week 49

    [Fact]
    public void A_person_counts_in_the_week_first_seen_and_in_each_later_week_active()
    {
        var partial = new AnalysisPartial();
        var first = Now.AddDays(-14);
        Cohorts.Count(partial, first, [first, first.AddDays(7), first.AddDays(8)], 4, Now);
        Cohorts.Count(partial, first.AddHours(1), [first.AddHours(1)], 4, Now);
        Cohorts.Count(partial, Now.AddDays(-70), [Now], 4, Now); // first seen before the weeks asked: not counted
        var rows = Cohorts.Result(partial, 4, Now);
        var row = Assert.Single(rows);
        Assert.Equal(TimeSlots.Week(first), row.Week);
        Assert.Equal(2, row.People);
        // Week 0 both, week +1 one, week +2 (this week) none; week +3 has not come yet and is not shown.
        Assert.Equal([2L, 1L, 0L], row.Active.ToArray());
        Assert.Equal(0.5, row.Share[1]);
    }

    [Fact]
    public void Weeks_and_days_are_china_time()
    {
        // Sunday 2026-11-29 17:00 UTC is Monday 01:00 in Shanghai: week 49, day 2026-11-30.
        var at = new DateTimeOffset(2026, 11, 29, 17, 0, 0, TimeSpan.Zero);
        Assert.Equal("2026-W49", TimeSlots.Week(at));
        Assert.Equal("2026-11-30", TimeSlots.Day(at));
        Assert.Equal("2026-11-30T01:00", TimeSlots.Minute(at));
        Assert.Equal(0, TimeSlots.WeeksBetween(at, at.AddDays(6)));
        Assert.Equal(1, TimeSlots.WeeksBetween(at, at.AddDays(7)));
    }

    [Fact]
    public void The_audience_counts_live_people_their_channel_consents_traits_and_segments()
    {
        var p = ProfileState.New("p1", Now);
        p.Consent.Apply(new ConsentDecision { Id = "d1", Purpose = "marketing", Channel = "sms", Status = ConsentStatus.Granted, Source = "api", OccurredAt = Now });
        p.Consent.Apply(new ConsentDecision { Id = "d2", Purpose = "marketing", Channel = "email", Status = ConsentStatus.Withdrawn, Source = "api", OccurredAt = Now });
        p.Segments["vip"] = Now;
        var partial = new AnalysisPartial();
        AudienceCounts.Count(partial, p);
        Assert.Equal(1, partial.People);
        Assert.Equal(1, partial.ConsentGranted!["marketing/sms"]);
        Assert.Equal(1, partial.ConsentWithdrawn!["marketing/email"]);
        Assert.Equal(1, partial.Segments!["vip"]);
        Assert.Equal(1, partial.Lifecycle!["unknown"]);
        Assert.True(AudienceCounts.IsLive(p));
        p.MergedInto = "p2";
        Assert.False(AudienceCounts.IsLive(p));
    }
}

public sealed class AnalysisRequestTests
{
    private static (AnalysisRequest? Request, List<(string Field, string Message)> Errors) Parse(string json)
    {
        var errors = new List<(string, string)>();
        return (AnalysisRequest.Parse(JsonNode.Parse(json) as JsonObject, errors), errors);
    }

    [Fact]
    public void A_funnel_reads_its_steps_window_and_range()
    {
        var (r, errors) = Parse("""{"kind": "funnel", "steps": ["view", "order_paid"], "windowDays": 3, "from": "2026-11-01", "to": "2026-11-30"}""");
        Assert.Empty(errors);
        Assert.Equal(["view", "order_paid"], r!.Steps!.ToArray());
        Assert.Equal(3, r.WindowDays);
        Assert.Equal(new DateOnly(2026, 11, 1), r.From);
    }

    [Theory]
    [InlineData("""{"kind": "funnel", "steps": ["view"]}""", "steps")]
    [InlineData("""{"kind": "funnel", "steps": ["a", "b"], "windowDays": 91}""", "windowDays")]
    [InlineData("""{"kind": "funnel", "steps": ["a", null]}""", "steps[1]")]
    [InlineData("""{"kind": "funnel", "steps": ["a", "b"], "from": "2026-12-02", "to": "2026-12-01"}""", "to")]
    [InlineData("""{"kind": "funnel", "steps": ["a", "b"], "from": "yesterday"}""", "from")]
    [InlineData("""{"kind": "cohort", "weeks": 26}""", "weeks")]
    [InlineData("""{"kind": "cohort", "steps": ["a", "b"]}""", "steps")]
    [InlineData("""{"kind": "everything"}""", "kind")]
    [InlineData("""{"kind": 3}""", "kind")]
    [InlineData("""{"kind": "audience", "extra": 1}""", "extra")]
    public void Bad_requests_name_the_field(string json, string field)
    {
        var (_, errors) = Parse(json);
        Assert.Contains(errors, e => e.Field == field);
    }
}
