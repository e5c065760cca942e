namespace Siyu.Core.Analytics;

/// <summary>A share with its 95 % confidence interval.</summary>
public sealed record Proportion(long Successes, long Trials, double? Rate, double? Low, double? High);

/// <summary>A branch's conversion beside its control's: the difference (branch − control) and its 95 % interval.</summary>
public sealed record Lift(double Difference, double Low, double High, bool Significant);

/// <summary>
/// Conversion rates as marketers read them: the Wilson score interval for one rate (honest at small counts and near
/// 0 or 1, where the normal approximation gives intervals outside [0, 1]), and Newcombe's hybrid score interval for
/// the difference of two (built from the two Wilson intervals). Pure.
/// </summary>
public static class Proportions
{
    /// <summary>z for a two-sided 95 % interval.</summary>
    public const double Z95 = 1.959963984540054;

    public static Proportion Of(long successes, long trials)
    {
        if (trials <= 0) return new Proportion(successes, trials, null, null, null);
        var (low, high) = Wilson(successes, trials);
        return new Proportion(successes, trials, Round((double)successes / trials), Round(low), Round(high));
    }

    public static (double Low, double High) Wilson(long successes, long trials, double z = Z95)
    {
        if (trials <= 0) return (0, 1);
        var n = (double)trials;
        var p = Math.Clamp(successes / n, 0, 1);
        var z2 = z * z;
        var centre = (p + z2 / (2 * n)) / (1 + z2 / n);
        var half = z / (1 + z2 / n) * Math.Sqrt(p * (1 - p) / n + z2 / (4 * n * n));
        return (Math.Max(0, centre - half), Math.Min(1, centre + half));
    }

    /// <summary>Newcombe (1998) method 10: the difference p1 − p2 with a 95 % interval; null when either side has no trials.</summary>
    public static Lift? Difference(long successes1, long trials1, long successes2, long trials2)
    {
        if (trials1 <= 0 || trials2 <= 0) return null;
        var p1 = (double)successes1 / trials1;
        var p2 = (double)successes2 / trials2;
        var (l1, u1) = Wilson(successes1, trials1);
        var (l2, u2) = Wilson(successes2, trials2);
        var d = p1 - p2;
        var low = d - Math.Sqrt((p1 - l1) * (p1 - l1) + (u2 - p2) * (u2 - p2));
        var high = d + Math.Sqrt((u1 - p1) * (u1 - p1) + (p2 - l2) * (p2 - l2));
        return new Lift(Round(d), Round(low), Round(high), low > 0 || high < 0);
    }

    private static double Round(double x) => Math.Round(x, 4);
}
