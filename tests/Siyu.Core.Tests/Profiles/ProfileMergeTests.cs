using System.Text.Json.Nodes;
using Siyu.Core.Consent;
using Siyu.Core.Events;
using Siyu.Core.Identities;
using Siyu.Core.Privacy;
using Siyu.Core.Profiles;

namespace Siyu.Core.Tests.Profiles;

public sealed class ProfileMergeTests
{
    private static readonly DateTimeOffset T0 = DateTimeOffset.Parse("2026-05-01T08:00:00Z");
    private static readonly Identity Phone = new(IdentityType.Phone, "+8613800138000");
    private static readonly Identity Anonymous = new(IdentityType.AnonymousId, "device-1");

    private static IncomingEvent Event(string id, DateTimeOffset at, Identity who, EventType type = EventType.Track, string name = "view",
        JsonObject? traits = null, JsonObject? properties = null) => new()
    {
        MessageId = id, Type = type, Name = name, Identities = [who], Traits = traits, Properties = properties,
        Timestamp = at, ReceivedAt = T0.AddDays(1), Source = "api",
    };

    private static ProfileState Profile(string id, DateTimeOffset created, params IncomingEvent[] events)
    {
        var p = ProfileState.New(id, created);
        foreach (var e in events) ProfileFold.Apply(p, e);
        return p;
    }

    private static ConsentDecision Decision(string id, ConsentStatus status, DateTimeOffset at, string channel = "sms") => new()
    {
        Id = id, Purpose = "marketing", Channel = channel, Status = status, Source = "form", OccurredAt = at,
    };

    private static JsonObject Json(string text) => JsonNode.Parse(text)!.AsObject();

    [Fact]
    public void The_profile_created_first_survives_and_at_equal_times_the_smaller_id()
    {
        var older = ProfileState.New("zzzzzzzzzzzzzzzzzzzz", T0);
        var newer = ProfileState.New("00000000000000000000", T0.AddSeconds(1));
        Assert.Same(older, ProfileMerge.Survivor(older, newer));
        Assert.Same(older, ProfileMerge.Survivor(newer, older));

        var a = ProfileState.New("a0000000000000000000", T0);
        var b = ProfileState.New("b0000000000000000000", T0);
        Assert.Same(a, ProfileMerge.Survivor(b, a));
        Assert.True(ProfileMerge.IsSurvivor(a, b));
        Assert.False(ProfileMerge.IsSurvivor(b, a));
    }

    [Fact]
    public void Each_attribute_keeps_the_latest_identify_whichever_side_it_came_from()
    {
        var store = Profile("s", T0,
            Event("s1", T0.AddHours(1), Phone, EventType.Identify, "identify", new JsonObject { ["city"] = "上海", ["tier"] = "gold" }),
            Event("s2", T0.AddHours(5), Phone, EventType.Identify, "identify", new JsonObject { ["nickname"] = null }));
        var visitor = Profile("v", T0.AddDays(1),
            Event("v1", T0.AddHours(3), Anonymous, EventType.Identify, "identify", new JsonObject { ["city"] = "杭州", ["nickname"] = "小王", ["age"] = 30 }));

        Assert.True(ProfileMerge.Absorb(store, visitor, DataDefinitions.None, T0.AddDays(2)));

        Assert.Equal("杭州", (string?)store.Attributes["city"]); // newer on the visitor
        Assert.Equal("gold", (string?)store.Attributes["tier"]); // only on the store profile
        Assert.Equal(30, (int?)store.Attributes["age"]);          // only on the visitor
        Assert.False(store.Attributes.ContainsKey("nickname"));   // removed later on the store profile than it was set on the visitor
    }

    [Fact]
    public void Counters_orders_events_and_activity_add_up_and_seen_times_widen()
    {
        var store = Profile("s", T0,
            Event("s1", T0.AddHours(1), Phone),
            Event("s2", T0.AddHours(2), Phone, EventType.Order, "order", properties: Json("""{"orderId":"o1","total":100}""")));
        var visitor = Profile("v", T0,
            Event("v1", T0.AddMinutes(30), Anonymous),
            Event("v2", T0.AddHours(9), Anonymous, EventType.Order, "order", properties: Json("""{"orderId":"o2","total":50.5}""")));

        ProfileMerge.Absorb(store, visitor, DataDefinitions.None, T0.AddDays(1));

        Assert.Equal(4, store.EventCount);
        Assert.Equal(2, store.Counters["view"].Count);
        Assert.Equal(T0.AddMinutes(30), store.Counters["view"].First);
        Assert.Equal(T0.AddHours(1), store.Counters["view"].Last);
        Assert.Equal(2, store.Orders.Count);
        Assert.Equal(150.5m, store.Orders.Total["CNY"]);
        Assert.Equal(T0.AddHours(9), store.Orders.Last);
        Assert.Equal(T0.AddMinutes(30), store.FirstSeen);
        Assert.Equal(T0.AddHours(9), store.LastSeen);
        Assert.Equal(2, ActivityWindow.Count(store, "view", 7, T0.AddDays(1)));
        Assert.Equal(["v2", "s2", "s1", "v1"], store.Recent.Select(r => r.MessageId));
        Assert.Equal([Anonymous.Key, Phone.Key], store.Identities.Order(StringComparer.Ordinal));
    }

    [Fact]
    public void Consent_keeps_the_decision_that_occurred_last_and_entitlements_add_up()
    {
        var store = ProfileState.New("s", T0);
        store.Consent.Apply(Decision("d1", ConsentStatus.Granted, T0.AddHours(1)));
        store.Consent.Apply(Decision("d2", ConsentStatus.Withdrawn, T0.AddHours(9), "email"));
        store.Consent.Entitlements["tpl"] = 1;
        var visitor = ProfileState.New("v", T0);
        visitor.Consent.Apply(Decision("d3", ConsentStatus.Withdrawn, T0.AddHours(2)));
        visitor.Consent.Apply(Decision("d4", ConsentStatus.Granted, T0.AddHours(3), "email"));
        visitor.Consent.Entitlements["tpl"] = 2;

        ProfileMerge.Absorb(store, visitor, DataDefinitions.None, T0);

        Assert.False(store.Consent.IsGranted("marketing", "sms"));  // the visitor's withdrawal is newer
        Assert.False(store.Consent.IsGranted("marketing", "email")); // the store profile's withdrawal is newer
        Assert.Equal(3, store.Consent.Entitlements["tpl"]);
    }

    [Fact]
    public void Sensitive_data_is_dropped_when_the_merged_consent_no_longer_allows_it()
    {
        var definitions = new DataDefinitions([new SensitiveAttribute("allergy", "sensitive-health")], [new TagDefinition("lactose-free", null, null, "sensitive-health")]);
        var store = ProfileState.New("s", T0);
        store.Consent.Apply(new ConsentDecision { Id = "h1", Purpose = "sensitive-health", Channel = "all", Status = ConsentStatus.Granted, Source = "form", OccurredAt = T0 });
        store.Attributes["allergy"] = "lactose";
        store.Tags["lactose-free"] = new TagMark(T0, "k1");
        var visitor = ProfileState.New("v", T0.AddDays(1));
        visitor.Consent.Apply(new ConsentDecision { Id = "h2", Purpose = "sensitive-health", Channel = "all", Status = ConsentStatus.Withdrawn, Source = "form", OccurredAt = T0.AddDays(1) });

        ProfileMerge.Absorb(store, visitor, definitions, T0.AddDays(2));

        Assert.False(store.Attributes.ContainsKey("allergy"));
        Assert.False(store.Tags.ContainsKey("lactose-free"));
    }

    [Fact]
    public void Tags_unite_keeping_the_earlier_mark_and_the_survivors_preferences_win()
    {
        var store = ProfileState.New("s", T0);
        store.Tags["core-fan"] = new TagMark(T0.AddDays(3), "k1");
        store.Preferences = new Preferences { TimeZone = "Asia/Shanghai" };
        var visitor = ProfileState.New("v", T0);
        visitor.Tags["core-fan"] = new TagMark(T0.AddDays(1), "rule:r1");
        visitor.Tags["vip"] = new TagMark(T0.AddDays(2), "k2");
        visitor.Preferences = new Preferences { TimeZone = "Asia/Tokyo" };

        ProfileMerge.Absorb(store, visitor, DataDefinitions.None, T0);

        Assert.Equal(new TagMark(T0.AddDays(1), "rule:r1"), store.Tags["core-fan"]);
        Assert.Equal(new TagMark(T0.AddDays(2), "k2"), store.Tags["vip"]);
        Assert.Equal("Asia/Shanghai", store.Preferences!.TimeZone);
    }

    [Fact]
    public void Absorbing_twice_changes_nothing_the_second_time_and_lineage_carries_earlier_merges()
    {
        var store = Profile("s", T0, Event("s1", T0, Phone));
        var visitor = Profile("v", T0, Event("v1", T0, Anonymous));
        visitor.MergedFrom = ["older-alias"];

        Assert.True(ProfileMerge.Absorb(store, visitor, DataDefinitions.None, T0));
        Assert.False(ProfileMerge.Absorb(store, visitor, DataDefinitions.None, T0));

        Assert.Equal(2, store.EventCount);
        Assert.Equal(["older-alias", "v"], store.MergedFrom);
        Assert.True(ProfileMerge.HasAbsorbed(store, "v"));
        Assert.False(ProfileMerge.Absorb(store, store, DataDefinitions.None, T0));
    }

    [Fact]
    public void The_alias_left_behind_keeps_only_where_it_points()
    {
        var visitor = Profile("v", T0, Event("v1", T0, Anonymous, EventType.Identify, "identify", new JsonObject { ["city"] = "杭州" }));
        visitor.MergedInto = "s";
        var alias = ProfileMerge.Alias(visitor);
        Assert.Equal("s", alias.MergedInto);
        Assert.Empty(alias.Identities);
        Assert.Empty(alias.Attributes);
        Assert.Equal(0, alias.EventCount);
    }
}
