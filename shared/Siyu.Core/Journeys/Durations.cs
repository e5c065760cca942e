using System.Globalization;
using System.Text;

namespace Siyu.Core.Journeys;

/// <summary>
/// Durations as marketers write them: <c>30s</c>, <c>15m</c>, <c>2h</c>, <c>7d</c>, <c>1d12h</c>, optionally signed
/// (<c>-1d</c>, for an offset before a date). Days are 24 hours.
/// </summary>
public static class Durations
{
    public static readonly TimeSpan Longest = TimeSpan.FromDays(366);

    public static bool TryParse(string? text, out TimeSpan duration)
    {
        duration = TimeSpan.Zero;
        if (string.IsNullOrEmpty(text) || text.Length > 32) return false;
        var i = 0;
        var sign = 1;
        if (text[0] is '-' or '+') { sign = text[0] == '-' ? -1 : 1; i++; }
        if (i == text.Length) return false;
        var total = TimeSpan.Zero;
        var lastUnit = int.MaxValue;
        while (i < text.Length)
        {
            var start = i;
            while (i < text.Length && char.IsAsciiDigit(text[i])) i++;
            if (i == start || i == text.Length || i - start > 6) return false;
            var n = long.Parse(text.AsSpan(start, i - start), CultureInfo.InvariantCulture);
            var (unit, rank) = text[i] switch
            {
                'd' => (TimeSpan.FromDays(1), 3),
                'h' => (TimeSpan.FromHours(1), 2),
                'm' => (TimeSpan.FromMinutes(1), 1),
                's' => (TimeSpan.FromSeconds(1), 0),
                _ => (TimeSpan.Zero, -1),
            };
            // Units in falling order, each once: "1d12h", not "12h1d" or "1h1h".
            if (rank < 0 || rank >= lastUnit) return false;
            lastUnit = rank;
            total += unit * n;
            i++;
        }
        duration = sign * total;
        return true;
    }

    public static string Format(TimeSpan d)
    {
        if (d == TimeSpan.Zero) return "0s";
        var sb = new StringBuilder();
        if (d < TimeSpan.Zero) { sb.Append('-'); d = d.Negate(); }
        if (d.Days > 0) sb.Append(CultureInfo.InvariantCulture, $"{d.Days}d");
        if (d.Hours > 0) sb.Append(CultureInfo.InvariantCulture, $"{d.Hours}h");
        if (d.Minutes > 0) sb.Append(CultureInfo.InvariantCulture, $"{d.Minutes}m");
        if (d.Seconds > 0) sb.Append(CultureInfo.InvariantCulture, $"{d.Seconds}s");
        return sb.ToString();
    }
}
