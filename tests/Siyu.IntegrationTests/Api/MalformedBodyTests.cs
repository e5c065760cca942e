using System.Net;
using System.Net.Http.Headers;
using System.Text;
using CsCheck;
using Siyu.IntegrationTests.Infrastructure;

namespace Siyu.IntegrationTests.Api;

/// <summary>
/// No body, however malformed, makes the API fail: arbitrary bytes, bytes that are not UTF-8, escaped lone surrogates,
/// deep nesting, nulls and values of the wrong type, thrown at every endpoint that takes a body, are all answered
/// below 500, and every error is problem+json.
/// </summary>
public sealed class MalformedBodyTests(SiyuApp app) : IClassFixture<SiyuApp>
{
    // Field names and strings the API reads somewhere, so generated bodies reach past the first check.
    private static readonly string[] Names =
    [
        "batch", "consents", "people", "tags", "profileId", "profileIds", "identity", "identities", "phone", "openid", "appId", "messageId", "type",
        "event", "timestamp", "properties", "traits", "role", "name", "id", "kind", "token", "rule", "purpose", "channel", "status", "source",
        "occurredAt", "context", "key", "action", "audience", "segment", "message", "template", "variables", "fields", "entry", "start", "nodes",
        "description", "group", "sensitive", "preferredChannels", "quietHours", "timeZone", "caps", "topics", "perDay", "perWeek", "apiKey", "url",
        "sender", "survivorId", "mergedIds", "all", "any", "op", "value", "tag", "days", "weights", "holdoutPercent", "startAt", "journey",
    ];

    private static readonly string[] Texts =
    [
        "track", "identify", "order", "consent", "ingest", "admin", "marketing", "sms", "granted", "phone:13800138000", "13800138000", "store_form",
        "2026-01-01T00:00:00Z", "fuzz-tag", "", " ", "eq", "gt", "officialAccount", "safe", "a-b_c", new string('x', 300),
    ];

    /// <summary>Stands for bytes that are not UTF-8 until the body is encoded (a private-use character no generated text has).</summary>
    private const char NotUtf8 = '\uE000';

    private static readonly Gen<string> Text = Gen.Frequency(
        (4, Gen.OneOfConst(Texts)),
        (2, Gen.String[0, 12]),
        (1, Gen.OneOfConst("\\ud800", "a\\udfffb", "\\ud83d", "\\u0000", NotUtf8.ToString(), "ok" + NotUtf8)));

    private static readonly Gen<string> Leaf = Gen.Frequency(
        (2, Gen.Const("null")),
        (1, Gen.Bool.Select(b => b ? "true" : "false")),
        (2, Gen.OneOf(Gen.Int.Select(i => i.ToString()), Gen.OneOfConst("1e999", "-0", "12345678901234567890123", "0.5", "-1")) ),
        (4, Text.Select(Quote)));

    private static Gen<string> Value(int depth) => depth == 0 ? Leaf : Gen.Frequency(
        (3, Leaf),
        (2, Value(depth - 1).Array[0, 4].Select(items => "[" + string.Join(",", items) + "]")),
        (3, Gen.Select(Gen.Frequency((5, Gen.OneOfConst(Names)), (1, Text)), Value(depth - 1)).Array[0, 5]
            .Select(members => "{" + string.Join(",", members.Select(m => Quote(m.Item1) + ":" + m.Item2)) + "}")));

    /// <summary>Bodies: JSON of every shape, batches of such items, deep nesting, and plain random bytes.</summary>
    private static readonly Gen<byte[]> Body = Gen.Frequency(
        (6, Value(4).Select(Encode)),
        (3, Gen.Select(Gen.OneOfConst("batch", "consents", "people", "tags", "profileIds", "identities"), Value(3).Array[1, 4])
            .Select((field, items) => Encode("{" + Quote(field) + ":[" + string.Join(",", items) + "]}"))),
        (1, Gen.Int[20, 120].Select(n => Encode(string.Concat(Enumerable.Repeat("{\"rule\":[", n)) + string.Concat(Enumerable.Repeat("]}", n))))),
        (1, Gen.Byte.Array[0, 48]));

    /// <summary>The cases the issue names, sent to every endpoint that takes a body.</summary>
    private static readonly string[] Named =
    [
        "null", "[null]", "\"\\ud800\"", "{\"batch\":[null]}", "{\"people\":[null]}", "{\"tags\":[null]}", "{\"consents\":[{\"purpose\":\"\\ud800\"}]}",
        "{\"name\":\"\\ud800\",\"rule\":{\"all\":[{\"property\":\"\\udfff\"}]}}", "{\"role\":null,\"name\":[1]}", "{\"topics\":[1],\"caps\":{\"sms\":null}}",
        "{\"id\":\"" + NotUtf8 + "\"}", "{\"" + NotUtf8 + "\":1}", "[" + NotUtf8,
    ];

    [Fact]
    public async Task The_named_malformed_bodies_are_refused_with_a_problem_at_every_endpoint()
    {
        var tenant = await app.NewTenantAsync();
        var endpoints = BodyEndpoint.Of(app, tenant);
        Assert.True(endpoints.Count >= 30, $"only {endpoints.Count} endpoints take a body");
        foreach (var endpoint in endpoints)
            foreach (var body in Named)
                await AssertAnsweredAsync(endpoint, tenant, Encode(body));
    }

    [Fact]
    public async Task No_generated_body_makes_any_endpoint_fail()
    {
        var tenant = await app.NewTenantAsync();
        var endpoints = BodyEndpoint.Of(app, tenant);
        // Each endpoint gets its share of a few hundred cases.
        await Gen.Select(Gen.Int[0, endpoints.Count - 1], Body)
            .SampleAsync((i, body) => AssertAnsweredAsync(endpoints[i], tenant, body), iter: endpoints.Count * 6, threads: 2,
                print: c => $"{endpoints[c.Item1]} with {Convert.ToHexString(c.Item2)} ({Encoding.UTF8.GetString(c.Item2)})");
    }

    private async Task AssertAnsweredAsync(BodyEndpoint endpoint, TestTenant tenant, byte[] body)
    {
        var request = new HttpRequestMessage(new HttpMethod(endpoint.Method), endpoint.Url) { Content = new ByteArrayContent(body) };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        var response = await endpoint.Client(app, tenant).SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True((int)response.StatusCode < 500, $"{endpoint} answered {(int)response.StatusCode} to {Encoding.UTF8.GetString(body)}: {text}");
        if ((int)response.StatusCode >= 400)
            Assert.True(response.Content.Headers.ContentType?.MediaType == "application/problem+json",
                $"{endpoint} answered {(int)response.StatusCode} without problem+json to {Encoding.UTF8.GetString(body)}: '{text}'");
    }

    private static string Quote(string text)
    {
        // Escapes written as such (\ud800) and the not-UTF-8 stand-in stay as they are; everything else is a JSON string.
        var sb = new StringBuilder("\"");
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            if (c == '\\' && i + 1 < text.Length && text[i + 1] == 'u') { sb.Append(c); continue; }
            if (c == NotUtf8) { sb.Append(c); continue; }
            sb.Append(System.Text.Json.JsonSerializer.Serialize(c.ToString())[1..^1]);
        }
        return sb.Append('"').ToString();
    }

    /// <summary>The body's bytes: UTF-8, except that each stand-in becomes bytes that are not UTF-8.</summary>
    private static byte[] Encode(string json)
    {
        var output = new List<byte>();
        var parts = json.Split(NotUtf8);
        for (var i = 0; i < parts.Length; i++)
        {
            if (i > 0) output.AddRange([0xFF, 0xC3, 0x28]);
            output.AddRange(Encoding.UTF8.GetBytes(parts[i]));
        }
        return output.ToArray();
    }
}
