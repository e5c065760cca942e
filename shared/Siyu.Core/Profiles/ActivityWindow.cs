namespace Siyu.Core.Profiles;

/// <summary>
/// Per-day event counts on the profile, so that "did E at least N times in the last D days" is answered from the
/// profile row alone, at ingest and in the sweep. Days are calendar days in China Standard Time (UTC+8, no DST),
/// the days marketers here count in. "The last D days" are today and the D-1 days before it.
/// </summary>
public static class ActivityWindow
{
    /// <summary>The longest window a rule may ask about; older days are dropped from the profile.</summary>
    public const int MaxDays = 180;

    /// <summary>At most this many event names are counted per person; the one idle longest gives way.</summary>
    public const int MaxNames = 64;

    private static readonly TimeSpan ChinaOffset = TimeSpan.FromHours(8);

    public static int Day(DateTimeOffset at) => (int)Math.Floor((at.UtcDateTime - DateTime.UnixEpoch + ChinaOffset).TotalDays);

    /// <summary>Counts one event on its day, unless it is older than the window as of <paramref name="now"/>.</summary>
    public static void Record(ProfileState profile, string eventName, DateTimeOffset at, DateTimeOffset now)
    {
        var today = Day(now);
        var day = Day(at);
        if (day <= today - MaxDays) return;
        if (!profile.Activity.TryGetValue(eventName, out var days))
        {
            if (profile.Activity.Count >= MaxNames)
            {
                var idlest = profile.Activity.MinBy(a => a.Value.Count == 0 ? int.MinValue : a.Value.Keys.Last()).Key;
                profile.Activity.Remove(idlest);
            }
            profile.Activity[eventName] = days = new SortedDictionary<int, int>();
        }
        days[day] = days.GetValueOrDefault(day) + 1;
        Prune(profile, now);
    }

    /// <summary>Drops days that have left the longest window.</summary>
    public static bool Prune(ProfileState profile, DateTimeOffset now)
    {
        var oldest = Day(now) - MaxDays + 1;
        var changed = false;
        foreach (var (name, days) in profile.Activity.ToList())
        {
            while (days.Count > 0 && days.Keys.First() < oldest)
            {
                days.Remove(days.Keys.First());
                changed = true;
            }
            if (days.Count == 0) profile.Activity.Remove(name);
        }
        return changed;
    }

    /// <summary>How many times the person did <paramref name="eventName"/> in the last <paramref name="days"/> days.</summary>
    public static int Count(ProfileState profile, string eventName, int days, DateTimeOffset now)
    {
        if (!profile.Activity.TryGetValue(eventName, out var counts)) return 0;
        var from = Day(now) - days + 1;
        var total = 0;
        foreach (var (day, n) in counts)
            if (day >= from) total += n;
        return total;
    }

    /// <summary>Adds another profile's counts (a merge).</summary>
    public static void Add(ProfileState into, ProfileState from, DateTimeOffset now)
    {
        foreach (var (name, days) in from.Activity)
        {
            if (!into.Activity.TryGetValue(name, out var target)) into.Activity[name] = target = new SortedDictionary<int, int>();
            foreach (var (day, n) in days) target[day] = target.GetValueOrDefault(day) + n;
        }
        while (into.Activity.Count > MaxNames)
            into.Activity.Remove(into.Activity.MinBy(a => a.Value.Keys.Last()).Key);
        Prune(into, now);
    }
}
