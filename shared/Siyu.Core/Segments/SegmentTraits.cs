using Siyu.Core.Conditions;

namespace Siyu.Core.Segments;

internal enum SegmentTrait
{
    Lifecycle, RfmSegment, RecencyScore, FrequencyScore, MonetaryScore, OrderCount, OrderTotal, DaysSinceLastOrder, DaysSinceLastSeen, EventCount,
}

/// <summary>
/// The traits a segment rule may test: computed ones (lifecycle stage, RFM) and figures read off the profile.
/// Their values are fixed vocabularies or numbers, so a rule naming a value that cannot occur is refused when saved.
/// </summary>
public static class SegmentTraits
{
    /// <summary>Order totals in rules are in this currency.</summary>
    public const string OrderCurrency = "CNY";

    /// <summary>In the order of <see cref="SegmentTrait"/>.</summary>
    public static readonly IReadOnlyList<string> Names =
        ["lifecycle", "rfmSegment", "recencyScore", "frequencyScore", "monetaryScore", "orderCount", "orderTotal", "daysSinceLastOrder", "daysSinceLastSeen", "eventCount"];

    public static readonly IReadOnlyList<string> Lifecycles = ["new", "active", "churn_risk", "dormant"];

    public static readonly IReadOnlyList<string> RfmSegments =
    [
        "important_value", "important_develop", "important_maintain", "important_retain",
        "general_value", "general_develop", "general_maintain", "general_retain",
    ];

    public const int MinScore = 1;
    public const int MaxScore = 5;

    /// <summary>Operators for the two vocabulary traits: text matching ("contains") makes no sense on a closed set.</summary>
    internal static readonly ComparisonOp[] VocabularyOps =
        [ComparisonOp.Eq, ComparisonOp.Ne, ComparisonOp.In, ComparisonOp.NotIn, ComparisonOp.Exists, ComparisonOp.NotExists];

    internal static bool TryParse(string name, out SegmentTrait trait)
    {
        for (var i = 0; i < Names.Count; i++)
        {
            if (!string.Equals(Names[i], name, StringComparison.Ordinal)) continue;
            trait = (SegmentTrait)i;
            return true;
        }
        trait = default;
        return false;
    }

    internal static ComparisonType TypeOf(SegmentTrait trait) =>
        trait is SegmentTrait.Lifecycle or SegmentTrait.RfmSegment ? ComparisonType.String : ComparisonType.Number;

    /// <summary>The values a vocabulary trait takes, or null for a numeric one.</summary>
    internal static IReadOnlyList<string>? VocabularyOf(SegmentTrait trait) => trait switch
    {
        SegmentTrait.Lifecycle => Lifecycles,
        SegmentTrait.RfmSegment => RfmSegments,
        _ => null,
    };

    internal static bool IsScore(SegmentTrait trait) =>
        trait is SegmentTrait.RecencyScore or SegmentTrait.FrequencyScore or SegmentTrait.MonetaryScore;
}
