using System.Text.Json.Nodes;
using Siyu.Core.Consent;
using Siyu.Core.Events;
using static Siyu.Core.Tests.Consent.ConsentKit;

namespace Siyu.Core.Tests.Consent;

public class ConsentFactsTests
{
    private static readonly DateTimeOffset At = DateTimeOffset.Parse("2024-04-30T10:15:00Z");

    private static IncomingEvent WeChat(string name, JsonObject? properties = null, string messageId = "wx:app1:evt:o1:1714472100:x") =>
        Event(messageId, EventType.Track, name, properties, At) with { Source = "wechat:app1" };

    private static JsonObject Items(string? appKind, params (string? Template, string? Status)[] items)
    {
        var array = new JsonArray();
        foreach (var (template, status) in items)
        {
            var o = new JsonObject();
            if (template is not null) o["templateId"] = template;
            if (status is not null) o["subscribeStatus"] = status;
            array.Add(o);
        }
        var p = new JsonObject { ["items"] = array };
        if (appKind is not null) p["appKind"] = appKind;
        return p;
    }

    // ---- consent events ----

    [Fact]
    public void A_consent_event_is_one_decision_as_stated()
    {
        var e = ConsentEvent("m-9", ConsentProperties("sensitive-health", "all", "granted", "store_form", evidence: "form v3", scope: null), At);
        var d = Assert.Single(ConsentFacts.From(e));
        Assert.Equal("msg:m-9", d.Id);
        Assert.Equal("sensitive-health", d.Purpose);
        Assert.Equal("all", d.Channel);
        Assert.Null(d.Scope);
        Assert.Equal(ConsentStatus.Granted, d.Status);
        Assert.Equal("store_form", d.Source);
        Assert.Equal("form v3", d.Evidence);
        Assert.Equal(At, d.OccurredAt);
        Assert.True(ConsentFacts.GrantsAny(e));
    }

    [Fact]
    public void A_consent_event_keeps_its_scope_and_status()
    {
        var e = ConsentEvent("m-10", ConsentProperties("marketing", "miniprogram_subscribe", "withdrawn", "api", scope: "TPL-1"), At);
        var d = Assert.Single(ConsentFacts.From(e));
        Assert.Equal("TPL-1", d.Scope);
        Assert.Equal(ConsentStatus.Withdrawn, d.Status);
        Assert.Equal("marketing/miniprogram_subscribe/TPL-1", d.Key);
        Assert.False(ConsentFacts.GrantsAny(e));
    }

    [Fact]
    public void A_consent_event_with_unreadable_properties_yields_nothing()
    {
        Assert.Empty(ConsentFacts.From(ConsentEvent("m", ConsentProperties(purpose: "spam"), At)));
        Assert.Empty(ConsentFacts.From(Event("m", EventType.Consent, "consent", null, At)));
    }

    [Fact]
    public void Only_the_consent_type_counts_not_the_name()
    {
        // A track event that happens to be called "consent" is not a consent decision.
        Assert.Empty(ConsentFacts.From(Event("m", EventType.Track, "consent", ConsentProperties(), At)));
        Assert.Empty(ConsentFacts.From(Event("m", EventType.Identify, "identify", ConsentProperties(), At)));
    }

    [Fact]
    public void Consent_ids_are_stable_and_follow_the_message_id()
    {
        var p = ConsentProperties();
        var a = ConsentFacts.From(ConsentEvent("m-1", p, At)).Single();
        var again = ConsentFacts.From(ConsentEvent("m-1", p, At.AddDays(1)) with { ReceivedAt = At.AddDays(2) }).Single();
        var other = ConsentFacts.From(ConsentEvent("m-2", p, At)).Single();
        Assert.Equal(a.Id, again.Id);
        Assert.NotEqual(a.Id, other.Id);
    }

    // ---- follow / unfollow ----

    [Fact]
    public void Following_the_official_account_grants_marketing_there()
    {
        var e = WeChat("wechat.subscribe");
        var d = Assert.Single(ConsentFacts.From(e));
        Assert.Equal("msg:wx:app1:evt:o1:1714472100:x#0", d.Id);
        Assert.Equal("marketing", d.Purpose);
        Assert.Equal("wechat_oa", d.Channel);
        Assert.Null(d.Scope);
        Assert.Equal(ConsentStatus.Granted, d.Status);
        Assert.Equal(ConsentSources.WeChatSubscribe, d.Source);
        Assert.Equal(At, d.OccurredAt);
        Assert.True(ConsentFacts.GrantsAny(e));
    }

    [Fact]
    public void Unfollowing_withdraws_it()
    {
        var e = WeChat("wechat.unsubscribe");
        var d = Assert.Single(ConsentFacts.From(e));
        Assert.Equal("marketing", d.Purpose);
        Assert.Equal("wechat_oa", d.Channel);
        Assert.Equal(ConsentStatus.Withdrawn, d.Status);
        Assert.Equal(ConsentSources.WeChatUnsubscribe, d.Source);
        Assert.False(ConsentFacts.GrantsAny(e));
    }

    // ---- subscribe-message pop-ups and settings ----

    [Theory]
    [InlineData(null, "miniprogram_subscribe")]
    [InlineData("miniProgram", "miniprogram_subscribe")]
    [InlineData("officialAccount", "wechat_oa")]
    [InlineData("somethingElse", "miniprogram_subscribe")]
    public void A_pop_up_gives_a_decision_per_template(string? appKind, string channel)
    {
        var e = WeChat("wechat.subscribe_msg_popup", Items(appKind, ("T-accept", "accept"), ("T-reject", "reject"), ("T-ban", "ban")));
        var ds = ConsentFacts.From(e);
        Assert.Equal(3, ds.Count);
        Assert.All(ds, d =>
        {
            Assert.Equal("marketing", d.Purpose);
            Assert.Equal(channel, d.Channel);
            Assert.Equal(ConsentSources.SubscribePopup, d.Source);
            Assert.Equal(At, d.OccurredAt);
        });
        Assert.Equal(["T-accept", "T-reject", "T-ban"], ds.Select(d => d.Scope));
        Assert.Equal([ConsentStatus.Granted, ConsentStatus.Denied, ConsentStatus.Denied], ds.Select(d => d.Status));
        Assert.Equal(["#0", "#1", "#2"], ds.Select(d => d.Id[d.Id.LastIndexOf('#')..]));
        Assert.All(ds, d => Assert.StartsWith("msg:wx:app1:evt:o1:1714472100:x#", d.Id));
        Assert.True(ConsentFacts.GrantsAny(e));
    }

    [Fact]
    public void In_settings_a_reject_withdraws()
    {
        var e = WeChat("wechat.subscribe_msg_change", Items("miniProgram", ("T1", "reject"), ("T2", "accept"), ("T3", "ban")));
        var ds = ConsentFacts.From(e);
        Assert.Equal([ConsentStatus.Withdrawn, ConsentStatus.Granted, ConsentStatus.Denied], ds.Select(d => d.Status));
        Assert.All(ds, d => Assert.Equal(ConsentSources.SubscribeSettings, d.Source));
        Assert.All(ds, d => Assert.Equal("miniprogram_subscribe", d.Channel));
    }

    [Fact]
    public void A_pop_up_with_only_refusals_grants_nothing()
    {
        Assert.False(ConsentFacts.GrantsAny(WeChat("wechat.subscribe_msg_popup", Items(null, ("T1", "reject"), ("T2", "ban")))));
    }

    [Fact]
    public void Answers_and_templates_are_trimmed_and_answers_are_case_insensitive()
    {
        var ds = ConsentFacts.From(WeChat("wechat.subscribe_msg_popup", Items(null, ("  T1 ", " Accept "), ("T2", "REJECT"))));
        Assert.Equal(["T1", "T2"], ds.Select(d => d.Scope));
        Assert.Equal([ConsentStatus.Granted, ConsentStatus.Denied], ds.Select(d => d.Status));
    }

    [Fact]
    public void Unusable_items_are_skipped_but_keep_their_place_in_the_ids()
    {
        var p = Items(null,
            (null, "accept"),                 // #0 no template
            ("   ", "accept"),                // #1 blank template
            (new string('t', 129), "accept"), // #2 template too long
            ("T3", "maybe"),                  // #3 unknown answer
            ("T4", null),                     // #4 no answer
            (new string('t', 128), "accept"), // #5 longest template
            ("T6", "accept"));                // #6
        var items = (JsonArray)p["items"]!;
        items.Add(42);                                                  // #7 not an object
        items.Add(new JsonObject { ["templateId"] = 7, ["subscribeStatus"] = "accept" }); // #8 template not a string
        items.Add(new JsonObject { ["templateId"] = "T9", ["subscribeStatus"] = true });  // #9 answer not a string
        items.Add(null);                                                // #10
        items.Add(new JsonObject { ["templateId"] = "T11", ["subscribeStatus"] = "accept" });

        var ds = ConsentFacts.From(WeChat("wechat.subscribe_msg_popup", p));
        Assert.Equal(["#5", "#6", "#11"], ds.Select(d => d.Id[d.Id.LastIndexOf('#')..]));
        Assert.Equal([new string('t', 128), "T6", "T11"], ds.Select(d => d.Scope));
    }

    [Fact]
    public void A_pop_up_without_items_yields_nothing()
    {
        Assert.Empty(ConsentFacts.From(WeChat("wechat.subscribe_msg_popup")));
        Assert.Empty(ConsentFacts.From(WeChat("wechat.subscribe_msg_popup", new JsonObject { ["appKind"] = "miniProgram" })));
        Assert.Empty(ConsentFacts.From(WeChat("wechat.subscribe_msg_popup", new JsonObject { ["items"] = "T1" })));
        Assert.Empty(ConsentFacts.From(WeChat("wechat.subscribe_msg_change", new JsonObject { ["items"] = new JsonArray() })));
    }

    [Theory]
    [InlineData("number")]
    [InlineData("object")]
    [InlineData("boolean")]
    public void A_malformed_appKind_does_not_throw(string kind)
    {
        // Event properties are caller-supplied (POST /api/events accepts any event name), so a fold must not crash on them.
        var p = Items(null, ("T1", "accept"));
        p["appKind"] = kind switch { "number" => 1, "object" => new JsonObject { ["k"] = "officialAccount" }, _ => true };
        var e = WeChat("wechat.subscribe_msg_popup", p);
        var ex = Record.Exception(() => ConsentFacts.From(e));
        Assert.Null(ex);
    }

    [Fact]
    public void A_malformed_appKind_sent_through_the_api_does_not_break_the_fold()
    {
        // POST /api/events accepts a track event with any name, so this reaches ConsentFacts.From in ingestion.
        var item = new JsonObject
        {
            ["messageId"] = "forged-1",
            ["type"] = "track",
            ["event"] = "wechat.subscribe_msg_popup",
            ["identities"] = new JsonObject { ["userId"] = "u1" },
            ["properties"] = new JsonObject
            {
                ["appKind"] = 1,
                ["items"] = new JsonArray(new JsonObject { ["templateId"] = "T1", ["subscribeStatus"] = "accept" }),
            },
        };
        using var doc = System.Text.Json.JsonDocument.Parse(item.ToJsonString());
        Assert.True(new EventValidator(TimeSpan.FromMinutes(5)).TryValidate(doc.RootElement, 0, At, out var e, out var error), error?.ToString());
        var profile = Siyu.Core.Profiles.ProfileState.New("p1", At);
        Assert.Null(Record.Exception(() => Siyu.Core.Profiles.ProfileFold.Apply(profile, e!)));
    }

    [Fact]
    public void Pop_up_ids_are_stable_across_replays()
    {
        var p = Items("miniProgram", ("T1", "accept"), ("T2", "accept"));
        var first = ConsentFacts.From(WeChat("wechat.subscribe_msg_popup", p)).Select(d => d.Id).ToList();
        var replay = ConsentFacts.From(WeChat("wechat.subscribe_msg_popup", (JsonObject)p.DeepClone()) with { ReceivedAt = At.AddHours(1) }).Select(d => d.Id).ToList();
        var other = ConsentFacts.From(WeChat("wechat.subscribe_msg_popup", p, messageId: "wx:app1:evt:o1:1714472200:x")).Select(d => d.Id).ToList();
        Assert.Equal(first, replay);
        Assert.Empty(first.Intersect(other));
        Assert.Equal(first.Count, first.Distinct().Count());

        // Replaying the event into a state does not add entitlements.
        var s = new ConsentState();
        foreach (var d in ConsentFacts.From(WeChat("wechat.subscribe_msg_popup", p))) s.Apply(d);
        foreach (var d in ConsentFacts.From(WeChat("wechat.subscribe_msg_popup", p))) s.Apply(d);
        Assert.Equal(1, s.Entitlements["T1"]);
        Assert.Equal(1, s.Entitlements["T2"]);
        foreach (var d in ConsentFacts.From(WeChat("wechat.subscribe_msg_popup", p, messageId: "wx:app1:evt:o1:1714472200:x"))) s.Apply(d);
        Assert.Equal(2, s.Entitlements["T1"]);
    }

    [Fact]
    public void An_official_account_pop_up_gives_no_entitlement()
    {
        var s = new ConsentState();
        foreach (var d in ConsentFacts.From(WeChat("wechat.subscribe_msg_popup", Items("officialAccount", ("T1", "accept"))))) s.Apply(d);
        Assert.Empty(s.Entitlements);
        Assert.True(s.IsGranted("marketing", "wechat_oa", "T1"));
    }

    // ---- everything else ----

    [Theory]
    [InlineData("page_view")]
    [InlineData("wechat.subscribe_msg_sent")]
    [InlineData("wechat.scan")]
    [InlineData("wechat.text")]
    [InlineData("WECHAT.SUBSCRIBE")]
    public void Unrelated_events_carry_no_decision(string name)
    {
        var e = WeChat(name, Items(null, ("T1", "accept")));
        Assert.Empty(ConsentFacts.From(e));
        Assert.False(ConsentFacts.GrantsAny(e));
    }

    [Fact]
    public void Identify_and_order_events_carry_no_decision()
    {
        Assert.Empty(ConsentFacts.From(Event("m", EventType.Identify, "identify", traits: new JsonObject { ["a"] = 1 })));
        Assert.Empty(ConsentFacts.From(Event("m", EventType.Order, "order", new JsonObject { ["orderId"] = "A1", ["total"] = 1 })));
    }

    [Theory]
    [InlineData("wechat.subscribe")]
    [InlineData("wechat.unsubscribe")]
    [InlineData("wechat.subscribe_msg_popup")]
    [InlineData("wechat.subscribe_msg_change")]
    public void WeChat_consent_comes_only_from_WeChat_pushes_not_from_api_events_with_the_same_name(string name)
    {
        var items = new JsonObject { ["items"] = new JsonArray(new JsonObject { ["templateId"] = "T1", ["subscribeStatus"] = "accept" }) };
        Assert.NotEmpty(ConsentFacts.From(WeChat(name, items.DeepClone().AsObject())));
        Assert.Empty(ConsentFacts.From(WeChat(name, items) with { Source = "api" }));
    }

    [Fact]
    public void A_push_with_more_templates_than_a_pop_up_can_hold_yields_at_most_the_limit()
    {
        var items = Enumerable.Range(0, 150).Select(i => ((string?)$"T{i}", (string?)"accept")).ToArray();
        var decisions = ConsentFacts.From(WeChat("wechat.subscribe_msg_popup", Items("miniProgram", items)));
        Assert.Equal(ConsentFacts.MaxTemplatesPerEvent, decisions.Count);
        Assert.Equal(Enumerable.Range(0, ConsentFacts.MaxTemplatesPerEvent).Select(i => $"T{i}"), decisions.Select(d => d.Scope));
    }
}
