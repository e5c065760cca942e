using Siyu.Core.Journeys;

namespace Siyu.Core.Tests.Journeys;

public sealed class DurationsTests
{
    [Theory]
    [InlineData("30s", 0, 0, 0, 30)]
    [InlineData("15m", 0, 0, 15, 0)]
    [InlineData("2h", 0, 2, 0, 0)]
    [InlineData("7d", 7, 0, 0, 0)]
    [InlineData("1d12h", 1, 12, 0, 0)]
    [InlineData("1d2h3m4s", 1, 2, 3, 4)]
    [InlineData("90m", 0, 1, 30, 0)]
    [InlineData("+2h", 0, 2, 0, 0)]
    [InlineData("0s", 0, 0, 0, 0)]
    [InlineData("366d", 366, 0, 0, 0)]
    public void Valid_forms_parse(string text, int days, int hours, int minutes, int seconds)
    {
        Assert.True(Durations.TryParse(text, out var d));
        Assert.Equal(new TimeSpan(days, hours, minutes, seconds), d);
    }

    [Theory]
    [InlineData("-1d", -1, 0)]
    [InlineData("-1d12h", -1, -12)]
    [InlineData("-9h", 0, -9)]
    public void A_minus_sign_negates_the_whole_duration(string text, int days, int hours)
    {
        Assert.True(Durations.TryParse(text, out var d));
        Assert.Equal(TimeSpan.FromDays(days) + TimeSpan.FromHours(hours), d);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("2")]
    [InlineData("h")]
    [InlineData("-")]
    [InlineData("+")]
    [InlineData("12h1d")]
    [InlineData("1h1h")]
    [InlineData("2x")]
    [InlineData("2H")]
    [InlineData("1.5h")]
    [InlineData("2 h")]
    [InlineData(" 2h")]
    [InlineData("2h ")]
    [InlineData("+-2h")]
    [InlineData("--2h")]
    [InlineData("1d-2h")]
    [InlineData("1234567s")]
    [InlineData("1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d")]
    [InlineData("0000000000000000000000000000000001s")]
    [InlineData("２h")]
    public void Invalid_forms_are_refused(string? text)
    {
        Assert.False(Durations.TryParse(text, out var d));
        Assert.Equal(TimeSpan.Zero, d);
    }

    [Fact]
    public void The_longest_form_parses_and_a_number_of_seven_digits_does_not()
    {
        Assert.True(Durations.TryParse("-999999d999999h999999m999999s", out var longest));
        Assert.Equal(-(TimeSpan.FromDays(999999) + TimeSpan.FromHours(999999) + TimeSpan.FromMinutes(999999) + TimeSpan.FromSeconds(999999)), longest);
        Assert.False(Durations.TryParse("1000000s", out _));
        Assert.False(Durations.TryParse(new string('0', 40) + "1s", out _));
    }

    [Theory]
    [InlineData(0, 0, 0, 30, "30s")]
    [InlineData(0, 0, 15, 0, "15m")]
    [InlineData(0, 2, 0, 0, "2h")]
    [InlineData(7, 0, 0, 0, "7d")]
    [InlineData(1, 12, 0, 0, "1d12h")]
    [InlineData(0, 1, 30, 0, "1h30m")]
    [InlineData(1, 2, 3, 4, "1d2h3m4s")]
    [InlineData(400, 0, 0, 1, "400d1s")]
    [InlineData(0, 0, 0, 0, "0s")]
    public void Format_writes_the_shortest_form(int days, int hours, int minutes, int seconds, string expected) =>
        Assert.Equal(expected, Durations.Format(new TimeSpan(days, hours, minutes, seconds)));

    [Fact]
    public void Format_writes_a_negative_duration_with_a_minus() =>
        Assert.Equal("-1d6h", Durations.Format(-new TimeSpan(1, 6, 0, 0)));

    [Theory]
    [InlineData("30s")]
    [InlineData("2h")]
    [InlineData("1d12h")]
    [InlineData("-1d")]
    [InlineData("-2h30m")]
    [InlineData("366d")]
    [InlineData("1d23h59m59s")]
    public void Format_round_trips(string text)
    {
        Assert.True(Durations.TryParse(text, out var d));
        Assert.Equal(text, Durations.Format(d));
        Assert.True(Durations.TryParse(Durations.Format(d), out var again));
        Assert.Equal(d, again);
    }

    [Theory]
    [InlineData("90m", "1h30m")]
    [InlineData("36h", "1d12h")]
    [InlineData("+2h", "2h")]
    [InlineData("3600s", "1h")]
    public void Other_spellings_format_to_the_normal_form_of_the_same_span(string text, string normal)
    {
        Assert.True(Durations.TryParse(text, out var d));
        Assert.Equal(normal, Durations.Format(d));
        Assert.True(Durations.TryParse(normal, out var again));
        Assert.Equal(d, again);
    }
}
