using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Siyu.IntegrationTests.Infrastructure;
using Siyu.IntegrationTests.Journeys;

namespace Siyu.IntegrationTests.Api;

/// <summary>
/// Malformed text and nulls: a batch item gets its own error and its neighbours are accepted; a single document is a
/// 400 whose errors name the path of each problem.
/// </summary>
public sealed class MalformedInputTests(SiyuApp app) : IClassFixture<SiyuApp>
{
    /// <summary>Bytes that are not UTF-8, inside a JSON string.</summary>
    private static readonly byte[] NotUtf8 = [0xFF, 0xC3, 0x28];

    private static string Event(string anon, string name = "view") =>
        $$$"""{"type": "track", "messageId": "{{{Guid.NewGuid():N}}}", "event": "{{{name}}}", "identities": {"anonymousId": "{{{anon}}}"}}""";

    private static HttpRequestMessage Raw(HttpMethod method, string url, params object[] parts)
    {
        var bytes = parts.SelectMany(p => p as byte[] ?? Encoding.UTF8.GetBytes((string)p)).ToArray();
        var request = new HttpRequestMessage(method, url) { Content = new ByteArrayContent(bytes) };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        return request;
    }

    private static async Task<JsonElement> AssertInvalid(HttpResponseMessage response, string code, string path, string errorCode)
    {
        await response.AssertProblem(HttpStatusCode.BadRequest, code);
        var problem = await response.Json();
        var errors = problem.GetProperty("errors").EnumerateArray().ToList();
        Assert.Contains(errors, e => e.GetProperty("path").GetString() == path && e.GetProperty("code").GetString() == errorCode);
        _ = problem.ErrorTexts(); // every error has the one shape
        return problem;
    }

    [Fact]
    public async Task An_event_whose_text_is_not_text_is_refused_alone_and_its_neighbours_are_accepted()
    {
        var tenant = await app.NewTenantAsync();
        var anon = "u-" + Guid.NewGuid().ToString("N")[..8];
        var response = await tenant.Ingest().SendAsync(Raw(HttpMethod.Post, "/api/events",
            "{\"batch\": [", Event(anon), ",",
            """{"type": "track", "messageId": "m1", "event": "\ud800", "identities": {"anonymousId": "x"}}""", ",",
            "{\"type\": \"track\", \"messageId\": \"m2\", \"event\": \"view\", \"properties\": {\"colour\": \"", NotUtf8, "\"}, \"identities\": {\"anonymousId\": \"x\"}}", ",",
            Event(anon), "]}"));
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        var body = await response.Json();
        Assert.Equal(2, body.GetProperty("accepted").GetInt32());
        Assert.Equal(2, body.GetProperty("rejected").GetInt32());
        var errors = body.GetProperty("errors").EnumerateArray().ToList();
        Assert.Equal([1, 2], errors.Select(e => e.GetProperty("index").GetInt32()));
        Assert.Equal(["batch[1].event", "batch[2].properties.colour"], errors.Select(e => e.GetProperty("path").GetString()));
        Assert.All(errors, e => Assert.Equal("invalid_text", e.GetProperty("code").GetString()));
        await tenant.Marketer().WaitForProfile($"anonymousId:{anon}", 2);

        // Every error of an event names the field it is about.
        var missing = await tenant.Ingest().PostRaw("/api/events", "[" + Event(anon) + """, {"type": "track", "messageId": "m3", "event": "view"}]""");
        Assert.Equal("[1].identities", (await missing.Json()).GetProperty("errors")[0].GetProperty("path").GetString());
    }

    [Fact]
    public async Task A_consent_whose_text_is_not_text_is_refused_alone()
    {
        var tenant = await app.NewTenantAsync();
        static string Consent(string purpose) =>
            $$"""{"identities": {"phone": "13800138000"}, "purpose": "{{purpose}}", "channel": "sms", "status": "granted", "source": "store_form", "occurredAt": "2026-01-01T00:00:00Z"}""";
        var response = await tenant.Ingest().PostRaw("/api/consents", "{\"consents\": [" + Consent("marketing") + "," + Consent("\\udfff") + "]}");
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        var body = await response.Json();
        Assert.Equal(1, body.GetProperty("accepted").GetInt32());
        var error = body.GetProperty("errors")[0];
        Assert.Equal("consents[1].purpose", error.GetProperty("path").GetString());
        Assert.Equal("invalid_text", error.GetProperty("code").GetString());
    }

    [Fact]
    public async Task Documents_whose_text_is_not_text_are_a_400_with_the_path()
    {
        var tenant = await app.NewTenantAsync();
        var marketer = tenant.Marketer();
        await AssertInvalid(await marketer.SendAsync(Raw(HttpMethod.Put, "/api/journeys/j1", """{"name": "\ud800", "nodes": {}}""")),
            "invalid_text", "name", "invalid_text");
        await AssertInvalid(await marketer.SendAsync(Raw(HttpMethod.Put, "/api/segments/s1", "{\"name\": \"", NotUtf8, "\", \"rule\": {}}")),
            "invalid_text", "name", "invalid_text");
        await AssertInvalid(await marketer.SendAsync(Raw(HttpMethod.Post, "/api/campaigns", """{"name": "x", "audience": {"identities": ["phone:\udbff"]}}""")),
            "invalid_text", "audience.identities[0]", "invalid_text");
        await AssertInvalid(await marketer.SendAsync(Raw(HttpMethod.Put, "/api/templates/t1", """{"fields": {"\ud800": "x"}}""")),
            "invalid_text", "fields", "invalid_text");
    }

    [Fact]
    public async Task Null_where_an_object_or_a_string_goes_is_a_400_with_the_path()
    {
        var tenant = await app.NewTenantAsync();
        var anon = "u-" + Guid.NewGuid().ToString("N")[..8];
        await tenant.Ingest().PostRaw("/api/events", "[" + Event(anon) + "]");
        var id = (await tenant.Marketer().WaitForProfile($"anonymousId:{anon}", 1)).GetProperty("id").GetString();

        await AssertInvalid(await tenant.Marketer().PostRaw($"/api/profiles/{id}/tags", """{"tags": [null]}"""), "invalid_tags", "tags[0]", "null_not_allowed");
        await AssertInvalid(await tenant.Admin().PostRaw("/api/keys", "null"), "invalid_body", "", "wrong_type");
        await AssertInvalid(await tenant.Admin().PostRaw("/api/keys", """{"role": ["admin"], "name": 5}"""), "invalid_body", "role", "wrong_type");
        await AssertInvalid(await app.Operator().PostRaw("/api/operator/tenants", "null"), "invalid_body", "", "wrong_type");
        await AssertInvalid(await app.Operator().PostRaw($"/api/operator/tenants/{tenant.Id}/keys", "null"), "invalid_body", "", "wrong_type");
        await AssertInvalid(await tenant.Admin().PutAsync("/api/wechat-apps/wx1234567890", new StringContent("null", Encoding.UTF8, "application/json")),
            "invalid_body", "", "wrong_type");
    }

    [Fact]
    public async Task Preferences_of_the_wrong_types_list_every_problem_by_path()
    {
        var tenant = await app.NewTenantAsync();
        var problem = await AssertInvalid(await tenant.Ingest().PutAsync("/api/profiles/00000000000000000000/preferences",
            new StringContent("""{"topics": [1, "ok", null], "quietHours": "22:00", "caps": {"sms": {"perDay": "one"}}}""", Encoding.UTF8, "application/json")),
            "invalid_preferences", "topics[0]", "wrong_type");
        Assert.Equal(["topics[0]", "topics[2]", "quietHours", "caps.sms.perDay"], problem.GetProperty("errors").EnumerateArray().Select(e => e.GetProperty("path").GetString()));
        Assert.DoesNotContain("System.", problem.GetProperty("detail").GetString());

        // A value of the right type that breaks a rule is listed the same way.
        var rules = await AssertInvalid(await tenant.Ingest().PutAsync("/api/profiles/00000000000000000000/preferences",
            new StringContent("""{"timeZone": "Mars/Olympus", "quietHours": {"start": "25:00", "end": "08:00"}}""", Encoding.UTF8, "application/json")),
            "invalid_preferences", "timeZone", "invalid_preferences");
        Assert.Contains("quietHours.start", rules.GetProperty("errors").EnumerateArray().Select(e => e.GetProperty("path").GetString()));
    }

    [Fact]
    public async Task Entering_people_refuses_the_malformed_alone_and_enters_the_rest()
    {
        var tenant = await app.NewTenantAsync();
        await tenant.PublishAsync("welcome", """
            {"name": "Welcome", "entry": {"on": "api", "reentry": "afterExit"}, "start": "wait",
             "nodes": {"wait": {"type": "delay", "for": "1h", "next": "done"}, "done": {"type": "exit"}}}
            """);
        var anon = "u-" + Guid.NewGuid().ToString("N")[..8];
        await tenant.Ingest().PostRaw("/api/events", "[" + Event(anon) + "]");
        var id = (await tenant.Marketer().WaitForProfile($"anonymousId:{anon}", 1)).GetProperty("id").GetString();

        var response = await tenant.Marketer().PostRaw("/api/journeys/welcome/enter",
            $$"""{"people": [null, {"profileId": "{{id}}"}, {"identity": 42}, {"profileId": "\ud800"}, {"identity": "shoe:9"}]}""");
        Assert.True(response.StatusCode == HttpStatusCode.OK, await response.Content.ReadAsStringAsync());
        var body = await response.Json();
        Assert.Equal(1, body.GetProperty("entered").GetInt32());
        Assert.Equal(4, body.GetProperty("invalid").GetInt32());
        Assert.Equal(["invalid", "entered", "invalid", "invalid", "invalid"], body.GetProperty("results").EnumerateArray().Select(r => r.GetProperty("outcome").GetString()));
        Assert.Equal(["people[0]", "people[2].identity", "people[3].profileId", "people[4].identity"],
            body.GetProperty("errors").EnumerateArray().Select(e => e.GetProperty("path").GetString()));

        // All of them malformed: a 400 that lists each.
        var none = await tenant.Marketer().PostRaw("/api/journeys/welcome/enter", """{"people": [null, {"profileId": 1}]}""");
        await none.AssertProblem(HttpStatusCode.BadRequest, "invalid_entry");
        Assert.Equal(2, (await none.Json()).GetProperty("errors").GetArrayLength());
        // One person: its problems are the body's.
        await AssertInvalid(await tenant.Marketer().PostRaw("/api/journeys/welcome/enter", """{"profileId": null, "context": 3}"""), "invalid_entry", "context", "wrong_type");
    }

    [Fact]
    public async Task Bulk_tagging_refuses_the_entries_that_name_no_one_and_tags_the_rest()
    {
        var tenant = await app.NewTenantAsync();
        var marketer = tenant.Marketer();
        Assert.Equal(HttpStatusCode.OK, (await marketer.PutAsJsonAsync("/api/tags/vip", new { group = "value" })).StatusCode);
        var response = await marketer.PostRaw("/api/tags/vip/bulk", """{"profileIds": ["00000000000000000000", null, "nope"]}""");
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        var body = await response.Json();
        Assert.Equal(1, body.GetProperty("total").GetInt32());
        Assert.Equal(2, body.GetProperty("rejected").GetInt32());
        Assert.Equal(["profileIds[1]", "profileIds[2]"], body.GetProperty("errors").EnumerateArray().Select(e => e.GetProperty("path").GetString()));
    }
}
