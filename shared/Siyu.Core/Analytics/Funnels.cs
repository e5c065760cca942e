namespace Siyu.Core.Analytics;

/// <summary>One step of a funnel's result: how many reached it, and the conversion from the step before and from the first.</summary>
public sealed record FunnelStep(int Step, string Event, long People, Proportion FromPrevious, Proportion FromFirst);

/// <summary>
/// Ordered funnels: a person reaches step k when they did step 1, then step 2, …, then step k, each after the one
/// before, all within the window from that step 1. Every step-1 occurrence in the range is tried as a start and the
/// furthest any of them reaches counts, so a person who browsed twice and bought after the second visit converts.
/// Pure.
/// </summary>
public static class Funnels
{
    /// <summary>How many steps one person's events reach (0: none). Events in any order; times are the events' own.</summary>
    public static int StepsReached(IEnumerable<(string Name, DateTimeOffset At)> events, AnalysisRequest funnel)
    {
        var steps = funnel.Steps ?? [];
        if (steps.Count == 0) return 0;
        var ordered = events.Where(e => steps.Contains(e.Name)).OrderBy(e => e.At).ToList();
        var window = TimeSpan.FromDays(funnel.WindowDays);
        var best = 0;
        for (var s = 0; s < ordered.Count && best < steps.Count; s++)
        {
            var start = ordered[s];
            if (start.Name != steps[0] || !InRange(start.At, funnel)) continue;
            var reached = 1;
            for (var i = s + 1; i < ordered.Count && reached < steps.Count; i++)
            {
                if (ordered[i].At - start.At > window) break;
                if (ordered[i].Name == steps[reached] && ordered[i].At >= start.At) reached++;
            }
            best = Math.Max(best, reached);
        }
        return best;
    }

    private static bool InRange(DateTimeOffset at, AnalysisRequest f)
    {
        var day = DateOnly.ParseExact(TimeSlots.Day(at), "yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture);
        return (f.From is not { } from || day >= from) && (f.To is not { } to || day <= to);
    }

    /// <summary>Adds one person who reached <paramref name="steps"/> steps to the partial's counts.</summary>
    public static void Count(AnalysisPartial partial, int stepCount, int steps)
    {
        partial.Reached ??= new long[stepCount];
        for (var i = 0; i < steps && i < stepCount; i++) partial.Reached[i]++;
    }

    public static IReadOnlyList<FunnelStep> Result(AnalysisRequest funnel, AnalysisPartial total)
    {
        var steps = funnel.Steps ?? [];
        var reached = total.Reached ?? new long[steps.Count];
        return steps.Select((name, i) => new FunnelStep(i + 1, name, reached[i],
            Proportions.Of(reached[i], i == 0 ? total.People : reached[i - 1]),
            Proportions.Of(reached[i], i == 0 ? total.People : reached[0]))).ToList();
    }
}

/// <summary>One cohort: people first seen in a week, and the share of them active in each week since (week 0 is their first).</summary>
public sealed record CohortRow(string Week, long People, IReadOnlyList<long> Active, IReadOnlyList<double?> Share);

/// <summary>
/// Cohort tables from the profile's own activity (events per day, kept 180 days on the profile): a person's cohort is
/// the week they were first seen; they are active in a later week when they did anything in it. Pure.
/// </summary>
public static class Cohorts
{
    /// <summary>Adds one person, first seen at <paramref name="firstSeen"/> and active on <paramref name="activeDays"/>, to the partial.</summary>
    public static void Count(AnalysisPartial partial, DateTimeOffset firstSeen, IEnumerable<DateTimeOffset> activeDays, int weeks, DateTimeOffset now)
    {
        var age = TimeSlots.WeeksBetween(firstSeen, now);
        if (age < 0 || age >= weeks) return;
        partial.Cohorts ??= new(StringComparer.Ordinal);
        var week = TimeSlots.Week(firstSeen);
        if (!partial.Cohorts.TryGetValue(week, out var row)) partial.Cohorts[week] = row = new long[weeks + 1];
        row[0]++;
        foreach (var offset in activeDays.Select(d => TimeSlots.WeeksBetween(firstSeen, d)).Where(o => o >= 0 && o < weeks).Distinct())
            row[offset + 1]++;
    }

    public static IReadOnlyList<CohortRow> Result(AnalysisPartial total, int weeks, DateTimeOffset now) =>
        (total.Cohorts ?? new(StringComparer.Ordinal)).Select(kv =>
        {
            var people = kv.Value[0];
            // Weeks that have not happened yet for this cohort are not zero: they are left out.
            var firstMonday = kv.Key;
            var elapsed = Math.Min(weeks, WeeksSince(firstMonday, now) + 1);
            var active = kv.Value.Skip(1).Take(elapsed).ToList();
            return new CohortRow(kv.Key, people, active, active.Select(a => people == 0 ? (double?)null : Math.Round((double)a / people, 4)).ToList());
        }).OrderByDescending(r => r.Week, StringComparer.Ordinal).ToList();

    private static int WeeksSince(string isoWeek, DateTimeOffset now)
    {
        var year = int.Parse(isoWeek[..4], System.Globalization.CultureInfo.InvariantCulture);
        var week = int.Parse(isoWeek[6..], System.Globalization.CultureInfo.InvariantCulture);
        var monday = System.Globalization.ISOWeek.ToDateTime(year, week, DayOfWeek.Monday);
        return TimeSlots.WeeksBetween(new DateTimeOffset(monday, TimeSlots.ChinaOffset), now);
    }
}
