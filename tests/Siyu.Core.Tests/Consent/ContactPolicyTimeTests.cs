using System.Globalization;
using Siyu.Core.Consent;
using static Siyu.Core.Tests.Consent.ConsentKit;

namespace Siyu.Core.Tests.Consent;

/// <summary>
/// Caps and quiet hours, in the person's time zone. Expected instants are either written out by hand or worked out
/// with fixed-offset arithmetic in the test (for zones without daylight saving).
/// </summary>
public class ContactPolicyTimeTests
{
    private static readonly ConsentState SmsGranted = State(Decision("m1", "marketing", "sms", ConsentStatus.Granted, T0.AddYears(-1)));
    private static readonly ContactRequest Sms = new("marketing", "sms");

    private static ContactDecision Ask(Preferences? prefs, DateTimeOffset now, ContactHistory? history = null) =>
        ContactPolicy.CanContact(SmsGranted, prefs, Sms, now, history);

    private static Preferences Capped(string zone, int? perDay, int? perWeek) => new()
    {
        TimeZone = zone,
        Caps = new Dictionary<string, ChannelCap> { ["sms"] = new(perDay, perWeek) },
    };

    private static Preferences Quiet(string zone, string start, string end) => new() { TimeZone = zone, QuietHours = new QuietHours(start, end) };

    private static DateTimeOffset Utc(string text) => DateTimeOffset.Parse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal);

    private static void AssertDeferred(ContactDecision d, ContactVerdict verdict, DateTimeOffset notBefore)
    {
        Assert.Equal(verdict, d.Verdict);
        Assert.True(d.Deferrable);
        Assert.False(d.Allowed);
        Assert.NotNull(d.NotBefore);
        Assert.Equal(notBefore, d.NotBefore.Value);
        Assert.Equal(notBefore.UtcTicks, d.NotBefore.Value.UtcTicks);
    }

    // ---- caps over a whole week, in zones with a fixed offset ----

    public static TheoryData<string, int, string> WeekInFixedZones()
    {
        var data = new TheoryData<string, int, string>();
        (string Zone, int OffsetMinutes)[] zones = [("UTC", 0), ("Asia/Shanghai", 480), ("Asia/Kolkata", 330), ("America/Bogota", -300)];
        string[] times = ["00:00:00", "00:00:01", "11:30:00", "23:59:59"];
        foreach (var (zone, offset) in zones)
            for (var day = 0; day < 7; day++) // Monday 2024-05-06 .. Sunday 2024-05-12
                foreach (var time in times)
                    data.Add(zone, offset, $"2024-05-{6 + day:00}T{time}");
        return data;
    }

    private static (DateTimeOffset Now, DateTimeOffset NextMidnight, DateTimeOffset NextMonday) FixedOffsetExpectations(int offsetMinutes, string local)
    {
        var offset = TimeSpan.FromMinutes(offsetMinutes);
        var wall = DateTime.ParseExact(local, "yyyy-MM-ddTHH:mm:ss", CultureInfo.InvariantCulture);
        var now = new DateTimeOffset(wall, offset);
        var nextMidnight = new DateTimeOffset(wall.Date.AddDays(1), offset);
        var monday = wall.Date.AddDays(1);
        while (monday.DayOfWeek != DayOfWeek.Monday) monday = monday.AddDays(1);
        return (now, nextMidnight, new DateTimeOffset(monday, offset));
    }

    [Theory]
    [MemberData(nameof(WeekInFixedZones))]
    public void A_daily_cap_lifts_at_the_next_local_midnight(string zone, int offsetMinutes, string local)
    {
        var (now, nextMidnight, _) = FixedOffsetExpectations(offsetMinutes, local);
        AssertDeferred(Ask(Capped(zone, 2, null), now, new ContactHistory(2, 2)), ContactVerdict.CapReached, nextMidnight);
        Assert.True(Ask(Capped(zone, 2, null), now, new ContactHistory(1, 50)).Allowed);
    }

    [Theory]
    [MemberData(nameof(WeekInFixedZones))]
    public void A_weekly_cap_lifts_at_the_next_local_Monday_midnight(string zone, int offsetMinutes, string local)
    {
        var (now, _, nextMonday) = FixedOffsetExpectations(offsetMinutes, local);
        AssertDeferred(Ask(Capped(zone, null, 5), now, new ContactHistory(0, 5)), ContactVerdict.CapReached, nextMonday);
        AssertDeferred(Ask(Capped(zone, null, 5), now, new ContactHistory(0, 6)), ContactVerdict.CapReached, nextMonday);
        Assert.True(Ask(Capped(zone, null, 5), now, new ContactHistory(40, 4)).Allowed);
    }

    [Theory]
    // Shanghai: Monday 2024-05-06 00:00 local is 2024-05-05T16:00Z; a cap reached on Monday lifts a week later.
    [InlineData("2024-05-05T16:00:00Z", "2024-05-13T00:00:00+08:00")]
    [InlineData("2024-05-05T15:59:59Z", "2024-05-06T00:00:00+08:00")] // Sunday 23:59:59 local: tomorrow
    [InlineData("2024-05-01T20:00:00Z", "2024-05-06T00:00:00+08:00")] // Thursday 04:00 local
    [InlineData("2024-05-05T23:00:00Z", "2024-05-13T00:00:00+08:00")] // Monday 07:00 local, Sunday in UTC
    public void Weeks_start_on_Monday_in_the_persons_zone(string now, string expected)
    {
        AssertDeferred(Ask(Capped("Asia/Shanghai", null, 1), Utc(now), new ContactHistory(0, 1)), ContactVerdict.CapReached,
            DateTimeOffset.Parse(expected, CultureInfo.InvariantCulture));
    }

    [Theory]
    // Shanghai late evening is already tomorrow: 2024-05-01T17:00Z is Thursday 01:00 local.
    [InlineData("Asia/Shanghai", "2024-05-01T17:00:00Z", "2024-05-03T00:00:00+08:00")]
    [InlineData("Asia/Shanghai", "2024-05-01T15:59:59Z", "2024-05-02T00:00:00+08:00")]
    [InlineData("UTC", "2024-05-01T17:00:00Z", "2024-05-02T00:00:00Z")]
    // New York, the day clocks spring forward (2024-03-10 02:00 EST → 03:00 EDT).
    [InlineData("America/New_York", "2024-03-10T04:30:00Z", "2024-03-10T00:00:00-05:00")] // Sat 23:30 EST
    [InlineData("America/New_York", "2024-03-10T14:00:00Z", "2024-03-11T00:00:00-04:00")] // Sun 10:00 EDT
    // The day clocks fall back (2024-11-03 02:00 EDT → 01:00 EST): a 25-hour day.
    [InlineData("America/New_York", "2024-11-03T04:30:00Z", "2024-11-04T00:00:00-05:00")] // Sun 00:30 EDT
    [InlineData("America/New_York", "2024-11-03T06:30:00Z", "2024-11-04T00:00:00-05:00")] // Sun 01:30 EST, second pass
    public void Daily_caps_lift_at_local_midnight_across_daylight_saving(string zone, string now, string expected)
    {
        AssertDeferred(Ask(Capped(zone, 1, null), Utc(now), new ContactHistory(1, 1)), ContactVerdict.CapReached,
            DateTimeOffset.Parse(expected, CultureInfo.InvariantCulture));
    }

    [Theory]
    // Saturday noon EST; Monday midnight is EDT: 35 hours later, not 36.
    [InlineData("2024-03-09T17:00:00Z", "2024-03-11T04:00:00Z")]
    // Saturday noon EDT; Monday midnight is EST: 37 hours later.
    [InlineData("2024-11-02T16:00:00Z", "2024-11-04T05:00:00Z")]
    // Monday 2024-03-11 00:00 EDT exactly: the week just began, the next one is a week away.
    [InlineData("2024-03-11T04:00:00Z", "2024-03-18T04:00:00Z")]
    // Sunday 2024-03-10 23:59:59 EDT.
    [InlineData("2024-03-11T03:59:59Z", "2024-03-11T04:00:00Z")]
    public void Weekly_caps_lift_at_Monday_midnight_in_New_York_across_daylight_saving(string now, string expected)
    {
        AssertDeferred(Ask(Capped("America/New_York", null, 3), Utc(now), new ContactHistory(0, 3)), ContactVerdict.CapReached, Utc(expected));
    }

    [Fact]
    public void The_daily_cap_is_checked_before_the_weekly_one()
    {
        var now = Utc("2024-05-01T04:00:00Z"); // Wednesday 12:00 Shanghai
        AssertDeferred(Ask(Capped("Asia/Shanghai", 2, 5), now, new ContactHistory(2, 5)), ContactVerdict.CapReached,
            DateTimeOffset.Parse("2024-05-02T00:00:00+08:00", CultureInfo.InvariantCulture));
        AssertDeferred(Ask(Capped("Asia/Shanghai", 2, 5), now, new ContactHistory(1, 5)), ContactVerdict.CapReached,
            DateTimeOffset.Parse("2024-05-06T00:00:00+08:00", CultureInfo.InvariantCulture));
        Assert.True(Ask(Capped("Asia/Shanghai", 2, 5), now, new ContactHistory(1, 4)).Allowed);
    }

    [Fact]
    public void A_cap_of_zero_refuses_even_without_history()
    {
        var now = Utc("2024-05-01T04:00:00Z");
        Assert.Equal(ContactVerdict.CapReached, Ask(Capped("UTC", 0, null), now).Verdict);
        Assert.Equal(ContactVerdict.CapReached, Ask(Capped("UTC", null, 0), now).Verdict);
        Assert.True(Ask(Capped("UTC", 1, 1), now).Allowed); // no history: nothing sent yet
    }

    [Fact]
    public void A_cap_for_another_channel_does_not_apply()
    {
        var prefs = new Preferences { Caps = new Dictionary<string, ChannelCap> { ["email"] = new(0, 0), ["wecom"] = new(0, 0) } };
        Assert.True(Ask(prefs, T0, new ContactHistory(100, 100)).Allowed);
    }

    [Fact]
    public void Caps_are_checked_before_quiet_hours()
    {
        var prefs = new Preferences
        {
            TimeZone = "UTC",
            Caps = new Dictionary<string, ChannelCap> { ["sms"] = new(1, null) },
            QuietHours = new QuietHours("00:00", "23:00"),
        };
        var d = Ask(prefs, Utc("2024-05-01T10:00:00Z"), new ContactHistory(1, 1));
        AssertDeferred(d, ContactVerdict.CapReached, Utc("2024-05-02T00:00:00Z"));
        AssertDeferred(Ask(prefs, Utc("2024-05-01T10:00:00Z"), new ContactHistory(0, 0)), ContactVerdict.QuietHours, Utc("2024-05-01T23:00:00Z"));
    }

    // ---- quiet hours ----

    public static TheoryData<string, int, string, string, int> QuietDay()
    {
        var data = new TheoryData<string, int, string, string, int>();
        (string Zone, int OffsetMinutes)[] zones = [("UTC", 0), ("Asia/Shanghai", 480), ("Asia/Kolkata", 330)];
        (string Start, string End)[] windows = [("22:00", "08:00"), ("12:00", "14:00"), ("23:00", "00:00"), ("00:00", "06:00"), ("23:59", "00:01")];
        var seconds = new SortedSet<int>();
        for (var m = 0; m < 24 * 60; m += 30) seconds.Add(m * 60);
        foreach (var (start, end) in windows)
            foreach (var edge in new[] { start, end })
            {
                var t = TimeOnly.ParseExact(edge, "HH:mm", CultureInfo.InvariantCulture).ToTimeSpan();
                var s = (int)t.TotalSeconds;
                seconds.Add(s);
                seconds.Add((s + 86400 - 1) % 86400);
                seconds.Add((s + 1) % 86400);
            }
        foreach (var (zone, offset) in zones)
            foreach (var (start, end) in windows)
                foreach (var s in seconds)
                    data.Add(zone, offset, start, end, s);
        return data;
    }

    private static bool InsideWindow(int secondOfDay, string start, string end)
    {
        var s = (int)TimeOnly.ParseExact(start, "HH:mm", CultureInfo.InvariantCulture).ToTimeSpan().TotalSeconds;
        var e = (int)TimeOnly.ParseExact(end, "HH:mm", CultureInfo.InvariantCulture).ToTimeSpan().TotalSeconds;
        // Start inclusive, end exclusive; a start after the end wraps midnight.
        return s < e ? secondOfDay >= s && secondOfDay < e : secondOfDay >= s || secondOfDay < e;
    }

    [Theory]
    [MemberData(nameof(QuietDay))]
    public void Quiet_hours_hold_from_start_inclusive_to_end_exclusive_and_end_at_the_end_time(string zone, int offsetMinutes,
        string start, string end, int secondOfDay)
    {
        var offset = TimeSpan.FromMinutes(offsetMinutes);
        var now = new DateTimeOffset(new DateTime(2024, 5, 1).AddSeconds(secondOfDay), offset);

        var d = Ask(Quiet(zone, start, end), now);

        if (!InsideWindow(secondOfDay, start, end))
        {
            Assert.Equal(ContactVerdict.Allowed, d.Verdict);
            Assert.Null(d.NotBefore);
            return;
        }
        // Walk forward second by second until the wall clock leaves the window: that is when quiet hours end.
        var expected = now;
        var wall = secondOfDay;
        while (InsideWindow(wall, start, end)) { expected = expected.AddSeconds(1); wall = (wall + 1) % 86400; }
        AssertDeferred(d, ContactVerdict.QuietHours, expected);
        Assert.Contains(start, d.Reason);
    }

    [Theory]
    [InlineData("2024-05-01T14:00:00Z", "2024-05-02T08:00:00+08:00")] // 22:00 local: start is inside
    [InlineData("2024-05-01T15:59:59Z", "2024-05-02T08:00:00+08:00")] // 23:59:59
    [InlineData("2024-05-01T16:00:00Z", "2024-05-02T08:00:00+08:00")] // 00:00 the next day
    [InlineData("2024-05-01T23:59:59Z", "2024-05-02T08:00:00+08:00")] // 07:59:59
    public void Quiet_hours_over_midnight_in_Shanghai(string now, string expected)
    {
        AssertDeferred(Ask(Quiet("Asia/Shanghai", "22:00", "08:00"), Utc(now)), ContactVerdict.QuietHours,
            DateTimeOffset.Parse(expected, CultureInfo.InvariantCulture));
    }

    [Theory]
    [InlineData("2024-05-01T13:59:59Z")] // 21:59:59 local
    [InlineData("2024-05-02T00:00:00Z")] // 08:00 local: the end is not inside
    [InlineData("2024-05-01T04:00:00Z")] // noon
    public void Outside_quiet_hours_in_Shanghai_a_message_may_go(string now)
    {
        var d = Ask(Quiet("Asia/Shanghai", "22:00", "08:00"), Utc(now));
        Assert.Equal(ContactVerdict.Allowed, d.Verdict);
        Assert.Null(d.NotBefore);
    }

    [Theory]
    // Saturday 23:00 EST; quiet hours end Sunday 08:00, which is EDT by then: 8 hours later, not 9.
    [InlineData("22:00", "08:00", "2024-03-10T04:00:00Z", "2024-03-10T12:00:00Z")]
    // Saturday 23:00 EDT; they end Sunday 08:00 EST: 10 hours later.
    [InlineData("22:00", "08:00", "2024-11-03T03:00:00Z", "2024-11-03T13:00:00Z")]
    // 01:59 EST on the spring-forward night: 02:30 does not exist that night, so they end at 03:00 EDT.
    [InlineData("22:00", "02:30", "2024-03-10T06:59:00Z", "2024-03-10T07:00:00Z")]
    // 01:10 EDT, the first pass through the repeated hour: they end at 01:30 EDT.
    [InlineData("22:00", "01:30", "2024-11-03T05:10:00Z", "2024-11-03T05:30:00Z")]
    // Non-wrapping window on a normal day in New York (EDT, UTC-4).
    [InlineData("12:00", "14:00", "2024-06-05T16:00:00Z", "2024-06-05T18:00:00Z")]
    public void Quiet_hours_in_New_York_across_daylight_saving(string start, string end, string now, string expected)
    {
        var d = Ask(Quiet("America/New_York", start, end), Utc(now));
        AssertDeferred(d, ContactVerdict.QuietHours, Utc(expected));
        Assert.True(d.NotBefore > Utc(now));
    }

    [Fact]
    public void Quiet_hours_ending_in_the_repeated_hour_never_say_retry_in_the_past()
    {
        // 2024-11-03 01:10 EST (06:10Z) is the second pass through 01:00-02:00 in New York. The wall clock is inside
        // 22:00-01:30, so it is quiet, and the quiet hours end at 01:30 EST = 06:30Z, twenty minutes from now.
        var now = Utc("2024-11-03T06:10:00Z");
        var d = Ask(Quiet("America/New_York", "22:00", "01:30"), now);
        Assert.Equal(ContactVerdict.QuietHours, d.Verdict);
        Assert.NotNull(d.NotBefore);
        Assert.True(d.NotBefore > now, $"NotBefore {d.NotBefore:O} is not after now {now:O}");
        Assert.Equal(Utc("2024-11-03T06:30:00Z"), d.NotBefore);
    }

    [Theory]
    [InlineData("22:00", "22:00")] // the same time: no window
    [InlineData("25:00", "08:00")]
    [InlineData("22:00", "8 am")]
    [InlineData("", "08:00")]
    public void Unusable_quiet_hours_are_ignored(string start, string end)
    {
        Assert.True(Ask(Quiet("UTC", start, end), Utc("2024-05-01T23:00:00Z")).Allowed);
    }

    [Fact]
    public void An_unknown_time_zone_falls_back_to_Shanghai()
    {
        // 15:00 UTC is 23:00 in Shanghai: quiet there, not in UTC.
        var now = Utc("2024-05-01T15:00:00Z");
        AssertDeferred(Ask(Quiet("Mars/Olympus_Mons", "22:00", "08:00"), now), ContactVerdict.QuietHours, Utc("2024-05-02T00:00:00Z"));
        AssertDeferred(Ask(new Preferences { QuietHours = new QuietHours("22:00", "08:00") }, now), ContactVerdict.QuietHours, Utc("2024-05-02T00:00:00Z"));
        Assert.True(Ask(Quiet("UTC", "22:00", "08:00"), now).Allowed);
    }

    [Fact]
    public void Without_preferences_there_are_no_caps_topics_or_quiet_hours()
    {
        var d = ContactPolicy.CanContact(SmsGranted, null, new ContactRequest("marketing", "sms", Topic: "anything"),
            Utc("2024-05-01T18:00:00Z"), new ContactHistory(1000, 7000));
        Assert.Same(ContactDecision.Allow, d);
        Assert.True(d.Allowed);
        Assert.False(d.Deferrable);
    }
}
