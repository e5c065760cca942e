using System.Text.Json.Nodes;
using Siyu.Core.Conditions;

namespace Siyu.Core.Tests.Segments;

public sealed class ComparisonTests
{
    /// <summary>10:00 on 20 May 2026 in China (02:00 UTC).</summary>
    private static readonly DateTimeOffset Now = new(2026, 5, 20, 10, 0, 0, TimeSpan.FromHours(8));

    private const string Missing = "<missing>";

    private static Comparison Parse(string json)
    {
        var errors = new List<string>();
        var comparison = Comparison.Parse(JsonNode.Parse(json)!.AsObject(), "c", errors);
        Assert.Empty(errors);
        return Assert.IsType<Comparison>(comparison);
    }

    private static List<string> Errors(string json)
    {
        var errors = new List<string>();
        Assert.Null(Comparison.Parse(JsonNode.Parse(json)!.AsObject(), "c", errors));
        Assert.NotEmpty(errors);
        return errors;
    }

    private static bool Matches(string rule, string value) =>
        Parse(rule).Matches(value == Missing ? null : JsonNode.Parse(value), Now);

    // ---- string ----

    [Theory]
    [InlineData("""{"type":"string","op":"eq","value":"上海"}""", "\"上海\"", true)]
    [InlineData("""{"type":"string","op":"eq","value":"上海"}""", "\"北京\"", false)]
    [InlineData("""{"type":"string","op":"eq","value":"a"}""", "\"A\"", false)]
    [InlineData("""{"type":"string","op":"eq","value":"5"}""", "5", false)]
    [InlineData("""{"type":"string","op":"eq","value":"a"}""", Missing, false)]
    [InlineData("""{"type":"string","op":"eq","value":"a"}""", "null", false)]
    [InlineData("""{"type":"string","op":"ne","value":"a"}""", "\"b\"", true)]
    [InlineData("""{"type":"string","op":"ne","value":"a"}""", "\"a\"", false)]
    [InlineData("""{"type":"string","op":"ne","value":"a"}""", Missing, true)]
    [InlineData("""{"type":"string","op":"ne","value":"a"}""", "5", true)]
    [InlineData("""{"type":"string","op":"in","value":["a","b"]}""", "\"b\"", true)]
    [InlineData("""{"type":"string","op":"in","value":["a","b"]}""", "\"c\"", false)]
    [InlineData("""{"type":"string","op":"in","value":["a","b"]}""", Missing, false)]
    [InlineData("""{"type":"string","op":"notIn","value":["a","b"]}""", "\"c\"", true)]
    [InlineData("""{"type":"string","op":"notIn","value":["a","b"]}""", "\"a\"", false)]
    [InlineData("""{"type":"string","op":"notIn","value":["a","b"]}""", Missing, true)]
    [InlineData("""{"type":"string","op":"contains","value":"奶粉"}""", "\"有机奶粉 900g\"", true)]
    [InlineData("""{"type":"string","op":"contains","value":"ilk"}""", "\"MILK\"", false)]
    [InlineData("""{"type":"string","op":"contains","value":"ilk"}""", Missing, false)]
    [InlineData("""{"type":"string","op":"startsWith","value":"138"}""", "\"13800138000\"", true)]
    [InlineData("""{"type":"string","op":"startsWith","value":"138"}""", "\"0138\"", false)]
    [InlineData("""{"type":"string","op":"startsWith","value":"138"}""", "138", false)]
    public void String_operators(string rule, string value, bool expected) => Assert.Equal(expected, Matches(rule, value));

    // ---- number ----

    [Theory]
    [InlineData("""{"type":"number","op":"eq","value":3}""", "3", true)]
    [InlineData("""{"type":"number","op":"eq","value":3}""", "3.0", true)]
    [InlineData("""{"type":"number","op":"eq","value":0.3}""", "0.30", true)]
    [InlineData("""{"type":"number","op":"eq","value":3}""", "\"3\"", false)]
    [InlineData("""{"type":"number","op":"eq","value":3}""", Missing, false)]
    [InlineData("""{"type":"number","op":"ne","value":3}""", "4", true)]
    [InlineData("""{"type":"number","op":"ne","value":3}""", "3", false)]
    [InlineData("""{"type":"number","op":"ne","value":3}""", "\"3\"", true)]
    [InlineData("""{"type":"number","op":"ne","value":3}""", Missing, true)]
    [InlineData("""{"type":"number","op":"in","value":[1,2.5]}""", "2.5", true)]
    [InlineData("""{"type":"number","op":"in","value":[1,2.5]}""", "2", false)]
    [InlineData("""{"type":"number","op":"notIn","value":[1,2.5]}""", "2", true)]
    [InlineData("""{"type":"number","op":"notIn","value":[1,2.5]}""", "1", false)]
    [InlineData("""{"type":"number","op":"notIn","value":[1,2.5]}""", Missing, true)]
    [InlineData("""{"type":"number","op":"gt","value":100}""", "100.01", true)]
    [InlineData("""{"type":"number","op":"gt","value":100}""", "100", false)]
    [InlineData("""{"type":"number","op":"gte","value":100}""", "100", true)]
    [InlineData("""{"type":"number","op":"gte","value":100}""", "99.99", false)]
    [InlineData("""{"type":"number","op":"lt","value":-1}""", "-1.5", true)]
    [InlineData("""{"type":"number","op":"lt","value":-1}""", "-1", false)]
    [InlineData("""{"type":"number","op":"lte","value":-1}""", "-1", true)]
    [InlineData("""{"type":"number","op":"lte","value":-1}""", "0", false)]
    [InlineData("""{"type":"number","op":"gt","value":1}""", "\"5\"", false)]
    [InlineData("""{"type":"number","op":"gt","value":1}""", Missing, false)]
    [InlineData("""{"type":"number","op":"lt","value":1}""", "true", false)]
    [InlineData("""{"type":"number","op":"gt","value":1}""", "1e400", false)]
    public void Number_operators(string rule, string value, bool expected) => Assert.Equal(expected, Matches(rule, value));

    [Fact]
    public void Numbers_built_in_code_compare_like_parsed_ones()
    {
        var gte = Parse("""{"type":"number","op":"gte","value":3}""");
        Assert.True(gte.Matches(JsonValue.Create(3), Now));
        Assert.True(gte.Matches(JsonValue.Create(3L), Now));
        Assert.True(gte.Matches(JsonValue.Create(3.5), Now));
        Assert.True(gte.Matches(JsonValue.Create(3.0m), Now));
        Assert.False(gte.Matches(JsonValue.Create(2.5f), Now));
        Assert.False(gte.Matches(JsonValue.Create(double.PositiveInfinity), Now));
    }

    // ---- boolean ----

    [Theory]
    [InlineData("""{"type":"boolean","op":"eq","value":true}""", "true", true)]
    [InlineData("""{"type":"boolean","op":"eq","value":true}""", "false", false)]
    [InlineData("""{"type":"boolean","op":"eq","value":true}""", "\"true\"", false)]
    [InlineData("""{"type":"boolean","op":"eq","value":false}""", Missing, false)]
    [InlineData("""{"type":"boolean","op":"ne","value":true}""", "false", true)]
    [InlineData("""{"type":"boolean","op":"ne","value":true}""", Missing, true)]
    [InlineData("""{"type":"boolean","op":"ne","value":true}""", "true", false)]
    [InlineData("""{"type":"boolean","op":"in","value":[false]}""", "false", true)]
    [InlineData("""{"type":"boolean","op":"in","value":[false]}""", "true", false)]
    [InlineData("""{"type":"boolean","op":"notIn","value":[false]}""", "true", true)]
    [InlineData("""{"type":"boolean","op":"notIn","value":[true,false]}""", "true", false)]
    [InlineData("""{"type":"boolean","op":"notIn","value":[true,false]}""", "1", true)]
    public void Boolean_operators(string rule, string value, bool expected) => Assert.Equal(expected, Matches(rule, value));

    // ---- exists ----

    [Theory]
    [InlineData("""{"op":"exists"}""", "\"x\"", true)]
    [InlineData("""{"op":"exists"}""", "0", true)]
    [InlineData("""{"op":"exists"}""", "false", true)]
    [InlineData("""{"op":"exists"}""", "{}", true)]
    [InlineData("""{"op":"exists"}""", "null", false)]
    [InlineData("""{"op":"exists"}""", Missing, false)]
    [InlineData("""{"op":"notExists"}""", Missing, true)]
    [InlineData("""{"op":"notExists"}""", "null", true)]
    [InlineData("""{"op":"notExists"}""", "\"\"", false)]
    [InlineData("""{"type":"number","op":"exists"}""", "\"not a number\"", true)]
    public void Exists_asks_only_whether_there_is_a_value(string rule, string value, bool expected) => Assert.Equal(expected, Matches(rule, value));

    [Fact]
    public void Exists_without_a_type_has_no_type()
    {
        Assert.Null(Parse("""{"op":"exists"}""").Type);
        Assert.Equal(ComparisonOp.NotExists, Parse("""{"op":"notExists"}""").Op);
    }

    // ---- date ----

    [Theory]
    [InlineData("""{"type":"date","op":"eq","value":"2026-05-01T08:00:00+08:00"}""", "\"2026-05-01T00:00:00Z\"", true)]
    [InlineData("""{"type":"date","op":"eq","value":"2026-05-01T08:00:00+08:00"}""", "\"2026-05-01T08:00:00Z\"", false)]
    [InlineData("""{"type":"date","op":"eq","value":"2026-05-01T08:00:00+08:00"}""", "\"2026-05-01T00:00:00\"", false)]
    [InlineData("""{"type":"date","op":"eq","value":"2026-05-01T08:00:00+08:00"}""", "\"2026-05-01\"", false)]
    [InlineData("""{"type":"date","op":"ne","value":"2026-05-01T08:00:00+08:00"}""", "\"2026-05-01T00:00:00Z\"", false)]
    [InlineData("""{"type":"date","op":"ne","value":"2026-05-01T08:00:00+08:00"}""", Missing, true)]
    [InlineData("""{"type":"date","op":"in","value":["2026-05-01T00:00:00Z","2026-06-01T00:00:00Z"]}""", "\"2026-06-01T08:00:00+08:00\"", true)]
    [InlineData("""{"type":"date","op":"notIn","value":["2026-05-01T00:00:00Z"]}""", "\"2026-05-01T08:00:00+08:00\"", false)]
    [InlineData("""{"type":"date","op":"gt","value":"2026-05-01T00:00:00Z"}""", "\"2026-05-01T08:00:01+08:00\"", true)]
    [InlineData("""{"type":"date","op":"gt","value":"2026-05-01T00:00:00Z"}""", "\"2026-05-01T08:00:00+08:00\"", false)]
    [InlineData("""{"type":"date","op":"gte","value":"2026-05-01T00:00:00Z"}""", "\"2026-05-01T08:00:00+08:00\"", true)]
    [InlineData("""{"type":"date","op":"lt","value":"2026-05-01T00:00:00Z"}""", "\"2026-04-30T23:59:59.999Z\"", true)]
    [InlineData("""{"type":"date","op":"lt","value":"2026-05-01T00:00:00Z"}""", "\"2026-05-01T00:00:00Z\"", false)]
    [InlineData("""{"type":"date","op":"lte","value":"2026-05-01T00:00:00Z"}""", "\"2026-05-01T00:00:00Z\"", true)]
    [InlineData("""{"type":"date","op":"lte","value":"2026-05-01T00:00:00Z"}""", "1777593600", false)]
    [InlineData("""{"type":"date","op":"gt","value":"2026-05-01T00:00:00Z"}""", Missing, false)]
    public void Date_operators_compare_instants(string rule, string value, bool expected) => Assert.Equal(expected, Matches(rule, value));

    [Theory]
    // Today in China began at 2026-05-20T00:00+08:00 (2026-05-19T16:00Z); now is 10:00 China time.
    [InlineData(1, "2026-05-20T00:00:00+08:00", true)]
    [InlineData(1, "2026-05-19T16:00:00Z", true)]
    [InlineData(1, "2026-05-19T15:59:59Z", false)]
    [InlineData(1, "2026-05-19T23:59:59+08:00", false)]
    [InlineData(1, "2026-05-20T10:00:00+08:00", true)]
    [InlineData(1, "2026-05-20T10:00:01+08:00", false)]
    [InlineData(7, "2026-05-14T00:00:00+08:00", true)]
    [InlineData(7, "2026-05-13T23:59:59+08:00", false)]
    [InlineData(3650, "2017-01-01T00:00:00+08:00", true)]
    public void WithinLastDays_counts_today_and_the_days_before_in_China_time(int days, string value, bool expected) =>
        Assert.Equal(expected, Matches($$"""{"type":"date","op":"withinLastDays","value":{{days}}}""", $"\"{value}\""));

    [Theory]
    [InlineData(1, "2026-05-19T23:59:59+08:00", true)]
    [InlineData(1, "2026-05-20T00:00:00+08:00", false)]
    [InlineData(7, "2026-05-13T23:59:59+08:00", true)]
    [InlineData(7, "2026-05-13T15:59:59Z", true)]
    [InlineData(7, "2026-05-13T16:00:00Z", false)]
    [InlineData(7, "2026-05-14T00:00:00+08:00", false)]
    [InlineData(7, "2030-01-01T00:00:00+08:00", false)]
    public void MoreThanDaysAgo_is_every_day_before_the_window(int days, string value, bool expected) =>
        Assert.Equal(expected, Matches($$"""{"type":"date","op":"moreThanDaysAgo","value":{{days}}}""", $"\"{value}\""));

    [Fact]
    public void WithinLastDays_and_MoreThanDaysAgo_split_the_past_without_gap_or_overlap()
    {
        var within = Parse("""{"type":"date","op":"withinLastDays","value":30}""");
        var before = Parse("""{"type":"date","op":"moreThanDaysAgo","value":30}""");
        for (var hours = 0; hours < 24 * 40; hours += 5)
        {
            JsonNode value = Now.AddHours(-hours).ToString("yyyy-MM-ddTHH:mm:sszzz", System.Globalization.CultureInfo.InvariantCulture);
            Assert.NotEqual(within.Matches(value, Now), before.Matches(value, Now));
        }
    }

    [Fact]
    public void Missing_and_unreadable_dates_match_neither_day_operator()
    {
        foreach (var op in new[] { "withinLastDays", "moreThanDaysAgo" })
        {
            var c = Parse($$"""{"type":"date","op":"{{op}}","value":30}""");
            Assert.False(c.Matches(null, Now));
            Assert.False(c.Matches(JsonValue.Create("yesterday"), Now));
            Assert.False(c.Matches(JsonValue.Create(20260501), Now));
        }
    }

    // ---- type inference ----

    [Theory]
    [InlineData("""{"op":"eq","value":"a"}""", ComparisonType.String)]
    [InlineData("""{"op":"eq","value":1.5}""", ComparisonType.Number)]
    [InlineData("""{"op":"eq","value":false}""", ComparisonType.Boolean)]
    [InlineData("""{"op":"in","value":[1,2]}""", ComparisonType.Number)]
    [InlineData("""{"op":"gt","value":10}""", ComparisonType.Number)]
    [InlineData("""{"op":"eq","value":"2026-05-01T00:00:00Z"}""", ComparisonType.String)]
    public void Without_a_type_the_operand_decides(string rule, ComparisonType expected) => Assert.Equal(expected, Parse(rule).Type);

    [Fact]
    public void An_inferred_string_comparison_of_a_date_text_compares_text()
    {
        Assert.True(Matches("""{"op":"eq","value":"2026-05-01T00:00:00Z"}""", "\"2026-05-01T00:00:00Z\""));
        Assert.False(Matches("""{"op":"eq","value":"2026-05-01T00:00:00Z"}""", "\"2026-05-01T08:00:00+08:00\""));
    }

    // ---- validation ----

    [Fact]
    public void An_unknown_type_is_named_with_the_allowed_ones() =>
        Assert.Equal(["c.type: unknown type 'float128' (allowed: string, number, boolean, date)"], Errors("""{"type":"float128","op":"eq","value":1}"""));

    [Fact]
    public void An_unknown_operator_is_named_with_the_allowed_ones() =>
        Assert.Equal(["c.op: unknown operator 'like' (allowed: eq, ne, in, notIn, gt, gte, lt, lte, contains, startsWith, exists, notExists, withinLastDays, moreThanDaysAgo)"],
            Errors("""{"type":"string","op":"like","value":"a%"}"""));

    [Fact]
    public void Unknown_type_and_operator_are_both_reported() =>
        Assert.Equal(2, Errors("""{"type":"float128","op":"like","value":1}""").Count);

    [Theory]
    [InlineData("""{"type":"string","value":"a"}""", "c.op: is required")]
    [InlineData("""{"type":"string","op":5,"value":"a"}""", "c.op: must be a string")]
    [InlineData("""{"type":5,"op":"eq","value":"a"}""", "c.type: must be a string")]
    [InlineData("""{"type":"string","op":"gt","value":"a"}""", "c.op: 'gt' does not apply to string values (allowed for string: eq, ne, in, notIn, contains, startsWith, exists, notExists); for dates add \"type\": \"date\"")]
    [InlineData("""{"op":"lte","value":"2026-05-01T00:00:00Z"}""", "c.op: 'lte' does not apply to string values")]
    [InlineData("""{"type":"number","op":"contains","value":1}""", "c.op: 'contains' does not apply to number values")]
    [InlineData("""{"type":"boolean","op":"gt","value":true}""", "c.op: 'gt' does not apply to boolean values")]
    [InlineData("""{"type":"date","op":"startsWith","value":"2026"}""", "c.op: 'startsWith' does not apply to date values")]
    [InlineData("""{"type":"number","op":"withinLastDays","value":3}""", "c.op: 'withinLastDays' does not apply to number values")]
    [InlineData("""{"op":"withinLastDays","value":3}""", "c.type: 'withinLastDays' compares dates: add \"type\": \"date\"")]
    [InlineData("""{"op":"moreThanDaysAgo","value":3}""", "c.type: 'moreThanDaysAgo' compares dates")]
    [InlineData("""{"type":"date","op":"withinLastDays","value":0}""", "c.value: must be a whole number of days from 1 to 3650")]
    [InlineData("""{"type":"date","op":"withinLastDays","value":3651}""", "c.value: must be a whole number of days from 1 to 3650")]
    [InlineData("""{"type":"date","op":"moreThanDaysAgo","value":7.5}""", "c.value: must be a whole number of days")]
    [InlineData("""{"type":"date","op":"moreThanDaysAgo","value":"7"}""", "c.value: must be a whole number of days")]
    [InlineData("""{"type":"string","op":"eq"}""", "c.value: is required for 'eq'")]
    [InlineData("""{"type":"string","op":"eq","value":null}""", "c.value: is required for 'eq'")]
    [InlineData("""{"op":"exists","value":1}""", "c.value: 'exists' takes no value")]
    [InlineData("""{"op":"notExists","value":"x"}""", "c.value: 'notExists' takes no value")]
    [InlineData("""{"type":"string","op":"eq","value":5}""", "c.value: must be a string, not a number")]
    [InlineData("""{"type":"number","op":"eq","value":"5"}""", "c.value: must be a number, not a string")]
    [InlineData("""{"type":"number","op":"eq","value":1e400}""", "c.value: number out of range")]
    [InlineData("""{"type":"boolean","op":"eq","value":"true"}""", "c.value: must be true or false, not a string")]
    [InlineData("""{"type":"date","op":"gt","value":"2026-05-01T00:00:00"}""", "c.value: must be an ISO 8601 date-time with offset")]
    [InlineData("""{"type":"date","op":"gt","value":"2026-05-01"}""", "c.value: must be an ISO 8601 date-time with offset")]
    [InlineData("""{"type":"date","op":"gt","value":"2026-13-01T00:00:00Z"}""", "c.value: must be an ISO 8601 date-time with offset")]
    [InlineData("""{"type":"date","op":"gt","value":1777593600}""", "c.value: must be an ISO 8601 date-time with offset")]
    [InlineData("""{"op":"eq","value":{"a":1}}""", "c.value: must be a string, number or boolean, or name the type")]
    [InlineData("""{"op":"eq","value":[1]}""", "c.value: must be a string, number or boolean, or name the type")]
    [InlineData("""{"type":"string","op":"in","value":"a"}""", "c.value: 'in' needs an array of 1 to 100 string values")]
    [InlineData("""{"type":"string","op":"notIn","value":[]}""", "c.value: 'notIn' needs an array of 1 to 100 string values")]
    [InlineData("""{"type":"string","op":"in","value":["a",2]}""", "c.value[1]: must be a string, not a number")]
    [InlineData("""{"op":"in","value":[1,"2"]}""", "c.value[1]: must be a number, not a string")]
    [InlineData("""{"type":"string","op":"contains","value":""}""", "c.value: 'contains' needs some text")]
    [InlineData("""{"type":"string","op":"startsWith","value":""}""", "c.value: 'startsWith' needs some text")]
    public void Mistakes_are_reported_with_their_path(string rule, string expected) =>
        Assert.Contains(Errors(rule), e => e.StartsWith(expected, StringComparison.Ordinal));

    [Fact]
    public void An_in_list_over_the_limit_is_refused()
    {
        var values = new JsonArray();
        for (var i = 0; i <= Comparison.MaxListValues; i++) values.Add(i);
        var rule = new JsonObject { ["type"] = "number", ["op"] = "in", ["value"] = values };
        var errors = new List<string>();
        Assert.Null(Comparison.Parse(rule, "c", errors));
        Assert.Equal(["c.value: 'in' needs an array of 1 to 100 number values"], errors);
    }

    [Fact]
    public void Every_bad_element_of_a_list_is_reported() =>
        Assert.Equal(["c.value[0]: must be a number, not a boolean", "c.value[2]: must be a number, not null"],
            Errors("""{"type":"number","op":"in","value":[true,1,null]}"""));

    [Fact]
    public void Text_operands_are_bounded() =>
        Assert.Equal([$"c.value: at most {Comparison.MaxTextLength} characters"],
            Errors($$"""{"type":"string","op":"eq","value":"{{new string('x', Comparison.MaxTextLength + 1)}}"}"""));

    [Theory]
    [InlineData("{}")]
    [InlineData("""{"op":null,"type":null,"value":null}""")]
    [InlineData("""{"op":[],"type":{},"value":[[]]}""")]
    [InlineData("""{"op":"in","value":[{},[],null,"x"]}""")]
    [InlineData("""{"op":"in","type":"date","value":[1,"x",null]}""")]
    [InlineData("""{"op":"withinLastDays","type":"date","value":-99999999999999999999999}""")]
    public void Nonsense_is_reported_never_thrown(string rule) => Assert.NotEmpty(Errors(rule));

    [Theory]
    [InlineData("eq", ComparisonOp.Eq)]
    [InlineData("notIn", ComparisonOp.NotIn)]
    [InlineData("moreThanDaysAgo", ComparisonOp.MoreThanDaysAgo)]
    public void Operator_names_round_trip(string name, ComparisonOp op)
    {
        Assert.True(Comparison.TryParseOp(name, out var parsed));
        Assert.Equal(op, parsed);
        Assert.Equal(name, Comparison.NameOf(op));
        Assert.False(Comparison.TryParseOp(name.ToUpperInvariant(), out _));
    }

    [Fact]
    public void Every_type_has_exists_and_equality()
    {
        foreach (var type in Enum.GetValues<ComparisonType>())
        {
            var ops = Comparison.OpsFor(type);
            Assert.Contains(ComparisonOp.Exists, ops);
            Assert.Contains(ComparisonOp.Eq, ops);
            Assert.Contains(ComparisonOp.NotIn, ops);
        }
    }
}
