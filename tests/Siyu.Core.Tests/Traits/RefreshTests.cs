using Siyu.Core.Traits;
using static Siyu.Core.Tests.Traits.TraitKit;

namespace Siyu.Core.Tests.Traits;

public class RefreshTests
{
    [Fact]
    public void First_refresh_sets_the_traits()
    {
        var profile = Buyer(3, Ago(10), 600m);
        Assert.True(TraitRules.Refresh(profile, TraitSettings.Default, Now));
        Assert.Equal(new ProfileTraits(LifecycleStages.Active, new RfmScore(5, 3, 3, RfmSegments.ImportantValue)), profile.Traits);
    }

    [Fact]
    public void Nothing_changed_returns_false()
    {
        var profile = Buyer(3, Ago(10), 600m);
        TraitRules.Refresh(profile, TraitSettings.Default, Now);
        var before = profile.Traits;

        Assert.False(TraitRules.Refresh(profile, TraitSettings.Default, Now));
        Assert.False(TraitRules.Refresh(profile, TraitSettings.Default, Now.AddDays(5)));
        Assert.Same(before, profile.Traits);
    }

    [Fact]
    public void Equal_traits_from_elsewhere_are_not_a_change()
    {
        var profile = Seen(Ago(400), Ago(10));
        profile.Traits = new ProfileTraits("active", null); // as read back from storage: a different instance
        Assert.False(TraitRules.Refresh(profile, TraitSettings.Default, Now));
    }

    [Fact]
    public void Time_passing_moves_an_active_person_to_churn_risk()
    {
        var profile = Seen(Ago(400), Ago(30));
        Assert.True(TraitRules.Refresh(profile, TraitSettings.Default, Now));
        Assert.Equal(LifecycleStages.Active, profile.Traits!.Lifecycle);

        Assert.False(TraitRules.Refresh(profile, TraitSettings.Default, Now.AddHours(23)));
        Assert.True(TraitRules.Refresh(profile, TraitSettings.Default, Now.AddDays(1)));
        Assert.Equal(new ProfileTraits(LifecycleStages.ChurnRisk, null), profile.Traits);
    }

    [Fact]
    public void Time_passing_lowers_recency()
    {
        var profile = Buyer(3, Ago(30), 600m);
        TraitRules.Refresh(profile, TraitSettings.Default, Now);
        Assert.Equal(5, profile.Traits!.Rfm!.R);

        Assert.True(TraitRules.Refresh(profile, TraitSettings.Default, Now.AddDays(1)));
        Assert.Equal(4, profile.Traits!.Rfm!.R);
    }

    [Fact]
    public void New_settings_are_a_change()
    {
        var profile = Seen(Ago(400), Ago(40));
        TraitRules.Refresh(profile, TraitSettings.Default, Now);
        Assert.Equal(LifecycleStages.ChurnRisk, profile.Traits!.Lifecycle);

        Assert.True(TraitRules.Refresh(profile, TraitSettings.Default with { ActiveWithinDays = 60 }, Now));
        Assert.Equal(LifecycleStages.Active, profile.Traits!.Lifecycle);
    }
}
