using System.Globalization;

namespace Siyu.Core.Analytics;

/// <summary>
/// The time slots counters are kept in: China Standard Time days (<c>2026-12-04</c>) and minutes
/// (<c>2026-12-04T09:30</c>), which sort as text, so a range of slots is a range of row keys.
/// </summary>
public static class TimeSlots
{
    public static readonly TimeSpan ChinaOffset = TimeSpan.FromHours(8);

    public static string Day(DateTimeOffset at) => at.ToOffset(ChinaOffset).ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);

    public static string Minute(DateTimeOffset at) => at.ToOffset(ChinaOffset).ToString("yyyy-MM-dd'T'HH:mm", CultureInfo.InvariantCulture);

    /// <summary>The ISO week a moment falls in, China time: <c>2026-W49</c>.</summary>
    public static string Week(DateTimeOffset at)
    {
        var local = at.ToOffset(ChinaOffset).DateTime;
        return $"{ISOWeek.GetYear(local):D4}-W{ISOWeek.GetWeekOfYear(local):D2}";
    }

    /// <summary>Whole weeks from the week of <paramref name="first"/> to the week of <paramref name="later"/> (China time).</summary>
    public static int WeeksBetween(DateTimeOffset first, DateTimeOffset later)
    {
        static DateTime Monday(DateTimeOffset at)
        {
            var d = at.ToOffset(ChinaOffset).Date;
            return d.AddDays(-(((int)d.DayOfWeek + 6) % 7));
        }
        return (int)((Monday(later) - Monday(first)).TotalDays / 7);
    }

    /// <summary>Reads a day slot (yyyy-MM-dd); false when it is not one.</summary>
    public static bool TryParseDay(string? text, out DateOnly day) =>
        DateOnly.TryParseExact(text, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out day);
}
