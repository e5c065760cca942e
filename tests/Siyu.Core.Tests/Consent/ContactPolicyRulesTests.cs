using Siyu.Core.Consent;
using static Siyu.Core.Tests.Consent.ConsentKit;

namespace Siyu.Core.Tests.Consent;

public class ContactPolicyRulesTests
{
    private static readonly DateTimeOffset Now = DateTimeOffset.Parse("2024-05-01T04:00:00Z"); // noon in Shanghai

    private static ContactVerdict Verdict(ConsentState consent, ContactRequest request, Preferences? prefs = null) =>
        ContactPolicy.CanContact(consent, prefs, request, Now).Verdict;

    // ---- arguments ----

    [Theory]
    [InlineData("Marketing", "sms")]
    [InlineData("", "sms")]
    [InlineData("sensitive-religion", "sms")]
    [InlineData("marketing", "all")]
    [InlineData("marketing", "fax")]
    [InlineData("marketing", "SMS")]
    [InlineData("marketing", "")]
    public void A_request_outside_the_vocabulary_or_for_all_channels_throws(string purpose, string channel)
    {
        var consent = State(Decision("g", "marketing", "all", ConsentStatus.Granted, T0));
        var ex = Assert.Throws<ArgumentException>(() => ContactPolicy.CanContact(consent, null, new ContactRequest(purpose, channel), Now));
        Assert.Equal("request", ex.ParamName);
    }

    [Fact]
    public void Null_consent_or_request_throws()
    {
        Assert.Throws<ArgumentNullException>(() => ContactPolicy.CanContact(null!, null, new ContactRequest("marketing", "sms"), Now));
        Assert.Throws<ArgumentNullException>(() => ContactPolicy.CanContact(new ConsentState(), null, null!, Now));
    }

    [Theory]
    [MemberData(nameof(EveryPurpose))]
    public void Every_purpose_in_the_vocabulary_is_a_valid_request(string purpose)
    {
        Assert.Equal(ContactVerdict.NoConsent, Verdict(new ConsentState(), new ContactRequest(purpose, "sms")));
        Assert.Equal(ContactVerdict.Allowed, Verdict(State(Decision("g", purpose, "sms", ConsentStatus.Granted, T0)), new ContactRequest(purpose, "sms")));
    }

    public static TheoryData<string> EveryPurpose() => new(ConsentVocabulary.Purposes);

    // ---- consent is per purpose ----

    [Fact]
    public void Consent_for_one_purpose_does_not_cover_another()
    {
        var consent = State(Decision("g", "analytics", "all", ConsentStatus.Granted, T0));
        Assert.Equal(ContactVerdict.NoConsent, Verdict(consent, new ContactRequest("marketing", "sms")));
        Assert.Equal(ContactVerdict.Allowed, Verdict(consent, new ContactRequest("analytics", "sms")));
    }

    // ---- "all" against one channel, by time ----

    [Fact]
    public void A_newer_withdrawal_for_all_channels_beats_an_older_channel_grant()
    {
        var consent = State(
            Decision("a", "marketing", "sms", ConsentStatus.Granted, T0),
            Decision("b", "marketing", "all", ConsentStatus.Withdrawn, T0.AddMinutes(1), source: "preference_center"));
        var d = ContactPolicy.CanContact(consent, null, new ContactRequest("marketing", "sms"), Now);
        Assert.Equal(ContactVerdict.Withdrawn, d.Verdict);
        Assert.Contains("preference_center", d.Reason);
        Assert.Null(d.NotBefore);
        Assert.False(d.Deferrable);
        // Every other channel too.
        foreach (var channel in SendChannels)
            Assert.Equal(ContactVerdict.Withdrawn, Verdict(consent, new ContactRequest("marketing", channel, "T1")));
    }

    [Fact]
    public void A_newer_channel_grant_beats_an_older_withdrawal_for_all_channels()
    {
        var consent = State(
            Decision("b", "marketing", "all", ConsentStatus.Withdrawn, T0),
            Decision("a", "marketing", "sms", ConsentStatus.Granted, T0.AddMinutes(1)));
        Assert.Equal(ContactVerdict.Allowed, Verdict(consent, new ContactRequest("marketing", "sms")));
        Assert.Equal(ContactVerdict.Withdrawn, Verdict(consent, new ContactRequest("marketing", "email")));
    }

    [Fact]
    public void The_outcome_does_not_depend_on_the_order_decisions_were_recorded_in()
    {
        var older = Decision("a", "marketing", "sms", ConsentStatus.Granted, T0);
        var newer = Decision("b", "marketing", "all", ConsentStatus.Withdrawn, T0.AddMinutes(1));
        Assert.Equal(ContactVerdict.Withdrawn, Verdict(State(older, newer), new ContactRequest("marketing", "sms")));
        Assert.Equal(ContactVerdict.Withdrawn, Verdict(State(newer, older), new ContactRequest("marketing", "sms")));
    }

    [Fact]
    public void At_equal_times_the_channel_decision_beats_the_all_channels_one()
    {
        var grantSms = State(
            Decision("z", "marketing", "all", ConsentStatus.Withdrawn, T0),
            Decision("a", "marketing", "sms", ConsentStatus.Granted, T0));
        Assert.Equal(ContactVerdict.Allowed, Verdict(grantSms, new ContactRequest("marketing", "sms")));

        var withdrawSms = State(
            Decision("a", "marketing", "sms", ConsentStatus.Withdrawn, T0),
            Decision("z", "marketing", "all", ConsentStatus.Granted, T0));
        Assert.Equal(ContactVerdict.Withdrawn, Verdict(withdrawSms, new ContactRequest("marketing", "sms")));
        Assert.Equal(ContactVerdict.Allowed, Verdict(withdrawSms, new ContactRequest("marketing", "email")));
    }

    [Fact]
    public void A_denial_is_reported_as_denied_not_withdrawn()
    {
        var consent = State(Decision("a", "marketing", "email", ConsentStatus.Denied, T0, source: "store_form"));
        var d = ContactPolicy.CanContact(consent, null, new ContactRequest("marketing", "email"), Now);
        Assert.Equal(ContactVerdict.Denied, d.Verdict);
        Assert.Contains("store_form", d.Reason);
    }

    // ---- template-scoped decisions ----

    [Fact]
    public void A_template_decision_applies_only_to_its_template()
    {
        var consent = State(
            Decision("c", "marketing", "miniprogram_subscribe", ConsentStatus.Granted, T0),
            Decision("t", "marketing", "miniprogram_subscribe", ConsentStatus.Denied, T0.AddMinutes(1), scope: "T1"));
        consent.Entitlements["T1"] = 1;
        consent.Entitlements["T2"] = 1;
        Assert.Equal(ContactVerdict.Denied, Verdict(consent, new ContactRequest("marketing", "miniprogram_subscribe", "T1")));
        Assert.Equal(ContactVerdict.Allowed, Verdict(consent, new ContactRequest("marketing", "miniprogram_subscribe", "T2")));
    }

    // ---- subscribe messages need an unused entitlement for their template ----

    [Fact]
    public void A_subscribe_message_without_a_template_has_no_entitlement()
    {
        var consent = State(Decision("c", "marketing", "miniprogram_subscribe", ConsentStatus.Granted, T0));
        consent.Entitlements["T1"] = 5;
        var d = ContactPolicy.CanContact(consent, null, new ContactRequest("marketing", "miniprogram_subscribe"), Now);
        Assert.Equal(ContactVerdict.NoEntitlement, d.Verdict);
        Assert.False(d.Deferrable);
    }

    [Theory]
    [InlineData(-1, ContactVerdict.NoEntitlement)]
    [InlineData(0, ContactVerdict.NoEntitlement)]
    [InlineData(1, ContactVerdict.Allowed)]
    [InlineData(3, ContactVerdict.Allowed)]
    public void A_subscribe_message_needs_an_entitlement_above_zero_for_its_template(int left, ContactVerdict expected)
    {
        var consent = State(Decision("c", "marketing", "miniprogram_subscribe", ConsentStatus.Granted, T0, scope: "T1"));
        consent.Entitlements["T1"] = left;
        consent.Entitlements["T2"] = 9;
        Assert.Equal(expected, Verdict(consent, new ContactRequest("marketing", "miniprogram_subscribe", "T1")));
    }

    [Fact]
    public void Entitlements_come_from_pop_up_grants_and_make_a_subscribe_message_possible()
    {
        var consent = State(Decision("popup#0", "marketing", "miniprogram_subscribe", ConsentStatus.Granted, T0, "T1", ConsentSources.SubscribePopup));
        Assert.Equal(ContactVerdict.Allowed, Verdict(consent, new ContactRequest("marketing", "miniprogram_subscribe", "T1")));
        Assert.Equal(ContactVerdict.NoConsent, Verdict(consent, new ContactRequest("marketing", "miniprogram_subscribe", "T2")));
    }

    [Fact]
    public void Other_channels_need_no_entitlement()
    {
        foreach (var channel in SendChannels.Where(c => c != "miniprogram_subscribe"))
        {
            var consent = State(Decision("c", "marketing", channel, ConsentStatus.Granted, T0));
            Assert.Equal(ContactVerdict.Allowed, Verdict(consent, new ContactRequest("marketing", channel)));
            Assert.Equal(ContactVerdict.Allowed, Verdict(consent, new ContactRequest("marketing", channel, "T1")));
        }
    }

    // ---- personalisation ----

    [Theory]
    [InlineData(ConsentStatus.Denied, true, ContactVerdict.PersonalisationOptedOut)]
    [InlineData(ConsentStatus.Withdrawn, true, ContactVerdict.PersonalisationOptedOut)]
    [InlineData(ConsentStatus.Granted, true, ContactVerdict.Allowed)]
    [InlineData(ConsentStatus.Denied, false, ContactVerdict.Allowed)]
    [InlineData(ConsentStatus.Withdrawn, false, ContactVerdict.Allowed)]
    public void Only_personalised_messages_respect_the_personalisation_opt_out(ConsentStatus personalisation, bool personalised, ContactVerdict expected)
    {
        var consent = State(
            Decision("m", "marketing", "wecom", ConsentStatus.Granted, T0),
            Decision("p", "personalisation", "all", personalisation, T0));
        Assert.Equal(expected, Verdict(consent, new ContactRequest("marketing", "wecom", Personalised: personalised)));
    }

    [Fact]
    public void A_personalised_message_without_any_personalisation_decision_may_go()
    {
        var consent = State(Decision("m", "marketing", "wecom", ConsentStatus.Granted, T0));
        Assert.Equal(ContactVerdict.Allowed, Verdict(consent, new ContactRequest("marketing", "wecom", Personalised: true)));
    }

    [Fact]
    public void A_newer_personalisation_grant_on_the_channel_beats_an_older_opt_out_for_all()
    {
        var consent = State(
            Decision("m", "marketing", "all", ConsentStatus.Granted, T0),
            Decision("p1", "personalisation", "all", ConsentStatus.Withdrawn, T0),
            Decision("p2", "personalisation", "email", ConsentStatus.Granted, T0.AddDays(1)));
        Assert.Equal(ContactVerdict.Allowed, Verdict(consent, new ContactRequest("marketing", "email", Personalised: true)));
        Assert.Equal(ContactVerdict.PersonalisationOptedOut, Verdict(consent, new ContactRequest("marketing", "sms", Personalised: true)));
    }

    [Fact]
    public void A_newer_personalisation_opt_out_for_all_beats_an_older_channel_grant()
    {
        var consent = State(
            Decision("m", "marketing", "all", ConsentStatus.Granted, T0),
            Decision("p1", "personalisation", "email", ConsentStatus.Granted, T0),
            Decision("p2", "personalisation", "all", ConsentStatus.Denied, T0.AddDays(1)));
        Assert.Equal(ContactVerdict.PersonalisationOptedOut, Verdict(consent, new ContactRequest("marketing", "email", Personalised: true)));
    }

    [Fact]
    public void Consent_is_checked_before_the_personalisation_opt_out()
    {
        var consent = State(Decision("p", "personalisation", "all", ConsentStatus.Withdrawn, T0));
        Assert.Equal(ContactVerdict.NoConsent, Verdict(consent, new ContactRequest("marketing", "sms", Personalised: true)));
    }

    // ---- topics ----

    [Theory]
    [InlineData(new string[0], "promo", ContactVerdict.Allowed)]      // no topics chosen: every topic
    [InlineData(new[] { "news" }, null, ContactVerdict.Allowed)]       // a message without a topic
    [InlineData(new[] { "news" }, "news", ContactVerdict.Allowed)]
    [InlineData(new[] { "news" }, "promo", ContactVerdict.TopicNotChosen)]
    [InlineData(new[] { "news" }, "News", ContactVerdict.TopicNotChosen)] // topics are exact
    public void Topics_filter_only_when_the_person_chose_some(string[] topics, string? topic, ContactVerdict expected)
    {
        var consent = State(Decision("m", "marketing", "push", ConsentStatus.Granted, T0));
        Assert.Equal(expected, Verdict(consent, new ContactRequest("marketing", "push", Topic: topic), new Preferences { Topics = topics }));
    }
}
