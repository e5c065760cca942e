using System.Text.Json.Nodes;
using Siyu.Core.Conditions;

namespace Siyu.Core.Tests.Tags;

public sealed class PropertyFilterTests
{
    private static readonly DateTimeOffset Now = new(2026, 5, 20, 10, 0, 0, TimeSpan.FromHours(8));

    private static PropertyFilter Parse(string json)
    {
        var errors = new List<string>();
        var filter = PropertyFilter.Parse(JsonNode.Parse(json), "where", errors);
        Assert.Empty(errors);
        return Assert.IsType<PropertyFilter>(filter);
    }

    private static List<string> Errors(string json)
    {
        var errors = new List<string>();
        Assert.Null(PropertyFilter.Parse(JsonNode.Parse(json), "where", errors));
        Assert.NotEmpty(errors);
        return errors;
    }

    private static JsonObject Props(string json) => JsonNode.Parse(json)!.AsObject();

    [Fact]
    public void Every_condition_must_match()
    {
        var filter = Parse("""
            [{"property": "category", "type": "string", "op": "eq", "value": "milk_powder"},
             {"property": "total", "op": "gte", "value": 200}]
            """);
        Assert.True(filter.Matches(Props("""{"category": "milk_powder", "total": 299}"""), Now));
        Assert.False(filter.Matches(Props("""{"category": "milk_powder", "total": 99}"""), Now));
        Assert.False(filter.Matches(Props("""{"category": "diapers", "total": 299}"""), Now));
        Assert.False(filter.Matches(Props("""{"total": 299}"""), Now));
        Assert.Equal(2, filter.Conditions.Count);
        Assert.Equal("total", filter.Conditions[1].Property);
    }

    [Fact]
    public void A_dotted_property_reads_into_nested_objects()
    {
        var filter = Parse("""[{"property": "order.shipping.address.city", "op": "eq", "value": "杭州"}]""");
        Assert.Equal(["order", "shipping", "address", "city"], filter.Conditions[0].Steps);
        Assert.True(filter.Matches(Props("""{"order": {"shipping": {"address": {"city": "杭州"}}}}"""), Now));
        Assert.False(filter.Matches(Props("""{"order": {"shipping": {"address": {"city": "宁波"}}}}"""), Now));
        Assert.False(filter.Matches(Props("""{"order": {"shipping": "express"}}"""), Now));
        Assert.False(filter.Matches(Props("""{"order": [{"shipping": {}}]}"""), Now));
        Assert.False(filter.Matches(Props("""{"order.shipping.address.city": "杭州"}"""), Now));
    }

    [Fact]
    public void Without_properties_every_property_is_missing()
    {
        var absent = Parse("""[{"property": "coupon", "op": "notExists"}]""");
        Assert.True(absent.Matches(null, Now));
        Assert.True(absent.Matches(Props("{}"), Now));
        Assert.True(absent.Matches(Props("""{"coupon": null}"""), Now));
        Assert.False(absent.Matches(Props("""{"coupon": "SPRING"}"""), Now));

        var present = Parse("""[{"property": "coupon", "op": "eq", "value": "SPRING"}]""");
        Assert.False(present.Matches(null, Now));
    }

    [Fact]
    public void Dates_in_properties_use_the_evaluation_time()
    {
        var filter = Parse("""[{"property": "paidAt", "type": "date", "op": "withinLastDays", "value": 1}]""");
        Assert.True(filter.Matches(Props("""{"paidAt": "2026-05-20T00:30:00+08:00"}"""), Now));
        Assert.False(filter.Matches(Props("""{"paidAt": "2026-05-19T23:30:00+08:00"}"""), Now));
    }

    [Fact]
    public void An_unknown_operator_is_reported_with_its_path() =>
        Assert.Equal(
            ["where[1].op: unknown operator 'like' (allowed: eq, ne, in, notIn, gt, gte, lt, lte, contains, startsWith, exists, notExists, withinLastDays, moreThanDaysAgo)"],
            Errors("""[{"property": "a", "op": "eq", "value": 1}, {"property": "b", "op": "like", "value": "x%"}]"""));

    [Fact]
    public void Every_problem_of_every_entry_is_reported()
    {
        var errors = Errors("""
            [{"property": "a", "type": "float128", "op": "eq", "value": 1},
             "category",
             {"op": "eq", "value": 1, "extra": true},
             {"property": "a.b.c.d.e", "op": "exists"},
             {"property": "a..b", "op": "exists"},
             {"property": 7, "op": "gt", "value": "x"}]
            """);
        Assert.Equal(
        [
            "where[0].type: unknown type 'float128' (allowed: string, number, boolean, date)",
            "where[1]: must be an object with property, op and value",
            "where[2]: unknown key 'extra' (allowed in a property condition: property, type, op, value)",
            "where[2].property: is required",
            "where[3].property: at most 4 levels deep (like a.b.c.d)",
            "where[4].property: each part of a property path must be 1-100 characters without control characters",
            "where[5].property: must be a string, not a number",
            "where[5].op: 'gt' does not apply to string values (allowed for string: eq, ne, in, notIn, contains, startsWith, exists, notExists); for dates add \"type\": \"date\"",
        ], errors);
    }

    [Theory]
    [InlineData("{}")]
    [InlineData("\"category = milk\"")]
    [InlineData("[]")]
    [InlineData("null")]
    public void A_filter_is_a_non_empty_array(string json) =>
        Assert.Equal(["where: must be an array of 1 to 20 conditions, e.g. [{\"property\": \"category\", \"op\": \"eq\", \"value\": \"milk_powder\"}]"], Errors(json));

    [Fact]
    public void At_most_twenty_conditions()
    {
        var entries = new JsonArray();
        for (var i = 0; i < PropertyFilter.MaxConditions; i++) entries.Add(new JsonObject { ["property"] = "p" + i, ["op"] = "exists" });
        var errors = new List<string>();
        Assert.NotNull(PropertyFilter.Parse(entries, "where", errors));
        entries.Add(new JsonObject { ["property"] = "one-more", ["op"] = "exists" });
        Assert.Null(PropertyFilter.Parse(entries, "where", errors));
        Assert.Single(errors);
    }

    [Fact]
    public void A_control_character_in_a_property_name_is_refused() =>
        Assert.Equal(["where[0].property: each part of a property path must be 1-100 characters without control characters"],
            Errors("""[{"property": "cate\u0007gory", "op": "exists"}]"""));

    [Fact]
    public void A_repeated_key_is_reported_not_thrown() =>
        Assert.Equal(["where: names the same key twice in one object"], Errors("""[{"property": "a", "op": "eq", "op": "ne", "value": 1}]"""));
}
