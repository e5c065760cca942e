using System.Text.Json.Nodes;

namespace Siyu.Core.Analytics;

/// <summary>The analyses a job can run over every profile partition.</summary>
public static class AnalysisKinds
{
    public const string Funnel = "funnel";
    public const string Cohort = "cohort";
    /// <summary>Consent shares, RFM tiers, lifecycle stages, segment sizes and withdrawals per day, as of the job.</summary>
    public const string Audience = "audience";

    public static readonly string[] All = [Funnel, Cohort, Audience];
}

/// <summary>
/// What an analysis job is asked: a funnel (ordered event names, each within <see cref="WindowDays"/> of the first,
/// first steps taken from <see cref="From"/> to <see cref="To"/>), a cohort table (first-seen week × share active in
/// each later week, for the last <see cref="Weeks"/> weeks), or the audience snapshot.
/// </summary>
public sealed record AnalysisRequest(string Kind, IReadOnlyList<string>? Steps = null, int WindowDays = 7, DateOnly? From = null, DateOnly? To = null, int Weeks = 8)
{
    public const int MaxSteps = 8;
    public const int MaxWindowDays = 90;
    public const int MaxWeeks = 25; // the profile keeps 180 days of activity

    private static readonly string[] Known = ["kind", "steps", "windowDays", "from", "to", "weeks"];

    /// <summary>Reads a job request; every problem is added to <paramref name="errors"/> as (field, message).</summary>
    public static AnalysisRequest? Parse(JsonObject? doc, List<(string Field, string Message)> errors)
    {
        if (doc is null) { errors.Add(("", "an analysis is a JSON object such as {\"kind\": \"funnel\", \"steps\": [\"view\", \"add_to_cart\", \"order_paid\"], \"windowDays\": 7}")); return null; }
        foreach (var (k, _) in doc)
            if (!Known.Contains(k)) errors.Add((k, $"unknown field '{k}'; an analysis has {string.Join(", ", Known)}"));
        var kind = Text(doc, "kind", errors);
        if (kind is null) { errors.Add(("kind", $"required: one of {string.Join(", ", AnalysisKinds.All)}")); return null; }
        if (!AnalysisKinds.All.Contains(kind)) { errors.Add(("kind", $"'{kind}' is not one of {string.Join(", ", AnalysisKinds.All)}")); return null; }

        var request = new AnalysisRequest(kind);
        if (kind == AnalysisKinds.Funnel)
        {
            var steps = new List<string>();
            if (doc["steps"] is not JsonArray array) errors.Add(("steps", $"required: 2 to {MaxSteps} event names, in order"));
            else
            {
                for (var i = 0; i < array.Count; i++)
                {
                    if (array[i] is JsonValue v && v.TryGetValue<string>(out var name) && name.Length is > 0 and <= 100 && !name.Any(char.IsControl)) steps.Add(name);
                    else errors.Add(($"steps[{i}]", "an event name: 1-100 characters"));
                }
                if (array.Count is < 2 or > MaxSteps) errors.Add(("steps", $"2 to {MaxSteps} steps; this has {array.Count}"));
            }
            var window = Int(doc, "windowDays", errors) ?? 7;
            if (window is < 1 or > MaxWindowDays) errors.Add(("windowDays", $"1 to {MaxWindowDays} days"));
            var from = Day(doc, "from", errors);
            var to = Day(doc, "to", errors);
            if (from is { } f && to is { } t && t < f) errors.Add(("to", "must not be before 'from'"));
            request = request with { Steps = steps, WindowDays = window, From = from, To = to };
        }
        else if (doc["steps"] is not null || doc["windowDays"] is not null) errors.Add(("steps", "only a funnel has steps and windowDays"));
        if (kind == AnalysisKinds.Cohort)
        {
            var weeks = Int(doc, "weeks", errors) ?? 8;
            if (weeks is < 1 or > MaxWeeks) errors.Add(("weeks", $"1 to {MaxWeeks} weeks"));
            request = request with { Weeks = weeks };
        }
        return request;
    }

    private static string? Text(JsonObject doc, string name, List<(string, string)> errors)
    {
        if (doc[name] is null) return null;
        if (doc[name] is JsonValue v && v.TryGetValue<string>(out var s)) return s;
        errors.Add((name, "must be a string"));
        return null;
    }

    private static int? Int(JsonObject doc, string name, List<(string, string)> errors)
    {
        if (doc[name] is null) return null;
        if (doc[name] is JsonValue v && v.TryGetValue<int>(out var n)) return n;
        errors.Add((name, "must be a whole number"));
        return null;
    }

    private static DateOnly? Day(JsonObject doc, string name, List<(string, string)> errors)
    {
        var text = Text(doc, name, errors);
        if (text is null) return null;
        if (TimeSlots.TryParseDay(text, out var day)) return day;
        errors.Add((name, "a day as yyyy-MM-dd (China time)"));
        return null;
    }
}

/// <summary>
/// One partition's share of an analysis, and the sum of them: counts only, never anyone's data (it travels through
/// the orchestration's history). Every field adds, so partials can be summed in any order.
/// </summary>
public sealed class AnalysisPartial
{
    public long People { get; set; }
    /// <summary>Funnel: people who reached each step.</summary>
    public long[]? Reached { get; set; }
    /// <summary>Cohort: first-seen week → [size, active in week +1, +2, …].</summary>
    public SortedDictionary<string, long[]>? Cohorts { get; set; }
    public SortedDictionary<string, long>? ConsentGranted { get; set; }
    public SortedDictionary<string, long>? ConsentWithdrawn { get; set; }
    public SortedDictionary<string, long>? WithdrawalsByDay { get; set; }
    public SortedDictionary<string, long>? Rfm { get; set; }
    public SortedDictionary<string, long>? Lifecycle { get; set; }
    public SortedDictionary<string, long>? Segments { get; set; }

    public void Add(AnalysisPartial other)
    {
        People += other.People;
        if (other.Reached is { } r)
        {
            Reached ??= new long[r.Length];
            for (var i = 0; i < r.Length && i < Reached.Length; i++) Reached[i] += r[i];
        }
        if (other.Cohorts is { } c)
        {
            Cohorts ??= new(StringComparer.Ordinal);
            foreach (var (week, row) in c)
            {
                if (!Cohorts.TryGetValue(week, out var mine)) Cohorts[week] = mine = new long[row.Length];
                for (var i = 0; i < row.Length && i < mine.Length; i++) mine[i] += row[i];
            }
        }
        ConsentGranted = Sum(ConsentGranted, other.ConsentGranted);
        ConsentWithdrawn = Sum(ConsentWithdrawn, other.ConsentWithdrawn);
        WithdrawalsByDay = Sum(WithdrawalsByDay, other.WithdrawalsByDay);
        Rfm = Sum(Rfm, other.Rfm);
        Lifecycle = Sum(Lifecycle, other.Lifecycle);
        Segments = Sum(Segments, other.Segments);
    }

    /// <summary>Counts one more under <paramref name="key"/>, making the counts when there are none yet.</summary>
    public static SortedDictionary<string, long> Bump(SortedDictionary<string, long>? counts, string key, long by = 1)
    {
        counts ??= new(StringComparer.Ordinal);
        counts[key] = counts.GetValueOrDefault(key) + by;
        return counts;
    }

    private static SortedDictionary<string, long>? Sum(SortedDictionary<string, long>? mine, SortedDictionary<string, long>? other)
    {
        if (other is null) return mine;
        mine ??= new(StringComparer.Ordinal);
        foreach (var (k, n) in other) mine[k] = mine.GetValueOrDefault(k) + n;
        return mine;
    }
}
