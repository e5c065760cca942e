using System.Text.Json.Nodes;
using Siyu.Core.Journeys;
using Siyu.Core.Profiles;
using static Siyu.Core.Tests.Journeys.JourneyKit;

namespace Siyu.Core.Tests.Journeys;

public sealed class TemplatesTests
{
    private static readonly JsonObject Context = Json("""
        {"cartId": "c-42", "items": 3, "vipOnly": true, "event": {"product": "婴儿奶粉", "price": 299.5, "sku": {"id": "s-1"}}}
        """);

    private static readonly ProfileState Person = Profile(attributes: [("nickname", "小王"), ("age", 31)]);

    [Fact]
    public void References_lists_each_placeholder_as_written_between_the_braces() =>
        Assert.Equal(["attributes.nickname", "context.event.product", "profile.id", "foo"],
            Templates.References("Hi {{attributes.nickname}}, {{ context.event.product }} is waiting ({{profile.id}}) {{foo}}").ToList());

    [Fact]
    public void Text_without_placeholders_has_no_references()
    {
        Assert.Empty(Templates.References("Hello, no braces here"));
        Assert.Empty(Templates.References("{single} braces"));
    }

    [Theory]
    [InlineData("attributes.nickname")]
    [InlineData("context.cartId")]
    [InlineData("context.event.product")]
    [InlineData("context.event.sku.id")]
    [InlineData("profile.id")]
    public void Known_roots_have_no_problem(string reference) => Assert.Null(Templates.Problem(reference));

    [Theory]
    [InlineData("foo.bar", "'{{foo.bar}}' starts with 'foo'; use one of attributes, context, profile")]
    [InlineData("event.product", "'{{event.product}}' starts with 'event'; use one of attributes, context, profile")]
    [InlineData("nickname", "'{{nickname}}' must name a root and a field, e.g. {{attributes.nickname}}")]
    [InlineData("attributes.", "'{{attributes.}}' must name a root and a field, e.g. {{attributes.nickname}}")]
    [InlineData("context..x", "'{{context..x}}' must name a root and a field, e.g. {{attributes.nickname}}")]
    [InlineData("", "'{{}}' must name a root and a field, e.g. {{attributes.nickname}}")]
    [InlineData("profile.name", "'{{profile.name}}': the profile offers only profile.id")]
    [InlineData("profile.id.x", "'{{profile.id.x}}': the profile offers only profile.id")]
    public void Bad_references_say_why(string reference, string problem) => Assert.Equal(problem, Templates.Problem(reference));

    [Fact]
    public void Render_fills_attributes_context_and_profile_id()
    {
        var text = Templates.Render("{{attributes.nickname}}, {{ context.event.product }} ({{context.cartId}}) for {{profile.id}}", ProfileId, Person, Context);
        Assert.Equal($"小王, 婴儿奶粉 (c-42) for {ProfileId}", text);
    }

    [Fact]
    public void Render_writes_non_text_values_as_json()
    {
        Assert.Equal("3 items at 299.5, vip true, age 31",
            Templates.Render("{{context.items}} items at {{context.event.price}}, vip {{context.vipOnly}}, age {{attributes.age}}", ProfileId, Person, Context));
        Assert.Equal("""sku {"id":"s-1"}""", Templates.Render("sku {{context.event.sku}}", ProfileId, Person, Context));
    }

    [Fact]
    public void A_missing_value_renders_as_empty_text()
    {
        Assert.Equal("[][][][]", Templates.Render("[{{attributes.city}}][{{context.nothing}}][{{context.event.missing.deeper}}][{{context.cartId.x}}]", ProfileId, Person, Context));
        Assert.Equal("Hi !", Templates.Render("Hi {{attributes.nickname}}!", ProfileId, null, null));
        Assert.Equal("id " + ProfileId, Templates.Render("id {{profile.id}}", ProfileId, null, null));
    }

    [Fact]
    public void Rendering_json_fills_every_string_inside_it()
    {
        var body = Json("""{"greeting": "Hi {{attributes.nickname}}", "cart": {"id": "{{context.cartId}}", "items": ["{{context.event.product}}", 7, null]}, "n": 1, "flag": false}""");
        var rendered = Templates.Render(body, ProfileId, Person, Context);
        Assert.Equal("""{"greeting":"Hi 小王","cart":{"id":"c-42","items":["婴儿奶粉",7,null]},"n":1,"flag":false}""", rendered!.ToJsonString(Options));
        Assert.Equal("Hi {{attributes.nickname}}", body["greeting"]!.GetValue<string>());
    }

    [Fact]
    public void A_json_value_that_is_one_placeholder_keeps_the_type_of_what_it_names()
    {
        var body = Json("""{"items": "{{context.items}}", "price": "{{ context.event.price }}", "vip": "{{context.vipOnly}}", "sku": "{{context.event.sku}}", "text": "{{context.cartId}}", "mixed": "n={{context.items}}"}""");
        var rendered = Templates.Render(body, ProfileId, Person, Context)!.AsObject();
        Assert.Equal("""{"items":3,"price":299.5,"vip":true,"sku":{"id":"s-1"},"text":"c-42","mixed":"n=3"}""", rendered.ToJsonString(Options));
        // The copy is the journey's own: changing it leaves the run's context alone.
        rendered["sku"]!["id"] = "changed";
        Assert.Equal("s-1", Context["event"]!["sku"]!["id"]!.GetValue<string>());
    }

    [Fact]
    public void A_json_value_that_is_one_missing_placeholder_becomes_null_and_a_partial_one_empty_text()
    {
        var rendered = Templates.Render(Json("""{"whole": "{{context.nothing}}", "partial": "x{{context.nothing}}y"}"""), ProfileId, Person, Context)!;
        Assert.Equal("""{"whole":null,"partial":"xy"}""", rendered.ToJsonString());
        Assert.Null(Templates.Render(JsonValue.Create("{{attributes.city}}"), ProfileId, Person, Context));
        Assert.Null(Templates.Render((JsonNode?)null, ProfileId, Person, Context));
    }

    [Fact]
    public void Only_attribute_placeholders_need_the_profile()
    {
        Assert.True(Templates.NeedsProfile("Hi {{attributes.nickname}}"));
        Assert.True(Templates.NeedsProfile("{{ attributes.nickname }}"));
        Assert.False(Templates.NeedsProfile("{{context.cartId}} for {{profile.id}}"));
        Assert.False(Templates.NeedsProfile("attributes.nickname without braces"));
        Assert.True(Templates.NeedsProfile(Json("""{"a": [1, {"b": "{{attributes.city}}"}]}""")));
        Assert.False(Templates.NeedsProfile(Json("""{"a": [1, {"b": "{{context.city}}"}], "attributes.city": 2}""")));
        Assert.True(Templates.NeedsProfile(JsonValue.Create("{{attributes.city}}")));
        Assert.False(Templates.NeedsProfile(JsonValue.Create(5)));
        Assert.False(Templates.NeedsProfile((JsonNode?)null));
    }

    private static readonly System.Text.Json.JsonSerializerOptions Options = new()
    {
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };
}
