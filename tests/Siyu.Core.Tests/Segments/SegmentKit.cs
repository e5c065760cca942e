using System.Text.Json.Nodes;
using Siyu.Core.Consent;
using Siyu.Core.Profiles;
using Siyu.Core.Segments;

namespace Siyu.Core.Tests.Segments;

/// <summary>A tenant's taxonomy and saved segments, in memory.</summary>
internal sealed class TestCatalog : ISegmentCatalog
{
    public HashSet<string> Tags { get; } = new(StringComparer.Ordinal) { "core-fan", "vip", "lactose-free", "会员-金卡" };
    public Dictionary<string, JsonNode> Rules { get; } = new(StringComparer.Ordinal);

    public TestCatalog With(string id, string ruleJson)
    {
        Rules[id] = JsonNode.Parse(ruleJson)!;
        return this;
    }

    public bool TagExists(string tag) => Tags.Contains(tag);

    public JsonNode? RuleOf(string segmentId) => Rules.GetValueOrDefault(segmentId);
}

internal static class SegmentKit
{
    /// <summary>10:00 on 20 May 2026 in China (02:00 UTC).</summary>
    public static readonly DateTimeOffset Now = new(2026, 5, 20, 10, 0, 0, TimeSpan.FromHours(8));

    public static DateTimeOffset China(int month, int day, int hour = 12, int minute = 0, int second = 0) =>
        new(2026, month, day, hour, minute, second, TimeSpan.FromHours(8));

    public static ProfileState NewProfile() => ProfileState.New("p0000000000000000001", Now.AddYears(-1));

    public static SegmentCondition Parse(string ruleJson, TestCatalog? catalog = null, string id = "seg")
    {
        var errors = new List<string>();
        var rule = SegmentRules.Parse(id, JsonNode.Parse(ruleJson), catalog ?? new TestCatalog(), errors);
        Assert.Empty(errors);
        return Assert.IsAssignableFrom<SegmentCondition>(rule);
    }

    public static List<string> Errors(string ruleJson, TestCatalog? catalog = null, string id = "seg")
    {
        var errors = new List<string>();
        Assert.Null(SegmentRules.Parse(id, JsonNode.Parse(ruleJson), catalog ?? new TestCatalog(), errors));
        Assert.NotEmpty(errors);
        return errors;
    }

    public static bool Matches(string ruleJson, ProfileState p, TestCatalog? catalog = null) =>
        Parse(ruleJson, catalog).Matches(p, new SegmentContext(Now, _ => null));

    public static SegmentDefinition Define(string id, string ruleJson, TestCatalog? catalog = null)
    {
        var errors = new List<string>();
        var definition = SegmentRules.Define(id, "Segment " + id, null, JsonNode.Parse(ruleJson), catalog ?? new TestCatalog(), errors);
        Assert.Empty(errors);
        return definition!;
    }

    public static ConsentDecision Decision(string purpose, string channel, ConsentStatus status, DateTimeOffset at) => new()
    {
        Id = $"d-{purpose}-{channel}-{at.UtcTicks}",
        Purpose = purpose,
        Channel = channel,
        Status = status,
        Source = "test",
        OccurredAt = at,
    };

    /// <summary>Records <paramref name="times"/> events on a day, as if received now.</summary>
    public static void Did(ProfileState p, string name, DateTimeOffset at, int times = 1)
    {
        for (var i = 0; i < times; i++)
        {
            ActivityWindow.Record(p, name, at, Now);
            if (!p.Counters.TryGetValue(name, out var counter)) p.Counters[name] = counter = new EventCounter { First = at, Last = at };
            counter.Count++;
        }
    }
}
