using Siyu.Core.Journeys;
using Siyu.Core.Profiles;
using static Siyu.Core.Tests.Journeys.JourneyKit;

namespace Siyu.Core.Tests.Journeys;

/// <summary>Delays: for a time, until a local time of day in the person's zone, around a date attribute.</summary>
public sealed class JourneyDelayTests
{
    private static readonly JourneyDefinition AtTen = Nodes("""{"a": {"type": "delay", "at": "10:00", "next": "done"}, "done": {"type": "exit"}}""");

    private static DateTimeOffset? DueAt(JourneyDefinition j, DateTimeOffset now, ProfileState? profile)
    {
        var r = Enter(j, NewRun(j, at: now), now, profile ?? Profile());
        Assert.Equal(StepOutcome.Moved, r.Outcome);
        Assert.Equal(r.Instance.DueAt, r.TimerAt);
        return r.Instance.DueAt;
    }

    private static JourneyDefinition Until(string attribute, string? offset = null) =>
        Nodes($$$"""{"a": {"type": "delay", "untilAttribute": "{{{attribute}}}", {{{(offset is null ? "" : $"\"offset\": \"{offset}\", ")}}}"next": "done"}, "done": {"type": "exit"}}""");

    [Fact]
    public void A_delay_for_a_time_arms_its_timer_and_then_goes_on()
    {
        var j = Nodes("""{"a": {"type": "delay", "for": "1d12h", "next": "done"}, "done": {"type": "exit"}}""");
        var r = Enter(j, NewRun(j), Now, profile: null, loaded: false);
        Assert.Equal(StepOutcome.Moved, r.Outcome);
        Assert.Equal(("a", 1L, (DateTimeOffset?)Now.AddHours(36), (DateTimeOffset?)null), (r.Instance.Node, r.Instance.Generation, r.Instance.DueAt, r.Instance.WaitingSince));
        Assert.Equal(Now.AddHours(36), r.TimerAt);

        var fired = Fire(j, r.Instance, at: Now.AddHours(36));
        Assert.Equal((InstanceStatus.Completed, "done"), (fired.Instance.Status, fired.Instance.Node));
        Assert.Equal(1, fired.Delta.Node("a").Left["next"]);
    }

    [Fact]
    public void A_delay_until_a_time_of_day_needs_the_profile_for_its_time_zone() =>
        Assert.Equal(StepOutcome.NeedsProfile, Enter(AtTen, NewRun(AtTen), Now, profile: null, loaded: false).Outcome);

    [Fact]
    public void Before_ten_in_China_the_delay_ends_at_ten_the_same_day() =>
        // Now is 08:00 in Shanghai, the default zone.
        Assert.Equal(new DateTimeOffset(2026, 5, 20, 10, 0, 0, TimeSpan.FromHours(8)), DueAt(AtTen, Now, Profile()));

    [Theory]
    [InlineData(10, 0)]
    [InlineData(10, 1)]
    [InlineData(23, 59)]
    public void At_or_after_ten_in_China_the_delay_ends_at_ten_the_next_day(int hour, int minute) =>
        Assert.Equal(new DateTimeOffset(2026, 5, 21, 10, 0, 0, TimeSpan.FromHours(8)),
            DueAt(AtTen, new DateTimeOffset(2026, 5, 20, hour, minute, 0, TimeSpan.FromHours(8)), Profile()));

    [Fact]
    public void A_minute_before_ten_waits_a_minute() =>
        Assert.Equal(new DateTimeOffset(2026, 5, 20, 10, 0, 0, TimeSpan.FromHours(8)),
            DueAt(AtTen, new DateTimeOffset(2026, 5, 20, 9, 59, 0, TimeSpan.FromHours(8)), Profile()));

    [Fact]
    public void The_time_of_day_is_in_the_persons_time_zone()
    {
        var newYork = Profile(timeZone: "America/New_York");
        // 08:00 in Shanghai is 20:00 the evening before in New York (EDT, UTC-4): ten the next morning there.
        Assert.Equal(new DateTimeOffset(2026, 5, 20, 10, 0, 0, TimeSpan.FromHours(-4)), DueAt(AtTen, Now, newYork));
        // 11:00 in New York: ten the next day.
        Assert.Equal(new DateTimeOffset(2026, 5, 21, 10, 0, 0, TimeSpan.FromHours(-4)),
            DueAt(AtTen, new DateTimeOffset(2026, 5, 20, 11, 0, 0, TimeSpan.FromHours(-4)), newYork));
        // 09:00 in New York: ten the same day, though it is already 21:00 in Shanghai.
        Assert.Equal(new DateTimeOffset(2026, 5, 20, 10, 0, 0, TimeSpan.FromHours(-4)),
            DueAt(AtTen, new DateTimeOffset(2026, 5, 20, 9, 0, 0, TimeSpan.FromHours(-4)), newYork));
    }

    [Fact]
    public void An_unknown_time_zone_falls_back_to_China_time() =>
        Assert.Equal(new DateTimeOffset(2026, 5, 20, 10, 0, 0, TimeSpan.FromHours(8)), DueAt(AtTen, Now, Profile(timeZone: "Mars/Olympus")));

    [Fact]
    public void A_time_skipped_by_a_clock_change_falls_forward()
    {
        // New York springs forward at 02:00 on 8 March 2026: 02:30 does not exist that day.
        var j = Nodes("""{"a": {"type": "delay", "at": "02:30", "next": "done"}, "done": {"type": "exit"}}""");
        var midnight = new DateTimeOffset(2026, 3, 8, 0, 0, 0, TimeSpan.FromHours(-5));
        Assert.Equal(new DateTimeOffset(2026, 3, 8, 3, 0, 0, TimeSpan.FromHours(-4)), DueAt(j, midnight, Profile(timeZone: "America/New_York")));
    }

    [Fact]
    public void Until_a_date_attribute_with_an_offset()
    {
        var birthday = Profile(attributes: ("birthday", "2026-06-01"));
        // A date is midnight China time; a day before it.
        Assert.Equal(new DateTimeOffset(2026, 5, 31, 0, 0, 0, TimeSpan.FromHours(8)), DueAt(Until("birthday", "-1d"), Now, birthday));
        Assert.Equal(new DateTimeOffset(2026, 6, 1, 9, 0, 0, TimeSpan.FromHours(8)), DueAt(Until("birthday", "9h"), Now, birthday));
        Assert.Equal(new DateTimeOffset(2026, 6, 1, 0, 0, 0, TimeSpan.FromHours(8)), DueAt(Until("birthday"), Now, birthday));

        var renewal = Profile(attributes: ("renewal", "2026-06-01T09:30:00Z"));
        Assert.Equal(new DateTimeOffset(2026, 6, 1, 11, 30, 0, TimeSpan.Zero), DueAt(Until("renewal", "+2h"), Now, renewal));
    }

    [Fact]
    public void Until_a_date_attribute_needs_the_profile() =>
        Assert.Equal(StepOutcome.NeedsProfile, Enter(Until("birthday"), NewRun(Until("birthday")), Now, profile: null, loaded: false).Outcome);

    [Theory]
    [InlineData(null)]
    [InlineData("next spring")]
    [InlineData(20260601)]
    public void Without_a_date_in_the_attribute_the_run_goes_on_at_once(object? value)
    {
        var j = Until("birthday", "-1d");
        var person = value switch
        {
            null => Profile(),
            string s => Profile(attributes: ("birthday", s)),
            int n => Profile(attributes: ("birthday", n)),
            _ => throw new ArgumentException("value"),
        };
        var r = Enter(j, NewRun(j), Now, person);
        Assert.Equal((InstanceStatus.Completed, "done"), (r.Instance.Status, r.Instance.Node));
        Assert.Null(r.TimerAt);
        Assert.Equal(new PathStep("a", Now, "next", "attribute 'birthday' is not a date; went on at once"), r.Instance.Path[0]);
    }

    [Fact]
    public void A_date_already_past_goes_on_at_once_without_a_note()
    {
        var j = Until("birthday", "-1d");
        var r = Enter(j, NewRun(j), Now, Profile(attributes: ("birthday", "2026-05-20")));
        Assert.Equal(InstanceStatus.Completed, r.Instance.Status);
        Assert.Equal(new PathStep("a", Now, "next"), r.Instance.Path[0]);
        Assert.Null(r.TimerAt);
    }
}
