using System.Text.Json.Nodes;
using Siyu.Core.Consent;
using Siyu.Core.Events;
using Siyu.Core.Identities;
using Siyu.Core.Privacy;
using Siyu.Core.Profiles;

namespace Siyu.Core.Tests.Privacy;

public class DataDefinitionsTests
{
    private static readonly DateTimeOffset T0 = DateTimeOffset.Parse("2024-05-01T08:00:00Z");

    private static readonly DataDefinitions Definitions = new(
    [
        new SensitiveAttribute("diagnosis", "sensitive-health"),
        new SensitiveAttribute("income", "sensitive-finance"),
        new SensitiveAttribute("birthYearOfChild", "sensitive-minor"),
    ]);

    private static ConsentDecision Decision(string id, string purpose, string channel, ConsentStatus status, DateTimeOffset at) => new()
    {
        Id = id, Purpose = purpose, Channel = channel, Status = status, Source = "store_form", OccurredAt = at,
    };

    private static IncomingEvent Identify(JsonObject traits) => new()
    {
        MessageId = "i-1",
        Type = EventType.Identify,
        Name = "identify",
        Identities = [new Identity(IdentityType.UserId, "u1")],
        Traits = traits,
        Timestamp = T0,
        ReceivedAt = T0,
        Source = "api",
    };

    [Fact]
    public void Declarations_are_looked_up_by_exact_name()
    {
        Assert.True(Definitions.IsSensitive("diagnosis"));
        Assert.False(Definitions.IsSensitive("Diagnosis"));
        Assert.False(Definitions.IsSensitive("name"));
        Assert.Equal("sensitive-finance", Definitions.PurposeOf("income"));
        Assert.Null(Definitions.PurposeOf("name"));
        Assert.Equal(3, Definitions.Sensitive.Count);
        Assert.Empty(DataDefinitions.None.Sensitive);
        Assert.False(DataDefinitions.None.IsSensitive("diagnosis"));
    }

    [Fact]
    public void Storing_needs_the_purpose_granted_for_all_channels()
    {
        var none = new ConsentState();
        Assert.False(Definitions.MayStore("diagnosis", none));
        Assert.True(Definitions.MayStore("name", none)); // not sensitive

        var onSmsOnly = new ConsentState();
        onSmsOnly.Apply(Decision("a", "sensitive-health", "sms", ConsentStatus.Granted, T0));
        Assert.False(Definitions.MayStore("diagnosis", onSmsOnly)); // storing is purpose-bound, not channel-bound

        var granted = new ConsentState();
        granted.Apply(Decision("a", "sensitive-health", "all", ConsentStatus.Granted, T0));
        Assert.True(Definitions.MayStore("diagnosis", granted));
        Assert.False(Definitions.MayStore("income", granted)); // another purpose

        granted.Apply(Decision("b", "sensitive-health", "all", ConsentStatus.Withdrawn, T0.AddDays(1)));
        Assert.False(Definitions.MayStore("diagnosis", granted));

        var denied = new ConsentState();
        denied.Apply(Decision("a", "sensitive-health", "all", ConsentStatus.Denied, T0));
        Assert.False(Definitions.MayStore("diagnosis", denied));
    }

    [Fact]
    public void Enforce_removes_what_may_no_longer_be_kept_and_says_what()
    {
        var p = ProfileState.New("p1", T0);
        p.Attributes["diagnosis"] = "x";
        p.Attributes["income"] = 100;
        p.Attributes["name"] = "张三";
        p.Consent.Apply(Decision("a", "sensitive-finance", "all", ConsentStatus.Granted, T0));

        var removed = Definitions.Enforce(p);

        Assert.Equal(["diagnosis"], removed);
        Assert.Equal(["income", "name"], p.Attributes.Keys.Order(StringComparer.Ordinal));
        Assert.Empty(Definitions.Enforce(p));
        Assert.Empty(DataDefinitions.None.Enforce(p));
    }

    [Fact]
    public void History_keeps_an_event_without_its_sensitive_traits()
    {
        var e = Identify(new JsonObject { ["name"] = "张三", ["diagnosis"] = "x", ["income"] = new JsonObject { ["band"] = 3 }, ["city"] = null });

        var kept = Definitions.ForHistory(e);

        Assert.Equal("""{"name":"张三","city":null}""", EventJson.Text(kept.Traits!));
        // The original event is untouched.
        Assert.Equal(4, e.Traits!.Count);
        Assert.True(e.Traits.ContainsKey("diagnosis"));
        Assert.Equal(e.MessageId, kept.MessageId);
        Assert.Equal(e.Timestamp, kept.Timestamp);
    }

    [Fact]
    public void History_keeps_an_event_without_sensitive_traits_as_it_is()
    {
        var plain = Identify(new JsonObject { ["name"] = "张三" });
        Assert.Same(plain, Definitions.ForHistory(plain));
        var noTraits = plain with { Traits = null, Type = EventType.Track, Name = "page_view" };
        Assert.Same(noTraits, Definitions.ForHistory(noTraits));
        var sensitive = Identify(new JsonObject { ["diagnosis"] = "x" });
        Assert.Same(sensitive, DataDefinitions.None.ForHistory(sensitive));
        Assert.Empty(Definitions.ForHistory(sensitive).Traits!);
    }

    [Fact]
    public void Only_allowed_roles_see_sensitive_attributes()
    {
        var attributes = new Dictionary<string, JsonNode?>
        {
            ["name"] = "张三",
            ["diagnosis"] = "x",
            ["income"] = 1,
            ["nickname"] = null,
        };

        var hidden = Definitions.Visible(attributes, maySeeSensitive: false);
        Assert.Equal(["name", "nickname"], hidden.Keys.Order(StringComparer.Ordinal));

        var all = Definitions.Visible(attributes, maySeeSensitive: true);
        Assert.Equal(4, all.Count);
        Assert.Equal(4, DataDefinitions.None.Visible(attributes, maySeeSensitive: false).Count);
        Assert.Equal(4, attributes.Count); // the input is not changed
    }
}
