using Siyu.Core.Traits;
using static Siyu.Core.Tests.Traits.TraitKit;

namespace Siyu.Core.Tests.Traits;

/// <summary>
/// Lifecycle stages at default settings (new ≤14 days since first seen, active ≤30 since last seen, dormant >90).
/// Days are whole days elapsed, so N days plus 23:59:59 is still N days.
/// </summary>
public class LifecycleTests
{
    private static string Stage(Siyu.Core.Profiles.ProfileState profile, TraitSettings? settings = null) =>
        TraitRules.Compute(profile, settings ?? TraitSettings.Default, Now).Lifecycle;

    [Theory]
    [InlineData(0, 0, LifecycleStages.New)]
    [InlineData(13, 86399, LifecycleStages.New)]    // one second before 14 days
    [InlineData(14, 0, LifecycleStages.New)]        // exactly 14 days
    [InlineData(14, 1, LifecycleStages.New)]        // one second after: still 14 whole days
    [InlineData(14, 86399, LifecycleStages.New)]    // last second of the 14th day
    [InlineData(15, 0, LifecycleStages.Active)]     // one day after
    public void New_counts_whole_days_since_first_seen(int days, int seconds, string expected) =>
        Assert.Equal(expected, Stage(Seen(Ago(days, seconds), Now)));

    [Theory]
    [InlineData(29, 86399, LifecycleStages.Active)]
    [InlineData(30, 0, LifecycleStages.Active)]
    [InlineData(30, 1, LifecycleStages.Active)]
    [InlineData(30, 86399, LifecycleStages.Active)]
    [InlineData(31, 0, LifecycleStages.ChurnRisk)]
    [InlineData(31, 1, LifecycleStages.ChurnRisk)]
    public void Active_until_30_whole_days_since_last_seen(int days, int seconds, string expected) =>
        Assert.Equal(expected, Stage(Seen(Ago(400), Ago(days, seconds))));

    [Theory]
    [InlineData(89, 86399, LifecycleStages.ChurnRisk)]
    [InlineData(90, 0, LifecycleStages.ChurnRisk)]
    [InlineData(90, 1, LifecycleStages.ChurnRisk)]
    [InlineData(90, 86399, LifecycleStages.ChurnRisk)]
    [InlineData(91, 0, LifecycleStages.Dormant)]
    [InlineData(91, 1, LifecycleStages.Dormant)]
    [InlineData(365, 0, LifecycleStages.Dormant)]
    public void Dormant_after_90_whole_days_since_last_seen(int days, int seconds, string expected) =>
        Assert.Equal(expected, Stage(Seen(Ago(400), Ago(days, seconds))));

    [Fact]
    public void New_wins_over_every_other_stage()
    {
        var settings = TraitSettings.Default with { NewWithinDays = 200 };
        Assert.Equal(LifecycleStages.New, Stage(Seen(Ago(150), Ago(120)), settings));
    }

    [Fact]
    public void Timestamps_in_the_future_count_as_zero_days()
    {
        Assert.Equal(LifecycleStages.New, Stage(Seen(Now.AddDays(3), Now.AddDays(5))));
        Assert.Equal(LifecycleStages.Active, Stage(Seen(Ago(400), Now.AddDays(400))));
    }

    [Theory]
    [InlineData(0, 0, LifecycleStages.New)]
    [InlineData(14, 0, LifecycleStages.New)]
    [InlineData(14, 86399, LifecycleStages.New)]
    [InlineData(15, 0, LifecycleStages.Dormant)]
    [InlineData(15, 1, LifecycleStages.Dormant)]
    [InlineData(1000, 0, LifecycleStages.Dormant)]
    public void Never_seen_is_new_while_recently_created_then_dormant(int days, int seconds, string expected) =>
        Assert.Equal(expected, Stage(Seen(null, null, createdAt: Ago(days, seconds))));

    [Fact]
    public void Never_seen_and_created_in_the_future_is_new() =>
        Assert.Equal(LifecycleStages.New, Stage(Seen(null, null, createdAt: Now.AddHours(1))));

    [Fact]
    public void One_seen_time_alone_still_counts_as_seen()
    {
        Assert.Equal(LifecycleStages.ChurnRisk, Stage(Seen(null, Ago(60))));
        Assert.Equal(LifecycleStages.Dormant, Stage(Seen(Ago(100), null)));
    }

    [Fact]
    public void Custom_thresholds_move_the_boundaries()
    {
        var settings = TraitSettings.Default with { NewWithinDays = 3, ActiveWithinDays = 7, DormantAfterDays = 30 };
        Assert.Equal(LifecycleStages.New, Stage(Seen(Ago(3), Now), settings));
        Assert.Equal(LifecycleStages.Active, Stage(Seen(Ago(4), Now), settings));
        Assert.Equal(LifecycleStages.Active, Stage(Seen(Ago(400), Ago(7)), settings));
        Assert.Equal(LifecycleStages.ChurnRisk, Stage(Seen(Ago(400), Ago(8)), settings));
        Assert.Equal(LifecycleStages.ChurnRisk, Stage(Seen(Ago(400), Ago(30)), settings));
        Assert.Equal(LifecycleStages.Dormant, Stage(Seen(Ago(400), Ago(31)), settings));
        // The same people at default settings.
        Assert.Equal(LifecycleStages.New, Stage(Seen(Ago(4), Now)));
        Assert.Equal(LifecycleStages.Active, Stage(Seen(Ago(400), Ago(8))));
        Assert.Equal(LifecycleStages.ChurnRisk, Stage(Seen(Ago(400), Ago(31))));
    }

    [Fact]
    public void Never_seen_follows_a_custom_new_window()
    {
        var settings = TraitSettings.Default with { NewWithinDays = 60 };
        Assert.Equal(LifecycleStages.New, Stage(Seen(null, null, createdAt: Ago(60)), settings));
        Assert.Equal(LifecycleStages.Dormant, Stage(Seen(null, null, createdAt: Ago(61)), settings));
    }

    [Fact]
    public void Stage_names_are_stable()
    {
        Assert.Equal(["new", "active", "churn_risk", "dormant"], LifecycleStages.All);
    }
}
