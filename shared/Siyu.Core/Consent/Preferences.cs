using System.Globalization;

namespace Siyu.Core.Consent;

/// <summary>A daily window in which nothing is sent, in the person's time zone. Start after end wraps midnight (22:00-08:00).</summary>
public sealed record QuietHours(string Start, string End);

/// <summary>How many messages a person accepts on one channel.</summary>
/// <summary>At most so many messages a day, a week (from Monday) and a calendar month, each in the person's time zone.</summary>
public sealed record ChannelCap(int? PerDay, int? PerWeek, int? PerMonth = null);

/// <summary>
/// What a person asked for: preferred channels (in order), quiet hours and time zone, message caps per channel,
/// and the topics they want to hear about (none listed: every topic). The delivery layer enforces them through
/// <see cref="ContactPolicy.CanContact"/>.
/// </summary>
public sealed record Preferences
{
    public const string DefaultTimeZone = "Asia/Shanghai";
    public const int MaxTopics = 50;
    public const int MaxTopicLength = 64;

    public IReadOnlyList<string> PreferredChannels { get; init; } = [];
    public QuietHours? QuietHours { get; init; }
    public string TimeZone { get; init; } = DefaultTimeZone;
    public IReadOnlyDictionary<string, ChannelCap> Caps { get; init; } = new Dictionary<string, ChannelCap>();
    public IReadOnlyList<string> Topics { get; init; } = [];
    public DateTimeOffset? UpdatedAt { get; init; }

    /// <summary>Every problem with these preferences, as (field, message); empty when they are valid.</summary>
    public IReadOnlyList<(string Field, string Message)> Validate()
    {
        var problems = new List<(string, string)>();
        foreach (var c in PreferredChannels ?? [])
            if (!ConsentVocabulary.IsChannel(c) || c == ConsentVocabulary.AllChannels) problems.Add(("preferredChannels", $"unknown channel '{c}'"));
        if ((PreferredChannels ?? []).Distinct().Count() != (PreferredChannels ?? []).Count) problems.Add(("preferredChannels", "a channel is listed twice"));
        if (QuietHours is { } q)
        {
            if (!TryParseTime(q.Start, out _)) problems.Add(("quietHours.start", $"'{q.Start}' is not a time of day HH:mm"));
            if (!TryParseTime(q.End, out _)) problems.Add(("quietHours.end", $"'{q.End}' is not a time of day HH:mm"));
            if (q.Start == q.End) problems.Add(("quietHours", "start and end are the same time"));
        }
        if (!TimeZones.TryFind(TimeZone, out _)) problems.Add(("timeZone", $"unknown time zone '{TimeZone}': use an IANA name such as Asia/Shanghai"));
        foreach (var (channel, cap) in Caps ?? new Dictionary<string, ChannelCap>())
        {
            if (!ConsentVocabulary.IsChannel(channel) || channel == ConsentVocabulary.AllChannels)
                problems.Add(($"caps.{channel}", $"unknown channel '{channel}': caps are per channel"));
            if (cap is null) { problems.Add(($"caps.{channel}", "a cap needs perDay, perWeek or perMonth")); continue; }
            if (cap.PerDay is < 0 or > 1000) problems.Add(($"caps.{channel}.perDay", "must be 0-1000"));
            if (cap.PerWeek is < 0 or > 7000) problems.Add(($"caps.{channel}.perWeek", "must be 0-7000"));
            if (cap.PerMonth is < 0 or > 31000) problems.Add(($"caps.{channel}.perMonth", "must be 0-31000"));
            if (cap.PerDay is null && cap.PerWeek is null && cap.PerMonth is null) problems.Add(($"caps.{channel}", "a cap needs perDay, perWeek or perMonth"));
        }
        var topics = Topics ?? [];
        if (topics.Count > MaxTopics) problems.Add(("topics", $"at most {MaxTopics} topics"));
        foreach (var t in topics)
            if (string.IsNullOrWhiteSpace(t) || t.Length > MaxTopicLength || t.Any(char.IsControl))
                problems.Add(("topics", $"a topic must be 1-{MaxTopicLength} characters without control characters"));
        return problems;
    }

    public static bool TryParseTime(string? text, out TimeOnly time) =>
        TimeOnly.TryParseExact(text, "HH:mm", CultureInfo.InvariantCulture, DateTimeStyles.None, out time);
}

/// <summary>IANA time zones, looked up once each.</summary>
public static class TimeZones
{
    private static readonly System.Collections.Concurrent.ConcurrentDictionary<string, TimeZoneInfo?> Cache = new(StringComparer.Ordinal);

    public static bool TryFind(string? id, out TimeZoneInfo zone)
    {
        zone = TimeZoneInfo.Utc;
        if (string.IsNullOrWhiteSpace(id) || id.Length > 64) return false;
        var found = Cache.GetOrAdd(id, static i => TimeZoneInfo.TryFindSystemTimeZoneById(i, out var z) ? z : null);
        if (found is null) return false;
        zone = found;
        return true;
    }
}
