namespace Siyu.Core.Traits;

/// <summary>Where a person is in their life with the brand. The names are stable: segments and journeys match on them.</summary>
public static class LifecycleStages
{
    public const string New = "new";
    public const string Active = "active";
    public const string ChurnRisk = "churn_risk";
    public const string Dormant = "dormant";

    /// <summary>In the order a person moves through them when they go quiet.</summary>
    public static IReadOnlyList<string> All { get; } = [New, Active, ChurnRisk, Dormant];
}
