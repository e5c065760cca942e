using Siyu.Core.Consent;
using static Siyu.Core.Tests.Consent.ConsentKit;

namespace Siyu.Core.Tests.Consent;

/// <summary>What a consent row in the table holds: nothing recorded, or a recorded decision.</summary>
public enum Recorded { Nothing, Granted, Denied, Withdrawn }

/// <summary>Where the governing marketing decision is recorded.</summary>
public enum Placement { ExactChannel, AllChannels, TemplateScope }

/// <summary>
/// <see cref="ContactPolicy.CanContact"/> crossed exhaustively: consent × where it sits × personalised request ×
/// personalisation state × every channel × (later gates pass | later gates all fail). The expected verdict is
/// worked out here from the documented order, not by asking the policy.
/// </summary>
public class ContactPolicyTableTests
{
    private const string Template = "T1";
    // Wednesday 2024-05-01 12:00 UTC.
    private static readonly DateTimeOffset Now = DateTimeOffset.Parse("2024-05-01T12:00:00Z");
    private static readonly DateTimeOffset Long = Now.AddDays(-30);

    public static TheoryData<Recorded, Placement, bool, Recorded, string, bool> Table()
    {
        var data = new TheoryData<Recorded, Placement, bool, Recorded, string, bool>();
        foreach (var marketing in Enum.GetValues<Recorded>())
            foreach (var placement in Enum.GetValues<Placement>())
                foreach (var personalised in new[] { false, true })
                    foreach (var personalisation in Enum.GetValues<Recorded>())
                        foreach (var channel in SendChannels)
                            foreach (var laterGatesFail in new[] { false, true })
                                data.Add(marketing, placement, personalised, personalisation, channel, laterGatesFail);
        return data;
    }

    [Fact]
    public void The_table_covers_every_sending_channel()
    {
        Assert.Equal(["wechat_oa", "miniprogram_subscribe", "wecom", "sms", "email", "push"], SendChannels);
        Assert.Equal(4 * 3 * 2 * 4 * 6 * 2, Table().Count());
    }

    private static ContactVerdict ToVerdict(Recorded r) => r switch
    {
        Recorded.Nothing => ContactVerdict.NoConsent,
        Recorded.Denied => ContactVerdict.Denied,
        Recorded.Withdrawn => ContactVerdict.Withdrawn,
        _ => ContactVerdict.Allowed,
    };

    private static ConsentStatus ToStatus(Recorded r) => r switch
    {
        Recorded.Granted => ConsentStatus.Granted,
        Recorded.Denied => ConsentStatus.Denied,
        Recorded.Withdrawn => ConsentStatus.Withdrawn,
        _ => throw new ArgumentOutOfRangeException(nameof(r)),
    };

    [Theory]
    [MemberData(nameof(Table))]
    public void The_verdict_follows_the_documented_order(Recorded marketing, Placement placement, bool personalised,
        Recorded personalisation, string channel, bool laterGatesFail)
    {
        var consent = new ConsentState();
        var other = SendChannels.First(c => c != channel);
        if (marketing == Recorded.Nothing)
        {
            // Decisions that look near but do not apply: another channel, another purpose, another template.
            switch (placement)
            {
                case Placement.ExactChannel:
                    consent.Apply(Decision("d1", "marketing", other, ConsentStatus.Granted, Long));
                    consent.Apply(Decision("d2", "analytics", channel, ConsentStatus.Granted, Long));
                    break;
                case Placement.AllChannels:
                    consent.Apply(Decision("d1", "analytics", "all", ConsentStatus.Granted, Long));
                    consent.Apply(Decision("d2", "sensitive-health", "all", ConsentStatus.Granted, Long));
                    break;
                case Placement.TemplateScope:
                    consent.Apply(Decision("d1", "marketing", channel, ConsentStatus.Granted, Long, scope: "T2"));
                    consent.Apply(Decision("d2", "marketing", other, ConsentStatus.Granted, Long, scope: Template));
                    break;
            }
        }
        else
        {
            var (c, scope) = placement switch
            {
                Placement.ExactChannel => (channel, (string?)null),
                Placement.AllChannels => ("all", null),
                _ => (channel, Template),
            };
            consent.Apply(Decision("m1", "marketing", c, ToStatus(marketing), Long, scope));
        }

        if (personalisation != Recorded.Nothing)
            consent.Apply(Decision("p1", "personalisation", placement == Placement.ExactChannel ? channel : "all",
                ToStatus(personalisation), Long.AddDays(1)));

        Preferences prefs;
        ContactHistory history;
        if (laterGatesFail)
        {
            // No entitlement, a topic the person did not choose, both caps reached, and quiet hours now.
            prefs = new Preferences
            {
                TimeZone = "UTC",
                Topics = ["news"],
                Caps = new Dictionary<string, ChannelCap> { [channel] = new(0, 0) },
                QuietHours = new QuietHours("11:00", "13:00"),
            };
            history = new ContactHistory(5, 5);
        }
        else
        {
            consent.Entitlements[Template] = 1;
            prefs = new Preferences
            {
                TimeZone = "UTC",
                Topics = ["news", "promo"],
                Caps = new Dictionary<string, ChannelCap> { [channel] = new(3, 10) },
                QuietHours = new QuietHours("22:00", "08:00"),
            };
            history = new ContactHistory(2, 9);
        }

        ContactVerdict expected;
        if (marketing != Recorded.Granted) expected = ToVerdict(marketing);
        else if (personalised && personalisation is Recorded.Denied or Recorded.Withdrawn) expected = ContactVerdict.PersonalisationOptedOut;
        else if (!laterGatesFail) expected = ContactVerdict.Allowed;
        else if (channel == "miniprogram_subscribe") expected = ContactVerdict.NoEntitlement;
        else expected = ContactVerdict.TopicNotChosen;

        var decision = ContactPolicy.CanContact(consent, prefs, new ContactRequest("marketing", channel, Template, personalised, "promo"), Now, history);

        Assert.Equal(expected, decision.Verdict);
        Assert.Equal(expected == ContactVerdict.Allowed, decision.Allowed);
        Assert.False(decision.Deferrable);
        Assert.Null(decision.NotBefore);
        Assert.False(string.IsNullOrWhiteSpace(decision.Reason));
    }

    // ---- the gates after consent, crossed: entitlement × topic × daily cap × weekly cap × quiet hours ----

    // Wednesday 2024-05-01 23:30 in Shanghai (UTC+8, no daylight saving).
    private static readonly DateTimeOffset ShanghaiLate = DateTimeOffset.Parse("2024-05-01T15:30:00Z");
    private static readonly DateTimeOffset ShanghaiNextMidnight = new(2024, 5, 2, 0, 0, 0, TimeSpan.FromHours(8));
    private static readonly DateTimeOffset ShanghaiNextMonday = new(2024, 5, 6, 0, 0, 0, TimeSpan.FromHours(8));
    private static readonly DateTimeOffset ShanghaiQuietEnd = new(2024, 5, 2, 8, 0, 0, TimeSpan.FromHours(8));

    public static TheoryData<string, bool, bool, bool, bool, bool> LaterGates()
    {
        var data = new TheoryData<string, bool, bool, bool, bool, bool>();
        bool[] both = [false, true];
        foreach (var channel in SendChannels)
            foreach (var entitled in both)
                foreach (var topicChosen in both)
                    foreach (var dayReached in both)
                        foreach (var weekReached in both)
                            foreach (var quiet in both)
                                data.Add(channel, entitled, topicChosen, dayReached, weekReached, quiet);
        return data;
    }

    [Theory]
    [MemberData(nameof(LaterGates))]
    public void After_consent_the_gates_run_entitlement_topic_caps_quiet_hours(string channel, bool entitled, bool topicChosen,
        bool dayReached, bool weekReached, bool quiet)
    {
        var consent = State(Decision("m1", "marketing", channel, ConsentStatus.Granted, Long));
        if (entitled) consent.Entitlements[Template] = 2;
        var other = SendChannels.First(c => c != channel);
        var prefs = new Preferences
        {
            TimeZone = "Asia/Shanghai",
            Topics = ["news", "promo"],
            // A cap on another channel never applies here.
            Caps = new Dictionary<string, ChannelCap> { [channel] = new(3, 10), [other] = new(0, 0) },
            QuietHours = quiet ? new QuietHours("22:00", "08:00") : new QuietHours("09:00", "18:00"),
        };
        var history = new ContactHistory(dayReached ? 3 : 2, weekReached ? 10 : 9);
        var request = new ContactRequest("marketing", channel, Template, Personalised: false, Topic: topicChosen ? "promo" : "sports");

        (ContactVerdict Verdict, DateTimeOffset? NotBefore) expected =
            channel == "miniprogram_subscribe" && !entitled ? (ContactVerdict.NoEntitlement, null)
            : !topicChosen ? (ContactVerdict.TopicNotChosen, null)
            : dayReached ? (ContactVerdict.CapReached, ShanghaiNextMidnight)
            : weekReached ? (ContactVerdict.CapReached, ShanghaiNextMonday)
            : quiet ? (ContactVerdict.QuietHours, ShanghaiQuietEnd)
            : (ContactVerdict.Allowed, null);

        var decision = ContactPolicy.CanContact(consent, prefs, request, ShanghaiLate, history);

        Assert.Equal(expected.Verdict, decision.Verdict);
        Assert.Equal(expected.NotBefore, decision.NotBefore);
        Assert.Equal(expected.Verdict is ContactVerdict.CapReached or ContactVerdict.QuietHours, decision.Deferrable);
        Assert.False(string.IsNullOrWhiteSpace(decision.Reason));
        // The entitlement is the delivery layer's to use up, never the policy's.
        Assert.Equal(entitled ? 2 : 0, consent.Entitlements.GetValueOrDefault(Template));
    }

    // ---- governing decision: newest applicable wins; at equal times the more specific one ----

    public enum Level { Template, Channel, All }

    public enum Timing { SpecificNewer, GeneralNewer, Equal }

    public static TheoryData<string, Level, Level, ConsentStatus, ConsentStatus, Timing> Precedence()
    {
        var data = new TheoryData<string, Level, Level, ConsentStatus, ConsentStatus, Timing>();
        (Level, Level)[] pairs = [(Level.Template, Level.Channel), (Level.Template, Level.All), (Level.Channel, Level.All)];
        foreach (var channel in SendChannels)
            foreach (var (specific, general) in pairs)
                foreach (var s1 in Enum.GetValues<ConsentStatus>())
                    foreach (var s2 in Enum.GetValues<ConsentStatus>())
                        foreach (var timing in Enum.GetValues<Timing>())
                            data.Add(channel, specific, general, s1, s2, timing);
        return data;
    }

    [Theory]
    [MemberData(nameof(Precedence))]
    public void The_newest_applicable_decision_governs_and_ties_go_to_the_more_specific(string channel, Level specific, Level general,
        ConsentStatus specificStatus, ConsentStatus generalStatus, Timing timing)
    {
        DateTimeOffset specificAt = Long, generalAt = Long;
        if (timing == Timing.SpecificNewer) specificAt = Long.AddSeconds(1);
        if (timing == Timing.GeneralNewer) generalAt = Long.AddSeconds(1);

        ConsentDecision At(Level level, string id, ConsentStatus status, DateTimeOffset at) => level switch
        {
            Level.Template => Decision(id, "marketing", channel, status, at, scope: Template),
            Level.Channel => Decision(id, "marketing", channel, status, at),
            _ => Decision(id, "marketing", "all", status, at),
        };
        // The general decision has the greater id, so an id tie-break would pick it: specificity must decide.
        var consent = State(At(specific, "a-specific", specificStatus, specificAt), At(general, "z-general", generalStatus, generalAt));
        consent.Entitlements[Template] = 1;

        var winner = timing == Timing.GeneralNewer ? generalStatus : specificStatus;
        var expected = winner switch
        {
            ConsentStatus.Granted => ContactVerdict.Allowed,
            ConsentStatus.Denied => ContactVerdict.Denied,
            _ => ContactVerdict.Withdrawn,
        };

        var governing = consent.Governing("marketing", channel, Template);
        Assert.NotNull(governing);
        Assert.Equal(winner, governing.Status);
        Assert.Equal(timing == Timing.GeneralNewer ? "z-general" : "a-specific", governing.Id);
        Assert.Equal(winner == ConsentStatus.Granted, consent.IsGranted("marketing", channel, Template));

        var decision = ContactPolicy.CanContact(consent, null, new ContactRequest("marketing", channel, Template), Now);
        Assert.Equal(expected, decision.Verdict);
    }
}
