namespace Siyu.Core.Traits;

/// <summary>
/// A tenant's thresholds for lifecycle stages and RFM scores. Stored as JSON (web defaults, camelCase); properties
/// left out keep their defaults, which suit a typical Chinese retail brand. Check with <see cref="Validate"/> before saving.
/// </summary>
public sealed record TraitSettings
{
    /// <summary>Each RFM score has this many boundaries, splitting people into scores 1-5.</summary>
    public const int BoundaryCount = 4;

    /// <summary>Ten years: longer windows are typing mistakes, not marketing choices.</summary>
    public const int MaxDays = 3650;

    public static TraitSettings Default { get; } = new();

    /// <summary>First seen at most this many whole days ago: "new", whatever else they did.</summary>
    public int NewWithinDays { get; init; } = 14;

    /// <summary>Last seen at most this many whole days ago: "active".</summary>
    public int ActiveWithinDays { get; init; } = 30;

    /// <summary>Last seen more than this many whole days ago: "dormant". Between active and dormant is "churn_risk".</summary>
    public int DormantAfterDays { get; init; } = 90;

    /// <summary>Days since the last order, ascending: at most the first gives R=5, at most the second R=4, … beyond the last R=1.</summary>
    public IReadOnlyList<int> RecencyDays { get; init; } = [30, 90, 180, 365];

    /// <summary>Order counts, ascending: at least the last gives F=5, at least the third F=4, … below the first F=1.</summary>
    public IReadOnlyList<int> FrequencyOrders { get; init; } = [2, 3, 5, 10];

    /// <summary>Order totals in <see cref="Currency"/>, ascending: at least the last gives M=5, … below the first M=1.</summary>
    public IReadOnlyList<decimal> MonetaryTotals { get; init; } = [200m, 500m, 1000m, 3000m];

    /// <summary>The currency M is scored in. Orders in other currencies are not converted: they do not count.</summary>
    public string Currency { get; init; } = "CNY";

    /// <summary>A score at least this counts as "high" when choosing the RFM segment.</summary>
    public int HighScore { get; init; } = 3;

    /// <summary>Every problem with these settings, each starting with its JSON field name; empty when they are valid.</summary>
    public IReadOnlyList<string> Validate()
    {
        var problems = new List<string>();
        if (NewWithinDays is < 1 or > MaxDays) problems.Add($"newWithinDays: must be 1-{MaxDays}");
        if (ActiveWithinDays < 1) problems.Add("activeWithinDays: must be at least 1");
        if (DormantAfterDays > MaxDays) problems.Add($"dormantAfterDays: must be at most {MaxDays}");
        if (ActiveWithinDays >= DormantAfterDays) problems.Add("dormantAfterDays: must be greater than activeWithinDays");
        CheckBoundaries("recencyDays", RecencyDays, problems);
        CheckBoundaries("frequencyOrders", FrequencyOrders, problems);
        CheckBoundaries("monetaryTotals", MonetaryTotals, problems);
        if (Currency is null || Currency.Length != 3 || !Currency.All(char.IsAsciiLetterUpper))
            problems.Add("currency: must be a three-letter upper-case ISO 4217 code such as CNY");
        if (HighScore is < 2 or > 5) problems.Add("highScore: must be 2-5");
        return problems;
    }

    // Null is possible when the JSON says "field": null.
    private static void CheckBoundaries<T>(string field, IReadOnlyList<T>? boundaries, List<string> problems) where T : struct, IComparable<T>
    {
        if (boundaries is null || boundaries.Count != BoundaryCount)
        {
            problems.Add($"{field}: must have exactly {BoundaryCount} boundaries");
            return;
        }
        if (boundaries.Any(b => b.CompareTo(default) <= 0)) problems.Add($"{field}: boundaries must be positive");
        for (var i = 1; i < boundaries.Count; i++)
            if (boundaries[i].CompareTo(boundaries[i - 1]) <= 0)
            {
                problems.Add($"{field}: boundaries must be strictly ascending");
                break;
            }
    }
}
