using Siyu.Core.Consent;

namespace Siyu.Core.Delivery;

/// <summary>
/// How many messages one person was sent per channel and local day, over the last <see cref="DaysKept"/> days: what
/// frequency caps are checked against, and per channel and local month for monthly caps. Days are the person's own
/// (their time zone), weeks start on Monday.
/// </summary>
public sealed class SendCounts
{
    public const int DaysKept = 8;

    /// <summary>Channel → local date (yyyy-MM-dd) → messages.</summary>
    public Dictionary<string, SortedDictionary<string, int>> Days { get; set; } = new(StringComparer.Ordinal);

    /// <summary>Channel → local month (yyyy-MM) → messages; this month and the last are kept.</summary>
    public Dictionary<string, SortedDictionary<string, int>> Months { get; set; } = new(StringComparer.Ordinal);

    public ContactHistory History(string channel, TimeZoneInfo zone, DateTimeOffset now)
    {
        var today = DateOnly.FromDateTime(TimeZoneInfo.ConvertTime(now, zone).DateTime);
        var month = Months.TryGetValue(channel, out var months) ? months.GetValueOrDefault(today.ToString("yyyy-MM")) : 0;
        if (!Days.TryGetValue(channel, out var days)) return new ContactHistory(0, 0, month);
        var monday = today.AddDays(-(((int)today.DayOfWeek + 6) % 7));
        int day = 0, week = 0;
        foreach (var (text, count) in days)
        {
            if (!DateOnly.TryParseExact(text, "yyyy-MM-dd", out var date)) continue;
            if (date == today) day += count;
            if (date >= monday && date <= today) week += count;
        }
        return new ContactHistory(day, week, month);
    }

    /// <summary>Counts one message sent now, and forgets days older than <see cref="DaysKept"/>.</summary>
    public void Record(string channel, TimeZoneInfo zone, DateTimeOffset now)
    {
        var today = DateOnly.FromDateTime(TimeZoneInfo.ConvertTime(now, zone).DateTime);
        if (!Days.TryGetValue(channel, out var days)) Days[channel] = days = new SortedDictionary<string, int>(StringComparer.Ordinal);
        var key = today.ToString("yyyy-MM-dd");
        days[key] = days.GetValueOrDefault(key) + 1;
        var oldest = today.AddDays(-DaysKept).ToString("yyyy-MM-dd");
        foreach (var old in days.Keys.Where(k => string.CompareOrdinal(k, oldest) < 0).ToList()) days.Remove(old);
        if (!Months.TryGetValue(channel, out var months)) Months[channel] = months = new SortedDictionary<string, int>(StringComparer.Ordinal);
        var thisMonth = today.ToString("yyyy-MM");
        months[thisMonth] = months.GetValueOrDefault(thisMonth) + 1;
        var lastMonth = today.AddMonths(-1).ToString("yyyy-MM");
        foreach (var old in months.Keys.Where(k => string.CompareOrdinal(k, lastMonth) < 0).ToList()) months.Remove(old);
    }
}
