using Siyu.Core.Profiles;
using Siyu.Core.Traits;
using static Siyu.Core.Tests.Traits.TraitKit;

namespace Siyu.Core.Tests.Traits;

/// <summary>RFM scores and segments at default settings unless a test says otherwise.</summary>
public class RfmTests
{
    private static RfmScore Score(ProfileState profile, TraitSettings? settings = null) =>
        TraitRules.Compute(profile, settings ?? TraitSettings.Default, Now).Rfm
        ?? throw new Xunit.Sdk.XunitException("expected an RFM score");

    // High: R=5 (10 days), F=5 (10 orders), M=5 (5000 CNY). Low: R=1 (400 days), F=1 (1 order), M=1 (100 CNY).
    [Theory]
    [InlineData(true, true, true, RfmSegments.ImportantValue)]
    [InlineData(true, false, true, RfmSegments.ImportantDevelop)]
    [InlineData(false, true, true, RfmSegments.ImportantMaintain)]
    [InlineData(false, false, true, RfmSegments.ImportantRetain)]
    [InlineData(true, true, false, RfmSegments.GeneralValue)]
    [InlineData(true, false, false, RfmSegments.GeneralDevelop)]
    [InlineData(false, true, false, RfmSegments.GeneralMaintain)]
    [InlineData(false, false, false, RfmSegments.GeneralRetain)]
    public void Eight_segments_from_high_and_low(bool r, bool f, bool m, string expected)
    {
        var score = Score(Buyer(f ? 10 : 1, r ? Ago(10) : Ago(400), m ? 5000m : 100m));
        Assert.Equal(new RfmScore(r ? 5 : 1, f ? 5 : 1, m ? 5 : 1, expected), score);
    }

    [Fact]
    public void A_score_equal_to_the_high_score_is_high()
    {
        // R=3 (180 days), F=3 (3 orders), M=3 (500): all exactly at the default high score.
        Assert.Equal(new RfmScore(3, 3, 3, RfmSegments.ImportantValue), Score(Buyer(3, Ago(180), 500m)));
        // One below on each: R=2, F=2, M=2.
        Assert.Equal(new RfmScore(2, 2, 2, RfmSegments.GeneralRetain), Score(Buyer(2, Ago(181), 499.99m)));
    }

    [Theory]
    [InlineData(0, 0, 5)]
    [InlineData(30, 0, 5)]
    [InlineData(30, 86399, 5)]
    [InlineData(31, 0, 4)]
    [InlineData(90, 0, 4)]
    [InlineData(90, 86399, 4)]
    [InlineData(91, 0, 3)]
    [InlineData(180, 0, 3)]
    [InlineData(181, 0, 2)]
    [InlineData(365, 0, 2)]
    [InlineData(365, 86399, 2)]
    [InlineData(366, 0, 1)]
    [InlineData(3000, 0, 1)]
    public void Recency_boundaries(int days, int seconds, int expected) =>
        Assert.Equal(expected, Score(Buyer(1, Ago(days, seconds), 0m)).R);

    [Fact]
    public void An_order_in_the_future_is_as_recent_as_can_be() =>
        Assert.Equal(5, Score(Buyer(1, Now.AddDays(2), 0m)).R);

    [Theory]
    [InlineData(1, 1)]
    [InlineData(2, 2)]
    [InlineData(3, 3)]
    [InlineData(4, 3)]
    [InlineData(5, 4)]
    [InlineData(9, 4)]
    [InlineData(10, 5)]
    [InlineData(10_000, 5)]
    public void Frequency_boundaries(long orders, int expected) =>
        Assert.Equal(expected, Score(Buyer(orders, Ago(1), 0m)).F);

    public static TheoryData<decimal, int> MonetaryCases() => new()
    {
        { 0m, 1 },
        { 199.99m, 1 },
        { 200m, 2 },
        { 499.99m, 2 },
        { 500m, 3 },
        { 999.99m, 3 },
        { 1000m, 4 },
        { 2999.99m, 4 },
        { 3000m, 5 },
        { 1_000_000m, 5 },
    };

    [Theory]
    [MemberData(nameof(MonetaryCases))]
    public void Monetary_boundaries(decimal cny, int expected) =>
        Assert.Equal(expected, Score(Buyer(1, Ago(1), cny)).M);

    [Fact]
    public void Other_currencies_do_not_count_towards_monetary()
    {
        var profile = Buyer(3, Ago(1), 100m);
        profile.Orders.Total["USD"] = 10_000m;
        profile.Orders.Total["HKD"] = 50_000m;
        Assert.Equal(1, Score(profile).M);

        var noCny = Buyer(3, Ago(1), 0m);
        noCny.Orders.Total.Clear();
        noCny.Orders.Total["USD"] = 10_000m;
        Assert.Equal(1, Score(noCny).M);
    }

    [Fact]
    public void Monetary_is_scored_in_the_tenants_currency()
    {
        var profile = Buyer(3, Ago(1), 100m);
        profile.Orders.Total["USD"] = 600m;
        var usd = TraitSettings.Default with { Currency = "USD", MonetaryTotals = [50m, 100m, 500m, 1000m] };
        Assert.Equal(4, Score(profile, usd).M);
        Assert.Equal(1, Score(profile).M);
    }

    [Fact]
    public void No_orders_means_no_rfm()
    {
        Assert.Null(TraitRules.Compute(Seen(Ago(20), Ago(1)), TraitSettings.Default, Now).Rfm);

        var countOnly = Seen(Ago(20), Ago(1));
        countOnly.Orders.Count = 2; // a last-order time is needed for recency
        Assert.Null(TraitRules.Compute(countOnly, TraitSettings.Default, Now).Rfm);

        var timeOnly = Seen(Ago(20), Ago(1));
        timeOnly.Orders.Last = Ago(1);
        Assert.Null(TraitRules.Compute(timeOnly, TraitSettings.Default, Now).Rfm);
    }

    [Fact]
    public void Custom_boundaries_change_the_scores()
    {
        var settings = TraitSettings.Default with
        {
            RecencyDays = [7, 14, 21, 28],
            FrequencyOrders = [3, 6, 9, 12],
            MonetaryTotals = [1000m, 2000m, 5000m, 10_000m],
        };
        var buyer = Buyer(6, Ago(25), 2500m);
        Assert.Equal(new RfmScore(5, 4, 4, RfmSegments.ImportantValue), Score(buyer));
        Assert.Equal(new RfmScore(2, 3, 3, RfmSegments.ImportantMaintain), Score(buyer, settings));
    }

    [Fact]
    public void A_higher_high_score_changes_the_segment()
    {
        var buyer = Buyer(5, Ago(60), 1500m); // R=4, F=4, M=4
        Assert.Equal(RfmSegments.ImportantValue, Score(buyer).Segment);
        Assert.Equal(RfmSegments.GeneralRetain, Score(buyer, TraitSettings.Default with { HighScore = 5 }).Segment);
        Assert.Equal(new RfmScore(4, 4, 4, RfmSegments.GeneralRetain), Score(buyer, TraitSettings.Default with { HighScore = 5 }));
    }

    [Fact]
    public void Lifecycle_and_rfm_are_computed_together()
    {
        var traits = TraitRules.Compute(Buyer(10, Ago(45), 3000m), TraitSettings.Default, Now);
        Assert.Equal(new ProfileTraits(LifecycleStages.ChurnRisk, new RfmScore(4, 5, 5, RfmSegments.ImportantValue)), traits);
    }

    [Fact]
    public void Every_segment_has_a_chinese_name()
    {
        Assert.Equal(8, RfmSegments.All.Count);
        Assert.Equal(8, RfmSegments.All.Distinct().Count());
        Assert.Equal(
            ["重要价值", "重要发展", "重要保持", "重要挽留", "一般价值", "一般发展", "一般保持", "一般挽留"],
            RfmSegments.All.Select(s => RfmSegments.ChineseName(s)));
        Assert.Null(RfmSegments.ChineseName("vip"));
    }

    [Fact]
    public void Invalid_settings_are_refused()
    {
        var ex = Assert.Throws<ArgumentException>(() =>
            TraitRules.Compute(Buyer(1, Ago(1), 1m), TraitSettings.Default with { RecencyDays = [30, 90, 180] }, Now));
        Assert.Contains("recencyDays", ex.Message);
    }
}
