using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Siyu.Core.Validation;

namespace Siyu.Core.Tests.Validation;

public sealed class JsonChecksTests
{
    private static JsonElement Parse(string json) => JsonDocument.Parse(json).RootElement.Clone();

    private static JsonElement ParseBytes(params object[] parts) =>
        JsonDocument.Parse(parts.SelectMany(p => p as byte[] ?? Encoding.UTF8.GetBytes((string)p)).ToArray()).RootElement.Clone();

    private static List<FieldError> TextErrors(JsonElement e)
    {
        var errors = new List<FieldError>();
        JsonText.Check(e, "", errors);
        return errors;
    }

    [Fact]
    public void Strings_and_names_that_are_not_text_are_found_with_their_path()
    {
        var doc = ParseBytes("""{"a": "ok", "b": ["x", "\ud800"], "c": {"d": """, "\"", new byte[] { 0xFF }, "\"", """}, "\udfff": 1, "e": "\ud83d\ude00"}""");
        var errors = TextErrors(doc);
        Assert.Equal(["b[1]", "c.d", ""], errors.Select(e => e.Path));
        Assert.All(errors, e => Assert.Equal(JsonText.Code, e.Code));
        // The parser itself took all of it: only reading the strings would have failed.
        Assert.Throws<InvalidOperationException>(() => doc.GetProperty("b")[1].GetString());
    }

    [Fact]
    public void Text_with_escapes_and_non_ascii_is_text()
    {
        Assert.Empty(TextErrors(Parse("""{"名字": "思域 \u00e9\n\ud83d\ude00", "k\"ey": ["\\", "\/"]}""")));
    }

    [Fact]
    public void A_property_named_twice_is_found()
    {
        var errors = TextErrors(Parse("""{"a": {"x": 1, "x": 2}, "b": 1}"""));
        Assert.Equal([new FieldError("a.x", JsonText.DuplicateCode, "the object names this property twice")], errors);
    }

    private sealed record Person(string? Name, int Age, IReadOnlyList<string> Tags, IReadOnlyList<string?>? Maybe, JsonObject? Context,
        Dictionary<string, Cap>? Caps, DateTimeOffset? At);

    private sealed record Cap(int? PerDay);

    private static List<FieldError> ShapeErrors(string json)
    {
        var errors = new List<FieldError>();
        JsonShape.Check(Parse(json), typeof(Person), JsonSerializerOptions.Web, "", errors);
        return errors;
    }

    [Fact]
    public void Every_value_of_the_wrong_type_or_a_null_where_none_goes_is_listed_by_path()
    {
        var errors = ShapeErrors("""
            {"name": 5, "age": null, "tags": [1, null, "ok"], "maybe": [null, 2], "context": [], "caps": {"sms": {"perDay": "one"}, "email": null},
             "at": "yesterday", "unknown": {"anything": true}}
            """);
        Assert.Equal(
            [
                ("name", JsonShape.WrongType), ("age", JsonShape.NullNotAllowed), ("tags[0]", JsonShape.WrongType), ("tags[1]", JsonShape.NullNotAllowed),
                ("maybe[1]", JsonShape.WrongType), ("context", JsonShape.WrongType), ("caps.sms.perDay", JsonShape.WrongType), ("caps.email", JsonShape.NullNotAllowed),
                ("at", JsonShape.WrongType),
            ],
            errors.Select(e => (e.Path, e.Code)));
        Assert.Equal("must be a string, not the number 5", errors[0].Message);
        Assert.Equal("must be a whole number, not a string", errors[6].Message);
    }

    [Fact]
    public void A_value_of_the_right_shape_reads_as_the_type()
    {
        var errors = new List<FieldError>();
        var person = JsonShape.Read<Person>(Parse("""{"name": null, "age": 3, "tags": ["a"], "caps": {"sms": {"perDay": 1}}, "context": {"x": [1]}}"""),
            JsonSerializerOptions.Web, "", errors);
        Assert.Empty(errors);
        Assert.Equal(3, person!.Age);
        Assert.Equal(1, person.Caps!["sms"].PerDay);
        Assert.Null(JsonShape.Read<Person>(Parse("null"), JsonSerializerOptions.Web, "", errors));
        Assert.Equal(JsonShape.NullNotAllowed, Assert.Single(errors).Code);
    }

    [Theory]
    [InlineData("nodes.welcome.template: no template 'x'", "nodes.welcome.template", "no template 'x'")]
    [InlineData("rule.and[0].op: unknown operator 'gte'", "rule.and[0].op", "unknown operator 'gte'")]
    [InlineData("a tenant has at most 50 segments", "", "a tenant has at most 50 segments")]
    [InlineData("the draft: see nodes", "", "the draft: see nodes")]
    public void A_checkers_text_becomes_a_path_and_a_message(string text, string path, string message)
    {
        Assert.Equal(new FieldError(path, "invalid_x", message), FieldError.FromText(text, "invalid_x"));
    }

    [Fact]
    public void Paths_name_members_and_items()
    {
        Assert.Equal("batch[3].properties.colour", FieldError.Member(FieldError.Member(FieldError.Item("batch", 3), "properties"), "colour"));
        Assert.Equal("properties[\"a b\"]", FieldError.Member("properties", "a b"));
        Assert.Equal("name", FieldError.Member("", "name"));
    }
}
