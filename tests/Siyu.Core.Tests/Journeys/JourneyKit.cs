using System.Text.Json.Nodes;
using Siyu.Core.Consent;
using Siyu.Core.Journeys;
using Siyu.Core.Profiles;
using Siyu.Core.Segments;

namespace Siyu.Core.Tests.Journeys;

/// <summary>A tenant's tag taxonomy and saved segments, as a journey is checked against them.</summary>
internal sealed class JourneyCatalog : ISegmentCatalog
{
    public HashSet<string> Tags { get; } = new(StringComparer.Ordinal) { "vip", "cart-abandoner", "coupon-sent", "welcomed" };

    public Dictionary<string, JsonNode> Segments { get; } = new(StringComparer.Ordinal)
    {
        ["new-members"] = JsonNode.Parse("""{"event": "member_joined", "withinDays": 7}""")!,
        ["big-spenders"] = JsonNode.Parse("""{"trait": "orderTotal", "op": "gte", "value": 1000}""")!,
    };

    public bool TagExists(string tag) => Tags.Contains(tag);

    public JsonNode? RuleOf(string segmentId) => Segments.GetValueOrDefault(segmentId);
}

internal static class JourneyKit
{
    /// <summary>08:00 on 20 May 2026 in China (00:00 UTC).</summary>
    public static readonly DateTimeOffset Now = new(2026, 5, 20, 8, 0, 0, TimeSpan.FromHours(8));

    public const string JourneyId = "cart-recovery";
    public const string ProfileId = "p0000000000000000001";

    /// <summary>The cart-recovery journey of the format document, node for node.</summary>
    public const string CartRecovery = """
        {
          "name": "Cart recovery",
          "description": "Remind people who left something in the cart; a coupon for half of those who still do not pay.",
          "entry": {"on": "event", "event": "add_to_cart", "reentry": "once"},
          "exitOn": [{"event": "unsubscribe"}],
          "goal": {"event": "order_paid", "within": "7d"},
          "start": "wait_pay",
          "nodes": {
            "wait_pay": {"type": "waitForEvent", "event": "order_paid", "timeout": "2h", "arrived": "done", "timedOut": "remind"},
            "remind": {
              "type": "send", "channel": "wechat_oa", "template": "cart_reminder",
              "variables": {"product": "{{context.event.product}}", "nickname": "{{attributes.nickname}}"},
              "next": "wait_pay_2"
            },
            "wait_pay_2": {"type": "waitForEvent", "event": "order_paid", "timeout": "1d", "arrived": "done", "timedOut": "offer"},
            "offer": {"type": "split", "branches": [
              {"name": "coupon", "weight": 50, "next": "give_coupon"},
              {"name": "control", "weight": 50, "control": true}
            ]},
            "give_coupon": {"type": "send", "channel": "sms", "template": "coupon_10", "variables": {"code": "CART10"}, "next": "done"},
            "done": {"type": "exit"}
          }
        }
        """;

    public static JourneyDefinition Parse(string json, JourneyCatalog? catalog = null)
    {
        var errors = new List<string>();
        var journey = JourneyParser.Parse(JsonNode.Parse(json), catalog ?? new JourneyCatalog(), errors);
        Assert.Empty(errors);
        return Assert.IsType<JourneyDefinition>(journey);
    }

    public static List<string> Errors(string json, JourneyCatalog? catalog = null)
    {
        var errors = new List<string>();
        Assert.Null(JourneyParser.Parse(JsonNode.Parse(json), catalog ?? new JourneyCatalog(), errors));
        Assert.NotEmpty(errors);
        return errors;
    }

    /// <summary>A journey entered through the API, with the given nodes and start: for tests of nodes alone.</summary>
    public static string WithNodes(string nodes, string start = "a") =>
        $$"""{"name": "Test", "entry": {"on": "api"}, "start": "{{start}}", "nodes": {{nodes}}}""";

    public static JourneyDefinition Nodes(string nodes, string start = "a") => Parse(WithNodes(nodes, start));

    public static List<string> NodeErrors(string nodes, string start = "a") => Errors(WithNodes(nodes, start));

    public static JourneyInstance NewRun(JourneyDefinition journey, string profileId = ProfileId, DateTimeOffset? at = null,
        JsonObject? context = null, int version = 1, int run = 1) =>
        JourneyInterpreter.NewRun(JourneyId, version, profileId, "0", run, context, "evt-1", journey, at ?? Now);

    public static StepInput Input(JourneyDefinition journey, DateTimeOffset now, ProfileState? profile = null, bool loaded = true,
        Func<string, SegmentCondition?>? segments = null) =>
        new(journey, profile, loaded, segments ?? (_ => null), now);

    /// <summary>A person with attributes, in the default time zone unless one is given.</summary>
    public static ProfileState Profile(string profileId = ProfileId, string? timeZone = null, params (string Name, JsonNode? Value)[] attributes)
    {
        var p = ProfileState.New(profileId, Now.AddYears(-1));
        foreach (var (name, value) in attributes) p.Attributes[name] = value;
        if (timeZone is not null) p.Preferences = new Preferences { TimeZone = timeZone };
        return p;
    }

    public static StepResult Enter(JourneyDefinition journey, JourneyInstance run, DateTimeOffset now, ProfileState? profile = null, bool loaded = true) =>
        JourneyInterpreter.Step(run, new Stimulus.Enter(), Input(journey, now, profile, loaded));

    /// <summary>Fires the timer the instance is armed with, at its due time (or at <paramref name="at"/>).</summary>
    public static StepResult Fire(JourneyDefinition journey, JourneyInstance run, ProfileState? profile = null, DateTimeOffset? at = null) =>
        JourneyInterpreter.Step(run, new Stimulus.TimerFired(run.Generation), Input(journey, at ?? run.DueAt!.Value, profile));

    public static Stimulus.EventArrived Event(string name, DateTimeOffset at, string? properties = null, string id = "evt-2") =>
        new(id, name, properties is null ? null : JsonNode.Parse(properties)!.AsObject(), at);

    public static JsonObject Json(string json) => JsonNode.Parse(json)!.AsObject();

    /// <summary>A profile id that the split sends to <paramref name="branch"/>, found by trying ids in order.</summary>
    public static string ProfileTaking(SplitNode split, string branch, string journeyId = JourneyId)
    {
        for (var n = 1; n < 10_000; n++)
        {
            var id = $"p{n:D19}";
            if (JourneyInterpreter.Pick(split, journeyId, id).Name == branch) return id;
        }
        throw new InvalidOperationException($"no profile takes {branch}");
    }
}
