using Siyu.Core.Consent;
using Siyu.Core.Delivery;
using static Siyu.Core.Tests.Consent.ConsentKit;

namespace Siyu.Core.Tests.Delivery;

public class DeliveryPolicyTests
{
    // 2024-05-01 08:00 UTC is 16:00 in Shanghai, a Wednesday.
    private static readonly DateTimeOffset Now = T0;
    private static readonly TimeSpan Recheck = TimeSpan.FromSeconds(15);
    private static readonly ContactRequest Sms = new(ConsentVocabulary.Marketing, "sms");

    private static ConsentState Granted(string channel = "sms") => State(Decision("d1", ConsentVocabulary.Marketing, channel, ConsentStatus.Granted, T0.AddDays(-1)));

    private static TenantSending Caps(string channel, int? perDay, int? perWeek, bool halted = false) =>
        new(halted, new Dictionary<string, ChannelCap> { [channel] = new(perDay, perWeek) });

    [Fact]
    public void Halt_comes_before_everything_and_holds_the_message_for_a_recheck()
    {
        // Even a person without consent is "halted", not "no consent": the switch is checked first.
        var halted = new TenantSending(true, new Dictionary<string, ChannelCap>());
        var d = DeliveryPolicy.Decide(halted, new ConsentState(), null, Sms, null, Now, Recheck);
        Assert.Equal(ContactVerdict.Halted, d.Verdict);
        Assert.Equal(Now + Recheck, d.NotBefore);
        Assert.True(DeliveryPolicy.Defers(d));
        Assert.Equal("halted", DeliveryPolicy.Code(d.Verdict));
    }

    [Fact]
    public void Without_halt_consent_decides_and_a_refusal_is_final()
    {
        var d = DeliveryPolicy.Decide(TenantSending.Open, new ConsentState(), null, Sms, null, Now, Recheck);
        Assert.Equal(ContactVerdict.NoConsent, d.Verdict);
        Assert.False(DeliveryPolicy.Defers(d));
        Assert.True(DeliveryPolicy.Decide(TenantSending.Open, Granted(), null, Sms, null, Now, Recheck).Allowed);
    }

    [Fact]
    public void The_tenant_cap_applies_to_every_person_and_is_final_not_deferred()
    {
        var counts = new SendCounts();
        var zone = DeliveryPolicy.ZoneOf(null);
        counts.Record("sms", zone, Now.AddHours(-1));
        var d = DeliveryPolicy.Decide(Caps("sms", 1, null), Granted(), null, Sms, counts, Now, Recheck);
        Assert.Equal(ContactVerdict.CapReached, d.Verdict);
        Assert.False(DeliveryPolicy.Defers(d));
        // Another channel is not capped by the SMS cap.
        Assert.True(DeliveryPolicy.Decide(Caps("email", 1, null), Granted(), null, Sms, counts, Now, Recheck).Allowed);
    }

    [Fact]
    public void The_lower_of_the_tenant_and_personal_caps_wins_per_period()
    {
        var tenant = new Dictionary<string, ChannelCap> { ["sms"] = new(3, 5) };
        var person = new Dictionary<string, ChannelCap> { ["sms"] = new(1, null), ["email"] = new(null, 2) };
        var merged = DeliveryPolicy.EffectiveCaps(tenant, person);
        Assert.Equal(new ChannelCap(1, 5), merged["sms"]);
        Assert.Equal(new ChannelCap(null, 2), merged["email"]);
        Assert.Same(person, DeliveryPolicy.EffectiveCaps(new Dictionary<string, ChannelCap>(), person));
    }

    [Fact]
    public void Quiet_hours_defer_to_their_end_in_the_persons_zone()
    {
        var prefs = new Preferences { QuietHours = new QuietHours("15:00", "18:00"), TimeZone = "Asia/Shanghai" };
        var d = DeliveryPolicy.Decide(TenantSending.Open, Granted(), prefs, Sms, null, Now, Recheck);
        Assert.Equal(ContactVerdict.QuietHours, d.Verdict);
        Assert.True(DeliveryPolicy.Defers(d));
        Assert.Equal(DateTimeOffset.Parse("2024-05-01T18:00:00+08:00"), d.NotBefore);
    }

    [Fact]
    public void A_subscribe_message_needs_an_entitlement_unless_this_delivery_already_holds_one()
    {
        var request = new ContactRequest(ConsentVocabulary.Marketing, ConsentVocabulary.MiniProgramSubscribe, "TPL1");
        var consent = Granted(ConsentVocabulary.MiniProgramSubscribe);
        Assert.Equal(ContactVerdict.NoEntitlement, DeliveryPolicy.Decide(TenantSending.Open, consent, null, request, null, Now, Recheck).Verdict);
        Assert.True(DeliveryPolicy.Decide(TenantSending.Open, consent, null, request, null, Now, Recheck, entitlementHeld: true).Allowed);
    }

    [Fact]
    public void IsCapped_reads_counts_only_where_a_cap_applies()
    {
        Assert.False(DeliveryPolicy.IsCapped(TenantSending.Open, null, "sms"));
        Assert.True(DeliveryPolicy.IsCapped(Caps("sms", 1, null), null, "sms"));
        Assert.True(DeliveryPolicy.IsCapped(TenantSending.Open, new Preferences { Caps = new Dictionary<string, ChannelCap> { ["sms"] = new(1, null) } }, "sms"));
        Assert.False(DeliveryPolicy.IsCapped(Caps("email", 1, null), null, "sms"));
    }

    [Fact]
    public void Every_verdict_has_a_distinct_code()
    {
        var codes = Enum.GetValues<ContactVerdict>().Select(DeliveryPolicy.Code).ToList();
        Assert.Equal(codes.Count, codes.Distinct().Count());
        Assert.All(codes, c => Assert.Matches("^[a-z_]+$", c));
    }
}

public class SendCountsTests
{
    private static readonly TimeZoneInfo Shanghai = DeliveryPolicy.ZoneOf(new Preferences { TimeZone = "Asia/Shanghai" });

    [Fact]
    public void Days_are_the_persons_local_days_and_weeks_start_on_monday()
    {
        var counts = new SendCounts();
        // Sunday 2024-05-05 23:30 in Shanghai, then Monday 00:30 and Monday 09:00.
        counts.Record("sms", Shanghai, DateTimeOffset.Parse("2024-05-05T23:30:00+08:00"));
        counts.Record("sms", Shanghai, DateTimeOffset.Parse("2024-05-06T00:30:00+08:00"));
        counts.Record("sms", Shanghai, DateTimeOffset.Parse("2024-05-06T09:00:00+08:00"));
        var monday = counts.History("sms", Shanghai, DateTimeOffset.Parse("2024-05-06T10:00:00+08:00"));
        Assert.Equal(new ContactHistory(2, 2, 3), monday);
        var sunday = counts.History("sms", Shanghai, DateTimeOffset.Parse("2024-05-05T23:59:00+08:00"));
        Assert.Equal(new ContactHistory(1, 1, 3), sunday);
        Assert.Equal(ContactHistory.None, counts.History("email", Shanghai, DateTimeOffset.Parse("2024-05-06T10:00:00+08:00")));
    }

    [Fact]
    public void Old_days_are_forgotten()
    {
        var counts = new SendCounts();
        var start = DateTimeOffset.Parse("2024-05-01T12:00:00+08:00");
        for (var d = 0; d < 20; d++) counts.Record("sms", Shanghai, start.AddDays(d));
        Assert.True(counts.Days["sms"].Count <= SendCounts.DaysKept + 1);
    }
}
