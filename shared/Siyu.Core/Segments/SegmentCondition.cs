using System.Text.Json.Nodes;
using Siyu.Core.Conditions;
using Siyu.Core.Consent;
using Siyu.Core.Profiles;

namespace Siyu.Core.Segments;

/// <summary>
/// A parsed, validated segment rule (see <see cref="SegmentRules.Parse"/>). Evaluating one reads the profile only:
/// no JSON is parsed and nothing is looked up by name except the profile's own dictionaries.
/// </summary>
public abstract class SegmentCondition
{
    private protected SegmentCondition() { }

    public abstract bool Matches(ProfileState p, SegmentContext ctx);

    /// <summary>Ids of the segments this rule refers to, directly.</summary>
    public abstract IEnumerable<string> SegmentRefs { get; }
}

/// <summary>
/// One moment of evaluation: the time "in the last D days" counts back from, and how referenced segments are found.
/// It remembers each segment's result for the profile it last evaluated, so a segment referred to by many others
/// (or by the one being refreshed) is evaluated once.
/// </summary>
public sealed class SegmentContext(DateTimeOffset now, Func<string, SegmentCondition?> resolve)
{
    private readonly Dictionary<string, bool> _results = new(StringComparer.Ordinal);
    private readonly HashSet<string> _evaluating = new(StringComparer.Ordinal);
    private ProfileState? _resultsFor;

    public DateTimeOffset Now { get; } = now;

    /// <summary>A referenced segment's rule by id; null when there is no such segment (then nobody is in it).</summary>
    public Func<string, SegmentCondition?> Resolve { get; } = resolve;

    /// <summary>Is <paramref name="p"/> in the segment, by its rule as of <see cref="Now"/>?</summary>
    public bool IsMember(ProfileState p, string segmentId)
    {
        if (!ReferenceEquals(_resultsFor, p))
        {
            _results.Clear();
            _evaluating.Clear();
            _resultsFor = p;
        }
        if (_results.TryGetValue(segmentId, out var known)) return known;
        // Rules are checked for cycles when saved; this only keeps a cycle that slipped in from looping forever.
        if (!_evaluating.Add(segmentId)) return false;
        var result = Resolve(segmentId)?.Matches(p, this) ?? false;
        _evaluating.Remove(segmentId);
        _results[segmentId] = result;
        return result;
    }
}

internal sealed class AllCondition(SegmentCondition[] children) : SegmentCondition
{
    private readonly SegmentCondition[] _children = children;
    private readonly string[] _refs = RefsOf(children);

    public override bool Matches(ProfileState p, SegmentContext ctx)
    {
        foreach (var child in _children)
            if (!child.Matches(p, ctx)) return false;
        return true;
    }

    public override IEnumerable<string> SegmentRefs => _refs;

    internal static string[] RefsOf(SegmentCondition[] children) => children.SelectMany(c => c.SegmentRefs).Distinct(StringComparer.Ordinal).ToArray();
}

internal sealed class AnyCondition(SegmentCondition[] children) : SegmentCondition
{
    private readonly SegmentCondition[] _children = children;
    private readonly string[] _refs = AllCondition.RefsOf(children);

    public override bool Matches(ProfileState p, SegmentContext ctx)
    {
        foreach (var child in _children)
            if (child.Matches(p, ctx)) return true;
        return false;
    }

    public override IEnumerable<string> SegmentRefs => _refs;
}

internal sealed class NotCondition(SegmentCondition inner) : SegmentCondition
{
    public override bool Matches(ProfileState p, SegmentContext ctx) => !inner.Matches(p, ctx);

    public override IEnumerable<string> SegmentRefs => inner.SegmentRefs;
}

internal sealed class AttributeCondition(string attribute, Comparison comparison) : SegmentCondition
{
    public override bool Matches(ProfileState p, SegmentContext ctx) =>
        comparison.Matches(p.Attributes.GetValueOrDefault(attribute), ctx.Now);

    public override IEnumerable<string> SegmentRefs => [];
}

internal sealed class TraitCondition(SegmentTrait trait, Comparison comparison) : SegmentCondition
{
    public override bool Matches(ProfileState p, SegmentContext ctx) => trait switch
    {
        SegmentTrait.Lifecycle => comparison.MatchesText(p.Traits?.Lifecycle),
        SegmentTrait.RfmSegment => comparison.MatchesText(p.Traits?.Rfm?.Segment),
        SegmentTrait.RecencyScore => comparison.MatchesNumber(p.Traits?.Rfm?.R),
        SegmentTrait.FrequencyScore => comparison.MatchesNumber(p.Traits?.Rfm?.F),
        SegmentTrait.MonetaryScore => comparison.MatchesNumber(p.Traits?.Rfm?.M),
        SegmentTrait.OrderCount => comparison.MatchesNumber(p.Orders.Count),
        SegmentTrait.OrderTotal => comparison.MatchesNumber(p.Orders.Total.GetValueOrDefault(SegmentTraits.OrderCurrency)),
        SegmentTrait.DaysSinceLastOrder => comparison.MatchesNumber(DaysSince(p.Orders.Last, ctx.Now)),
        SegmentTrait.DaysSinceLastSeen => comparison.MatchesNumber(DaysSince(p.LastSeen, ctx.Now)),
        SegmentTrait.EventCount => comparison.MatchesNumber(p.EventCount),
        _ => false,
    };

    /// <summary>Calendar days in China time, as event windows count them: today is 0, yesterday 1.</summary>
    private static decimal? DaysSince(DateTimeOffset? at, DateTimeOffset now) =>
        at is { } t ? Math.Max(0, ActivityWindow.Day(now) - ActivityWindow.Day(t)) : null;

    public override IEnumerable<string> SegmentRefs => [];
}

internal sealed class TagCondition(string tag) : SegmentCondition
{
    public override bool Matches(ProfileState p, SegmentContext ctx) => p.Tags.ContainsKey(tag);

    public override IEnumerable<string> SegmentRefs => [];
}

/// <summary>The governing decision's status; a null <paramref name="status"/> asks for "no decision at all".</summary>
internal sealed class ConsentCondition(string purpose, string channel, ConsentStatus? status) : SegmentCondition
{
    public override bool Matches(ProfileState p, SegmentContext ctx) =>
        p.Consent.Governing(purpose, channel) is { } decision ? decision.Status == status : status is null;

    public override IEnumerable<string> SegmentRefs => [];
}

/// <summary>Did the event happen between <paramref name="atLeast"/> and <paramref name="atMost"/> times, in the window or ever?</summary>
internal sealed class EventCondition(string name, long atLeast, long? atMost, int? withinDays) : SegmentCondition
{
    public override bool Matches(ProfileState p, SegmentContext ctx)
    {
        long count = withinDays is { } days
            ? ActivityWindow.Count(p, name, days, ctx.Now)
            : p.Counters.TryGetValue(name, out var counter) ? counter.Count : 0;
        return count >= atLeast && (atMost is not { } most || count <= most);
    }

    public override IEnumerable<string> SegmentRefs => [];
}

internal sealed class SegmentRefCondition(string segmentId) : SegmentCondition
{
    private readonly string _segmentId = segmentId;
    private readonly string[] _refs = [segmentId];

    public override bool Matches(ProfileState p, SegmentContext ctx) => ctx.IsMember(p, _segmentId);

    public override IEnumerable<string> SegmentRefs => _refs;
}

/// <summary>Reading other segments' stored rules without parsing them.</summary>
internal static class SegmentJson
{
    /// <summary>The segment ids a stored rule refers to, read straight from its JSON (for cycle checks).</summary>
    public static IEnumerable<string> RefsIn(JsonNode? rule)
    {
        var found = new List<string>();
        if (ConditionJson.HasDuplicateKeys(rule)) return found;
        Walk(rule, 0);
        return found;

        void Walk(JsonNode? node, int depth)
        {
            if (node is not JsonObject o || depth > SegmentRules.MaxDepth * 2) return;
            if (o.TryGetPropertyValue("segment", out var id) && ConditionJson.TryString(id, out var text)) found.Add(text);
            foreach (var key in (ReadOnlySpan<string>)["and", "or"])
                if (o.TryGetPropertyValue(key, out var list) && list is JsonArray items)
                    foreach (var item in items) Walk(item, depth + 1);
            if (o.TryGetPropertyValue("not", out var inner)) Walk(inner, depth + 1);
        }
    }
}
