using Siyu.Core.Consent;

namespace Siyu.Core.Tests.Consent;

public class PreferencesTests
{
    private static IReadOnlyList<(string Field, string Message)> Problems(Preferences p) => p.Validate();

    private static void OneProblem(Preferences p, string field)
    {
        var problems = Problems(p);
        var problem = Assert.Single(problems);
        Assert.Equal(field, problem.Field);
        Assert.False(string.IsNullOrWhiteSpace(problem.Message));
    }

    [Fact]
    public void Defaults_are_valid_and_in_Shanghai()
    {
        var p = new Preferences();
        Assert.Empty(Problems(p));
        Assert.Equal("Asia/Shanghai", p.TimeZone);
        Assert.Empty(p.PreferredChannels);
        Assert.Empty(p.Topics);
        Assert.Empty(p.Caps);
        Assert.Null(p.QuietHours);
    }

    [Fact]
    public void A_full_valid_set_of_preferences_has_no_problems()
    {
        var p = new Preferences
        {
            PreferredChannels = ["wechat_oa", "sms", "email"],
            QuietHours = new QuietHours("22:00", "08:00"),
            TimeZone = "America/New_York",
            Caps = new Dictionary<string, ChannelCap>
            {
                ["sms"] = new(0, 7000),
                ["email"] = new(1000, null),
                ["push"] = new(null, 0),
            },
            Topics = [.. Enumerable.Range(0, 50).Select(i => $"topic-{i}"), ],
        };
        Assert.Empty(Problems(p));
        Assert.Empty(Problems(p with { Topics = [new string('t', 64)] }));
        Assert.Empty(Problems(p with { TimeZone = "UTC" }));
        Assert.Empty(Problems(p with { QuietHours = new QuietHours("00:00", "23:59") }));
    }

    [Theory]
    [InlineData("fax")]
    [InlineData("SMS")]
    [InlineData("all")] // a preferred channel is one channel
    [InlineData("")]
    public void An_unknown_preferred_channel(string channel) =>
        OneProblem(new Preferences { PreferredChannels = ["sms", channel] }, "preferredChannels");

    [Fact]
    public void A_preferred_channel_listed_twice() =>
        OneProblem(new Preferences { PreferredChannels = ["sms", "email", "sms"] }, "preferredChannels");

    [Theory]
    [InlineData("24:00", "08:00", "quietHours.start")]
    [InlineData("22:60", "08:00", "quietHours.start")]
    [InlineData("ten", "08:00", "quietHours.start")]
    [InlineData("22:00:00", "08:00", "quietHours.start")]
    [InlineData("22:00", "", "quietHours.end")]
    [InlineData("22:00", "8am", "quietHours.end")]
    [InlineData("09:00", "09:00", "quietHours")]
    public void Bad_quiet_hours(string start, string end, string field) =>
        OneProblem(new Preferences { QuietHours = new QuietHours(start, end) }, field);

    [Fact]
    public void Quiet_hours_with_both_ends_unreadable_report_both()
    {
        var problems = Problems(new Preferences { QuietHours = new QuietHours("x", "y") });
        Assert.Equal(["quietHours.start", "quietHours.end"], problems.Select(p => p.Field));
    }

    [Theory]
    [InlineData("Mars/Olympus_Mons")]
    [InlineData("")]
    [InlineData("   ")]
    [InlineData("Asia/Shanghai ")]
    public void An_unknown_time_zone(string zone) =>
        OneProblem(new Preferences { TimeZone = zone }, "timeZone");

    [Fact]
    public void A_time_zone_name_over_64_characters_is_refused()
    {
        OneProblem(new Preferences { TimeZone = new string('A', 65) }, "timeZone");
        Assert.False(TimeZones.TryFind(new string('A', 65), out var zone));
        Assert.Same(TimeZoneInfo.Utc, zone);
    }

    [Theory]
    [InlineData("Asia/Shanghai")]
    [InlineData("America/New_York")]
    [InlineData("UTC")]
    [InlineData("Asia/Kolkata")]
    public void Known_time_zones_are_found_and_cached(string id)
    {
        Assert.True(TimeZones.TryFind(id, out var a));
        Assert.True(TimeZones.TryFind(id, out var b));
        Assert.Same(a, b);
        Assert.False(TimeZones.TryFind(null, out _));
    }

    [Theory]
    [InlineData("fax", 1, null, new[] { "caps.fax" })]
    [InlineData("sms", -1, null, new[] { "caps.sms.perDay" })]
    [InlineData("sms", 1001, null, new[] { "caps.sms.perDay" })]
    [InlineData("sms", null, -1, new[] { "caps.sms.perWeek" })]
    [InlineData("sms", null, 7001, new[] { "caps.sms.perWeek" })]
    [InlineData("sms", null, null, new[] { "caps.sms" })]
    [InlineData("sms", 1001, 7001, new[] { "caps.sms.perDay", "caps.sms.perWeek" })]
    public void Bad_caps(string channel, int? perDay, int? perWeek, string[] fields)
    {
        var problems = Problems(new Preferences { Caps = new Dictionary<string, ChannelCap> { [channel] = new(perDay, perWeek) } });
        Assert.Equal(fields, problems.Select(p => p.Field));
    }

    [Fact]
    public void A_missing_cap()
    {
        OneProblem(new Preferences { Caps = new Dictionary<string, ChannelCap> { ["email"] = null! } }, "caps.email");
    }

    [Fact]
    public void Too_many_topics()
    {
        OneProblem(new Preferences { Topics = [.. Enumerable.Range(0, 51).Select(i => $"t{i}")] }, "topics");
    }

    [Theory]
    [InlineData("")]
    [InlineData("  ")]
    [InlineData("a\nb")]
    [InlineData("\u0007")]
    public void A_bad_topic(string topic) => OneProblem(new Preferences { Topics = ["news", topic] }, "topics");

    [Fact]
    public void A_topic_over_64_characters() => OneProblem(new Preferences { Topics = [new string('t', 65)] }, "topics");

    [Fact]
    public void Every_problem_is_reported_at_once()
    {
        var p = new Preferences
        {
            PreferredChannels = ["sms", "fax", "sms"],
            QuietHours = new QuietHours("25:00", "08:61"),
            TimeZone = "Nowhere/Town",
            Caps = new Dictionary<string, ChannelCap>
            {
                ["pigeon"] = new(1, null),
                ["email"] = new(-5, 99999),
                ["push"] = new(null, null),
            },
            Topics = ["", "news"],
        };
        var fields = Problems(p).Select(x => x.Field).ToList();
        Assert.Equal(
        [
            "preferredChannels", "preferredChannels",
            "quietHours.start", "quietHours.end",
            "timeZone",
            "caps.pigeon",
            "caps.email.perDay", "caps.email.perWeek",
            "caps.push",
            "topics",
        ], fields);
        Assert.All(Problems(p), x => Assert.False(string.IsNullOrWhiteSpace(x.Message)));
        Assert.Contains(Problems(p), x => x.Message.Contains("fax"));
        Assert.Contains(Problems(p), x => x.Message.Contains("Nowhere/Town"));
    }

    [Fact]
    public void Null_collections_are_tolerated()
    {
        var p = new Preferences { PreferredChannels = null!, Caps = null!, Topics = null! };
        Assert.Empty(Problems(p));
    }

    [Theory]
    [InlineData("00:00", true)]
    [InlineData("23:59", true)]
    [InlineData("07:05", true)]
    [InlineData("24:00", false)]
    [InlineData(null, false)]
    [InlineData("12:00 ", false)]
    public void TryParseTime_reads_HH_mm(string? text, bool ok) => Assert.Equal(ok, Preferences.TryParseTime(text, out _));
}
