using System.Text;
using Siyu.Core.Storage;

namespace Siyu.Core.Tests.Storage;

public class KeyEncodingTests
{
    /// <summary>What Table Storage refuses in a key, plus our own separator.</summary>
    private static bool Forbidden(char c) => c is '/' or '\\' or '#' or '?' or '~' || char.IsControl(c);

    private static void AssertSafe(string escaped)
    {
        var bad = escaped.Where(Forbidden).Select(c => $"U+{(int)c:X4}").ToList();
        Assert.True(bad.Count == 0, $"'{escaped}' contains {string.Join(", ", bad)}");
    }

    private static readonly string[] Tricky =
    [
        "",
        "plain-id_123",
        "openid:wx123:oAbc",
        "/",
        "\\",
        "#",
        "?",
        "%",
        "~",
        "a/b\\c#d?e%f~g",
        "////",
        "%%%%",
        "%0041",            // looks like an escape already
        "%002F",
        "%00",
        "%0",
        "100%",
        "~e~order:1",
        "\u0000",
        "\u0001\u001f",
        "\t\r\n",
        "\u007f\u0080\u009f",
        "\u0085",
        "订单/2024#1?x",
        "用户~张三",
        "emoji😀/🎉",
        "\ud83d",           // a lone high surrogate
        "\udc00x",          // a lone low surrogate
        "\u200b\ufeff",     // zero-width space, BOM
        "\u00a0 \u3000",    // non-breaking and ideographic spaces
        "'quoted' \"double\"",
        "phone:+8613800138000",
        "wx:wx1:evt:oAbc:1714550400:subscribe",
    ];

    public static TheoryData<string> TrickyStrings => new(Tricky);

    [Theory]
    [MemberData(nameof(TrickyStrings))]
    public void Escape_round_trips(string value)
    {
        var escaped = KeyEncoding.Escape(value);
        Assert.Equal(value, KeyEncoding.Unescape(escaped));
    }

    [Theory]
    [MemberData(nameof(TrickyStrings))]
    public void Escaped_text_has_no_forbidden_characters(string value) => AssertSafe(KeyEncoding.Escape(value));

    [Theory]
    [InlineData("plain-id_123")]
    [InlineData("openid:wx123:oAbc")]
    [InlineData("phone:+8613800138000")]
    [InlineData("用户 张三")]
    [InlineData("")]
    public void Ordinary_ids_stay_readable(string value) => Assert.Same(value, KeyEncoding.Escape(value));

    [Theory]
    [InlineData("/", "%002F")]
    [InlineData("\\", "%005C")]
    [InlineData("#", "%0023")]
    [InlineData("?", "%003F")]
    [InlineData("%", "%0025")]
    [InlineData("~", "%007E")]
    [InlineData("\n", "%000A")]
    [InlineData("\u009f", "%009F")]
    [InlineData("a/b", "a%002Fb")]
    [InlineData("x~e~y", "x%007Ee%007Ey")]
    [InlineData("订单/1", "订单%002F1")]
    public void Escapes_as_percent_and_four_hex_digits(string value, string escaped) =>
        Assert.Equal(escaped, KeyEncoding.Escape(value));

    [Fact]
    public void Every_char_round_trips_and_is_safe()
    {
        for (var c = 0; c <= char.MaxValue; c++)
        {
            var value = $"a{(char)c}b";
            var escaped = KeyEncoding.Escape(value);
            if (Forbidden((char)c) || c == '%') Assert.NotEqual(value, escaped);
            else Assert.Equal(value, escaped);
            AssertSafe(escaped);
            Assert.Equal(value, KeyEncoding.Unescape(escaped));
        }
    }

    [Fact]
    public void Random_strings_round_trip_and_are_safe()
    {
        var random = new Random(20240501);
        const string pool = "/\\#?%~ab0Z:_-.\u0000\u0007\n\u007f\u0085订单😀";
        for (var i = 0; i < 2000; i++)
        {
            var sb = new StringBuilder();
            var length = random.Next(0, 40);
            for (var j = 0; j < length; j++)
                sb.Append(random.Next(10) == 0 ? (char)random.Next(0, 0x10000) : pool[random.Next(pool.Length)]);
            var value = sb.ToString();
            var escaped = KeyEncoding.Escape(value);
            AssertSafe(escaped);
            Assert.Equal(value, KeyEncoding.Unescape(escaped));
        }
    }

    [Fact]
    public void Different_values_never_escape_alike()
    {
        var seen = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var value in Tricky)
        {
            var escaped = KeyEncoding.Escape(value);
            if (seen.TryGetValue(escaped, out var other)) Assert.Equal(other, value);
            seen[escaped] = value;
        }
    }

    [Fact]
    public void The_separator_never_survives_escaping_so_composite_keys_split_cleanly()
    {
        var parts = new[] { "tenant~1", "a/b", "x%007Ey" };
        var key = string.Join(KeyEncoding.Separator, parts.Select(KeyEncoding.Escape));
        var back = key.Split(KeyEncoding.Separator).Select(KeyEncoding.Unescape).ToArray();
        Assert.Equal(parts, back);
    }

    [Theory]
    [InlineData("no escapes")]
    [InlineData("%")]
    [InlineData("50%")]
    [InlineData("%00")]
    [InlineData("%002")]
    public void Unescape_leaves_text_without_complete_escapes_alone(string value) =>
        Assert.Equal(value, KeyEncoding.Unescape(value));
}
