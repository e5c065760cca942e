namespace Siyu.Core.Traits;

/// <summary>
/// The eight RFM tiers Chinese CRMs sort customers into, from whether recency, frequency and monetary value are
/// high or low. The codes are stable; the Chinese names are what marketers see.
/// </summary>
public static class RfmSegments
{
    /// <summary>R high, F high, M high.</summary>
    public const string ImportantValue = "important_value";
    /// <summary>R high, F low, M high.</summary>
    public const string ImportantDevelop = "important_develop";
    /// <summary>R low, F high, M high.</summary>
    public const string ImportantMaintain = "important_maintain";
    /// <summary>R low, F low, M high.</summary>
    public const string ImportantRetain = "important_retain";
    /// <summary>R high, F high, M low.</summary>
    public const string GeneralValue = "general_value";
    /// <summary>R high, F low, M low.</summary>
    public const string GeneralDevelop = "general_develop";
    /// <summary>R low, F high, M low.</summary>
    public const string GeneralMaintain = "general_maintain";
    /// <summary>R low, F low, M low.</summary>
    public const string GeneralRetain = "general_retain";

    /// <summary>Most valuable first.</summary>
    public static IReadOnlyList<string> All { get; } =
        [ImportantValue, ImportantDevelop, ImportantMaintain, ImportantRetain, GeneralValue, GeneralDevelop, GeneralMaintain, GeneralRetain];

    private static readonly Dictionary<string, string> Chinese = new(StringComparer.Ordinal)
    {
        [ImportantValue] = "重要价值",
        [ImportantDevelop] = "重要发展",
        [ImportantMaintain] = "重要保持",
        [ImportantRetain] = "重要挽留",
        [GeneralValue] = "一般价值",
        [GeneralDevelop] = "一般发展",
        [GeneralMaintain] = "一般保持",
        [GeneralRetain] = "一般挽留",
    };

    /// <summary>The name marketers know the segment by, or null for a code that is not one of <see cref="All"/>.</summary>
    public static string? ChineseName(string segment) => Chinese.GetValueOrDefault(segment);

    /// <summary>The tier for high (true) or low (false) recency, frequency and monetary value.</summary>
    public static string Of(bool recencyHigh, bool frequencyHigh, bool monetaryHigh) => (recencyHigh, frequencyHigh, monetaryHigh) switch
    {
        (true, true, true) => ImportantValue,
        (true, false, true) => ImportantDevelop,
        (false, true, true) => ImportantMaintain,
        (false, false, true) => ImportantRetain,
        (true, true, false) => GeneralValue,
        (true, false, false) => GeneralDevelop,
        (false, true, false) => GeneralMaintain,
        (false, false, false) => GeneralRetain,
    };
}
