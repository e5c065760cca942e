using Siyu.Core.Consent;
using Siyu.Core.Delivery;
using static Siyu.Core.Tests.Consent.ConsentKit;

namespace Siyu.Core.Tests.Delivery;

/// <summary>Caps per calendar month (the person's): counted with every capped send, refused at the cap until the month turns.</summary>
public class MonthlyCapTests
{
    private static readonly TimeZoneInfo Shanghai = TimeZoneInfo.FindSystemTimeZoneById("Asia/Shanghai");
    private static readonly ContactRequest WeCom = new("marketing", "wecom");

    private static ConsentState Granted(DateTimeOffset at) => State(Decision("m1", "marketing", "wecom", ConsentStatus.Granted, at.AddDays(-40)));

    [Fact]
    public void Sends_are_counted_per_local_month_and_the_last_month_is_kept()
    {
        var counts = new SendCounts();
        // 2026-11-30 23:30 in Shanghai is still November there; 2026-11-30 16:30 UTC is 00:30 on December 1st.
        counts.Record("wecom", Shanghai, new DateTimeOffset(2026, 11, 30, 15, 30, 0, TimeSpan.Zero));
        counts.Record("wecom", Shanghai, new DateTimeOffset(2026, 11, 30, 16, 30, 0, TimeSpan.Zero));
        counts.Record("wecom", Shanghai, new DateTimeOffset(2026, 12, 2, 1, 0, 0, TimeSpan.Zero));

        Assert.Equal(2, counts.History("wecom", Shanghai, new DateTimeOffset(2026, 12, 3, 0, 0, 0, TimeSpan.Zero)).SentThisMonth);
        Assert.Equal(1, counts.Months["wecom"]["2026-11"]);
        counts.Record("wecom", Shanghai, new DateTimeOffset(2027, 1, 5, 0, 0, 0, TimeSpan.Zero));
        Assert.Equal(["2026-12", "2027-01"], counts.Months["wecom"].Keys);
        Assert.Equal(0, counts.History("sms", Shanghai, DateTimeOffset.UtcNow).SentThisMonth);
    }

    [Fact]
    public void At_the_monthly_cap_a_send_is_refused_until_the_first_of_next_month_local_time()
    {
        var now = new DateTimeOffset(2026, 12, 20, 4, 0, 0, TimeSpan.Zero);
        var prefs = new Preferences { TimeZone = "Asia/Shanghai", Caps = new Dictionary<string, ChannelCap> { ["wecom"] = new(null, null, 4) } };

        var refused = ContactPolicy.CanContact(Granted(now), prefs, WeCom, now, new ContactHistory(0, 0, 4));
        var allowed = ContactPolicy.CanContact(Granted(now), prefs, WeCom, now, new ContactHistory(3, 3, 3));

        Assert.Equal(ContactVerdict.CapReached, refused.Verdict);
        Assert.Contains("4 of 4 messages this month on wecom", refused.Reason);
        Assert.Equal(new DateTimeOffset(2027, 1, 1, 0, 0, 0, TimeSpan.FromHours(8)), refused.NotBefore);
        Assert.True(allowed.Allowed);
    }

    [Fact]
    public void A_providers_monthly_limit_joins_the_brands_caps_and_the_lower_holds()
    {
        var brand = new TenantSending(false, new Dictionary<string, ChannelCap> { ["wecom"] = new(1, null, 10), ["sms"] = new(2, null) });

        var withLimit = DeliveryPolicy.WithMonthlyLimit(brand, "wecom", 31);
        var tighter = DeliveryPolicy.WithMonthlyLimit(TenantSending.Open, "wecom", 4);

        Assert.Equal(new ChannelCap(1, null, 10), withLimit.Caps["wecom"]);
        Assert.Equal(new ChannelCap(2, null), withLimit.Caps["sms"]);
        Assert.Equal(new ChannelCap(null, null, 4), tighter.Caps["wecom"]);
        Assert.True(DeliveryPolicy.IsCapped(tighter, null, "wecom"));
        Assert.Empty(TenantSending.Open.Caps);
        Assert.Equal(new ChannelCap(null, 3, 2),
            DeliveryPolicy.EffectiveCaps(new Dictionary<string, ChannelCap> { ["wecom"] = new(null, 3, 4) }, new Dictionary<string, ChannelCap> { ["wecom"] = new(null, null, 2) })["wecom"]);
    }

    [Theory]
    [InlineData(null, null, 5, true)]
    [InlineData(null, null, -1, false)]
    [InlineData(null, null, 31001, false)]
    [InlineData(null, null, null, false)]
    public void A_monthly_cap_is_a_cap_of_its_own(int? perDay, int? perWeek, int? perMonth, bool valid)
    {
        var prefs = new Preferences { Caps = new Dictionary<string, ChannelCap> { ["wecom"] = new(perDay, perWeek, perMonth) } };
        Assert.Equal(valid, prefs.Validate().Count == 0);
    }
}
