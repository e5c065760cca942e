using System.Text.Json.Nodes;
using Siyu.Core.Consent;
using Siyu.Core.Events;
using Siyu.Core.Identities;
using Siyu.Core.Privacy;
using Siyu.Core.Profiles;

namespace Siyu.Core.Tests.Privacy;

/// <summary>Consent and sensitive attributes as <see cref="ProfileFold"/> folds events.</summary>
public class SensitiveProfileFoldTests
{
    private static readonly DateTimeOffset T0 = DateTimeOffset.Parse("2024-05-01T08:00:00Z");
    private static readonly Identity User = new(IdentityType.UserId, "u1");

    private static readonly DataDefinitions Definitions = new(
    [
        new SensitiveAttribute("diagnosis", "sensitive-health"),
        new SensitiveAttribute("salary", "sensitive-finance"),
    ]);

    private static DateTimeOffset At(int minutes) => T0.AddMinutes(minutes);

    private static IncomingEvent Identify(string id, int minutes, JsonObject traits) => new()
    {
        MessageId = id,
        Type = EventType.Identify,
        Name = "identify",
        Identities = [User],
        Traits = traits,
        Timestamp = At(minutes),
        ReceivedAt = T0,
        Source = "api",
    };

    private static IncomingEvent Consent(string id, int minutes, string purpose, string channel, string status) => new()
    {
        MessageId = id,
        Type = EventType.Consent,
        Name = "consent",
        Identities = [User],
        Properties = new JsonObject { ["purpose"] = purpose, ["channel"] = channel, ["status"] = status, ["source"] = "store_form" },
        Timestamp = At(minutes),
        ReceivedAt = T0,
        Source = "api",
    };

    private static IncomingEvent Track(string id, int minutes, string name, JsonObject? properties = null) => new()
    {
        MessageId = id,
        Type = EventType.Track,
        Name = name,
        Identities = [User],
        Properties = properties,
        Timestamp = At(minutes),
        ReceivedAt = T0,
        Source = "wechat:app1",
    };

    private static ProfileState Fold(DataDefinitions? definitions, params IncomingEvent[] events)
    {
        var p = ProfileState.New("p0000000000000000000", T0);
        foreach (var e in events) ProfileFold.Apply(p, e, definitions);
        return p;
    }

    private static JsonObject Traits() => new() { ["name"] = "张三", ["diagnosis"] = "hypertension" };

    [Fact]
    public void A_sensitive_trait_without_consent_is_dropped_and_the_rest_kept()
    {
        var p = Fold(Definitions, Identify("i1", 0, Traits()));
        Assert.Equal("张三", p.Attributes["name"]!.GetValue<string>());
        Assert.False(p.Attributes.ContainsKey("diagnosis"));
        Assert.False(p.AttributeVersions.ContainsKey("diagnosis"));
        Assert.Equal(1, p.EventCount);
    }

    [Fact]
    public void A_sensitive_trait_with_its_purpose_granted_for_all_channels_is_kept()
    {
        var p = Fold(Definitions,
            Consent("c1", 0, "sensitive-health", "all", "granted"),
            Identify("i1", 1, Traits()));
        Assert.Equal("hypertension", p.Attributes["diagnosis"]!.GetValue<string>());
        Assert.True(p.Consent.IsGranted("sensitive-health", "all"));
        Assert.Equal(ConsentStatus.Granted, p.Consent.Current["sensitive-health/all"].Status);
    }

    [Fact]
    public void Consent_for_another_purpose_or_one_channel_is_not_enough()
    {
        var p = Fold(Definitions,
            Consent("c1", 0, "sensitive-finance", "all", "granted"),
            Consent("c2", 0, "sensitive-health", "sms", "granted"),
            Consent("c3", 0, "marketing", "all", "granted"),
            Identify("i1", 1, new JsonObject { ["diagnosis"] = "x", ["salary"] = 1 }));
        Assert.False(p.Attributes.ContainsKey("diagnosis"));
        Assert.Equal(1, p.Attributes["salary"]!.GetValue<int>());
    }

    [Theory]
    [InlineData("withdrawn")]
    [InlineData("denied")]
    public void A_sensitive_trait_is_removed_when_consent_is_later_taken_back(string status)
    {
        var p = Fold(Definitions,
            Consent("c1", 0, "sensitive-health", "all", "granted"),
            Identify("i1", 1, Traits()),
            Consent("c2", 2, "sensitive-health", "all", status));
        Assert.False(p.Attributes.ContainsKey("diagnosis"));
        Assert.Equal("张三", p.Attributes["name"]!.GetValue<string>());

        // And later traits are not stored either.
        ProfileFold.Apply(p, Identify("i2", 3, new JsonObject { ["diagnosis"] = "again" }), Definitions);
        Assert.False(p.Attributes.ContainsKey("diagnosis"));
    }

    [Fact]
    public void A_withdrawal_that_arrives_first_but_happened_later_still_wins()
    {
        // Arrival order: grant, withdrawal (happened at minute 2), then an identify that happened at minute 1.
        var p = Fold(Definitions,
            Consent("c1", 0, "sensitive-health", "all", "granted"),
            Consent("c2", 2, "sensitive-health", "all", "withdrawn"),
            Identify("i1", 1, Traits()));
        Assert.False(p.Attributes.ContainsKey("diagnosis"));
    }

    [Fact]
    public void An_older_withdrawal_arriving_late_does_not_remove_a_trait_kept_under_a_newer_grant()
    {
        var p = Fold(Definitions,
            Consent("c2", 5, "sensitive-health", "all", "granted"),
            Identify("i1", 6, Traits()),
            Consent("c1", 1, "sensitive-health", "all", "withdrawn"));
        Assert.Equal("hypertension", p.Attributes["diagnosis"]!.GetValue<string>());
    }

    [Fact]
    public void A_withdrawal_on_one_channel_does_not_remove_a_trait()
    {
        var p = Fold(Definitions,
            Consent("c1", 0, "sensitive-health", "all", "granted"),
            Identify("i1", 1, Traits()),
            Consent("c2", 2, "sensitive-health", "sms", "withdrawn"));
        Assert.True(p.Attributes.ContainsKey("diagnosis"));
    }

    [Fact]
    public void Removing_a_sensitive_trait_needs_no_consent()
    {
        var p = Fold(Definitions,
            Consent("c1", 0, "sensitive-health", "all", "granted"),
            Identify("i1", 1, Traits()));
        p.Consent.Current.Clear(); // as if consent were lost without an event; a null trait still removes
        ProfileFold.Apply(p, Identify("i2", 2, new JsonObject { ["diagnosis"] = null }), Definitions);
        Assert.False(p.Attributes.ContainsKey("diagnosis"));
    }

    [Fact]
    public void Without_definitions_nothing_is_sensitive()
    {
        var p = Fold(null, Identify("i1", 0, Traits()));
        Assert.Equal("hypertension", p.Attributes["diagnosis"]!.GetValue<string>());
        var q = Fold(DataDefinitions.None, Identify("i1", 0, Traits()), Consent("c1", 1, "sensitive-health", "all", "withdrawn"));
        Assert.True(q.Attributes.ContainsKey("diagnosis"));
    }

    [Fact]
    public void Consent_events_and_WeChat_follows_fold_into_the_consent_state()
    {
        var p = Fold(Definitions,
            Consent("c1", 0, "marketing", "sms", "granted"),
            Track("w1", 1, "wechat.subscribe"),
            Track("w2", 2, "wechat.subscribe_msg_popup", new JsonObject
            {
                ["appKind"] = "miniProgram",
                ["items"] = new JsonArray(new JsonObject { ["templateId"] = "T1", ["subscribeStatus"] = "accept" }),
            }),
            Track("w3", 3, "wechat.unsubscribe"));

        Assert.True(p.Consent.IsGranted("marketing", "sms"));
        Assert.Equal(ConsentStatus.Withdrawn, p.Consent.Governing("marketing", "wechat_oa")!.Status);
        Assert.True(p.Consent.IsGranted("marketing", "miniprogram_subscribe", "T1"));
        Assert.Equal(1, p.Consent.Entitlements["T1"]);
        Assert.Equal(4, p.EventCount);
        Assert.Equal(1, p.Counters["consent"].Count);
        Assert.Equal("consent", p.Recent[^1].Name);
    }

    [Fact]
    public void The_same_events_in_any_order_give_the_same_consent_and_attributes_when_consent_comes_first()
    {
        var events = new[]
        {
            Consent("c1", 0, "sensitive-health", "all", "granted"),
            Consent("c2", 10, "marketing", "all", "withdrawn"),
            Consent("c3", 5, "marketing", "email", "granted"),
            Consent("c4", 20, "marketing", "email", "granted"),
        };
        var forward = Fold(Definitions, [.. events, Identify("i1", 30, Traits())]);
        var backward = Fold(Definitions, [.. events.Reverse(), Identify("i1", 30, Traits())]);
        Assert.Equal(forward.Consent.Current.OrderBy(kv => kv.Key), backward.Consent.Current.OrderBy(kv => kv.Key));
        Assert.Equal(forward.Attributes.Keys.Order(), backward.Attributes.Keys.Order());
        Assert.True(forward.Attributes.ContainsKey("diagnosis"));
        Assert.True(forward.Consent.IsGranted("marketing", "email"));
        Assert.False(forward.Consent.IsGranted("marketing", "sms"));
    }

    [Fact]
    public void The_fold_stores_history_free_of_sensitive_traits_when_asked()
    {
        var e = Identify("i1", 0, Traits());
        var kept = Definitions.ForHistory(e);
        Assert.False(kept.Traits!.ContainsKey("diagnosis"));
        Assert.True(kept.Traits.ContainsKey("name"));
    }

    [Fact]
    public void A_profile_view_hides_sensitive_attributes_from_roles_that_may_not_see_them()
    {
        var p = Fold(Definitions,
            Consent("c1", 0, "sensitive-health", "all", "granted"),
            Identify("i1", 1, Traits()));
        Assert.Equal(["name"], Definitions.Visible(p.Attributes, maySeeSensitive: false).Keys);
        Assert.Equal(["diagnosis", "name"], Definitions.Visible(p.Attributes, maySeeSensitive: true).Keys.Order(StringComparer.Ordinal));
    }
}
