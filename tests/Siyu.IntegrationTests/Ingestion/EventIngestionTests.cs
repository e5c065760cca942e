using System.Net;
using System.Text.Json;
using Siyu.IntegrationTests.Infrastructure;

namespace Siyu.IntegrationTests.Ingestion;

/// <summary>POST /api/events, end to end: accepted over HTTP, processed from the queue, visible on the profile.</summary>
public sealed class EventIngestionTests(SiyuApp app) : IClassFixture<SiyuApp>
{
    private static string NewId() => Guid.NewGuid().ToString("N")[..12];

    [Fact]
    public async Task Track_identify_and_order_events_build_one_profile()
    {
        var tenant = await app.NewTenantAsync();
        var member = "m-" + NewId();
        var response = await tenant.Ingest().PostEvents(
            new { type = "track", messageId = NewId(), @event = "page_view", identities = new { userId = member }, properties = new { page = "/home" }, timestamp = "2026-11-01T10:00:00Z" },
            new { type = "identify", messageId = NewId(), identities = new { userId = member, phone = "138 0013 8000" }, traits = new { name = "王小明", level = "gold" }, timestamp = "2026-11-01T10:01:00Z" },
            new { type = "order", messageId = NewId(), identities = new { userId = member }, properties = new { orderId = "O-1", total = 199.5, currency = "CNY" }, timestamp = "2026-11-02T09:00:00Z" },
            new { type = "order", messageId = NewId(), identities = new { userId = member }, properties = new { orderId = "O-2", total = 100 }, timestamp = "2026-11-03T09:00:00Z" });

        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        var body = await response.Json();
        Assert.Equal(4, body.GetProperty("accepted").GetInt32());
        Assert.Equal(0, body.GetProperty("rejected").GetInt32());

        var profile = await tenant.Marketer().WaitForProfile($"userId:{member}", 4);
        Assert.Equal("王小明", profile.GetProperty("attributes").GetProperty("name").GetString());
        Assert.Equal("gold", profile.GetProperty("attributes").GetProperty("level").GetString());
        Assert.Equal(2, profile.GetProperty("orders").GetProperty("count").GetInt64());
        Assert.Equal(299.5m, profile.GetProperty("orders").GetProperty("total").GetProperty("CNY").GetDecimal());
        Assert.Equal(1, profile.GetProperty("counters").GetProperty("page_view").GetProperty("count").GetInt64());
        Assert.Equal(DateTimeOffset.Parse("2026-11-01T10:00:00Z"), profile.GetProperty("firstSeen").GetDateTimeOffset());
        Assert.Equal(DateTimeOffset.Parse("2026-11-03T09:00:00Z"), profile.GetProperty("lastSeen").GetDateTimeOffset());
        var identities = profile.GetProperty("identities").EnumerateArray().Select(i => $"{i.GetProperty("type").GetString()}:{i.GetProperty("value").GetString()}").ToList();
        Assert.Contains($"userId:{member}", identities);
        Assert.Contains("phone:+8613800138000", identities);
        Assert.Equal(4, profile.GetProperty("recentEvents").GetArrayLength());

        // The phone, normalised, finds the same person.
        var byPhone = await tenant.Marketer().FindProfile("phone:+86 138-0013-8000");
        Assert.Equal(profile.GetProperty("id").GetString(), byPhone!.Value.GetProperty("id").GetString());

        // And the stored history holds every event.
        var events = await (await tenant.Marketer().GetAsync($"/api/profiles/{profile.GetProperty("id").GetString()}/events")).Json();
        Assert.Equal(4, events.GetProperty("events").GetArrayLength());
    }

    [Fact]
    public async Task Resending_the_same_batch_changes_nothing()
    {
        var tenant = await app.NewTenantAsync();
        var anon = "a-" + NewId();
        object[] batch =
        [
            new { type = "track", messageId = "msg-1", @event = "add_to_cart", identities = new { anonymousId = anon } },
            new { type = "track", messageId = "msg-2", @event = "add_to_cart", identities = new { anonymousId = anon } },
            new { type = "order", messageId = "msg-3", identities = new { anonymousId = anon }, properties = new { orderId = "O-9", total = 10 } },
        ];
        for (var i = 0; i < 3; i++) Assert.Equal(HttpStatusCode.Accepted, (await tenant.Ingest().PostEvents(batch)).StatusCode);
        // The same order under a new messageId is still one order.
        await tenant.Ingest().PostEvents(new { type = "order", messageId = "msg-4", identities = new { anonymousId = anon }, properties = new { orderId = "O-9", total = 10 } });
        // A marker event, sent last, tells us when everything before it has been processed.
        await tenant.Ingest().PostEvents(new { type = "track", messageId = "marker", @event = "marker", identities = new { anonymousId = anon } });

        var profile = await tenant.Marketer().WaitForProfile($"anonymousId:{anon}", 4);
        await Task.Delay(500); // give any duplicate a chance to show up
        profile = (await tenant.Marketer().FindProfile($"anonymousId:{anon}"))!.Value;
        Assert.Equal(4, profile.GetProperty("eventCount").GetInt64());
        Assert.Equal(2, profile.GetProperty("counters").GetProperty("add_to_cart").GetProperty("count").GetInt64());
        Assert.Equal(1, profile.GetProperty("orders").GetProperty("count").GetInt64());
        Assert.Equal(10m, profile.GetProperty("orders").GetProperty("total").GetProperty("CNY").GetDecimal());
    }

    [Fact]
    public async Task Unionid_links_the_openids_of_one_person_across_apps()
    {
        var tenant = await app.NewTenantAsync();
        var unionid = "u-" + NewId();
        var oaOpenid = "oa-" + NewId();
        var mpOpenid = "mp-" + NewId();
        await tenant.Ingest().PostEvents(new { type = "track", messageId = NewId(), @event = "article_read", identities = new { openid = oaOpenid, appId = "wxofficial01", unionid } });
        var first = await tenant.Marketer().WaitForProfile($"unionid:{unionid}", 1);

        await tenant.Ingest().PostEvents(new { type = "track", messageId = NewId(), @event = "mini_program_open", identities = new { openid = mpOpenid, appId = "wxminiapp001", unionid } });
        var second = await tenant.Marketer().WaitForProfile($"unionid:{unionid}", 2);

        Assert.Equal(first.GetProperty("id").GetString(), second.GetProperty("id").GetString());
        var viaMiniProgram = await tenant.Marketer().FindProfile($"openid:{mpOpenid}", "wxminiapp001");
        var viaOfficial = await tenant.Marketer().FindProfile($"openid:{oaOpenid}", "wxofficial01");
        Assert.Equal(first.GetProperty("id").GetString(), viaMiniProgram!.Value.GetProperty("id").GetString());
        Assert.Equal(first.GetProperty("id").GetString(), viaOfficial!.Value.GetProperty("id").GetString());
        // An openid is per app: the same openid under another appId is someone else (or no one).
        Assert.Null(await tenant.Marketer().FindProfile($"openid:{mpOpenid}", "wxofficial01"));
    }

    [Fact]
    public async Task An_older_identify_arriving_late_does_not_overwrite_a_newer_one()
    {
        var tenant = await app.NewTenantAsync();
        var member = "m-" + NewId();
        await tenant.Ingest().PostEvents(new { type = "identify", messageId = NewId(), identities = new { userId = member }, traits = new { city = "Shanghai" }, timestamp = "2026-11-10T00:00:00Z" });
        await tenant.Marketer().WaitForProfile($"userId:{member}", 1);
        await tenant.Ingest().PostEvents(new { type = "identify", messageId = NewId(), identities = new { userId = member }, traits = new { city = "Beijing", tier = "silver" }, timestamp = "2026-11-01T00:00:00Z" });
        var profile = await tenant.Marketer().WaitForProfile($"userId:{member}", 2);
        Assert.Equal("Shanghai", profile.GetProperty("attributes").GetProperty("city").GetString());
        Assert.Equal("silver", profile.GetProperty("attributes").GetProperty("tier").GetString());
    }

    [Fact]
    public async Task A_bad_item_is_refused_alone_and_its_neighbours_are_accepted()
    {
        var tenant = await app.NewTenantAsync();
        var anon = "a-" + NewId();
        var future = DateTimeOffset.UtcNow.AddDays(2).ToString("O");
        var response = await tenant.Ingest().PostEvents(
            new { type = "track", messageId = "good-1", @event = "view", identities = new { anonymousId = anon } },
            new { type = "track", messageId = "no-identity", @event = "view" },
            new { type = "teleport", messageId = "unknown-type", identities = new { anonymousId = anon } },
            new { type = "track", messageId = "future", @event = "view", identities = new { anonymousId = anon }, timestamp = future },
            new { type = "track", @event = "view", identities = new { anonymousId = anon } },
            new { type = "track", messageId = "bad-phone", @event = "view", identities = new { phone = "12345" } },
            new { type = "track", messageId = "openid-no-app", @event = "view", identities = new { openid = "o1" } },
            new { type = "order", messageId = "bad-order", identities = new { anonymousId = anon }, properties = new { total = 5 } },
            new { type = "track", messageId = "good-2", @event = "view", identities = new { anonymousId = anon } });

        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        var body = await response.Json();
        Assert.Equal(2, body.GetProperty("accepted").GetInt32());
        Assert.Equal(7, body.GetProperty("rejected").GetInt32());
        var errors = body.GetProperty("errors").EnumerateArray().ToDictionary(e => e.GetProperty("index").GetInt32(), e => e.GetProperty("code").GetString());
        Assert.Equal("missing_identity", errors[1]);
        Assert.Equal("unknown_type", errors[2]);
        Assert.Equal("timestamp_in_future", errors[3]);
        Assert.Equal("missing_message_id", errors[4]);
        Assert.Equal("invalid_identity", errors[5]);
        Assert.Equal("invalid_identity", errors[6]);
        Assert.Equal("invalid_order", errors[7]);

        var profile = await tenant.Marketer().WaitForProfile($"anonymousId:{anon}", 2);
        Assert.Equal(2, profile.GetProperty("eventCount").GetInt64());
    }

    [Fact]
    public async Task A_batch_with_no_valid_event_is_a_400_listing_each_error()
    {
        var tenant = await app.NewTenantAsync();
        var response = await tenant.Ingest().PostEvents(new { type = "track", messageId = "x", @event = "view" });
        await response.AssertProblem(HttpStatusCode.BadRequest, "no_valid_events");
        var body = await response.Json();
        Assert.Equal("missing_identity", body.GetProperty("errors")[0].GetProperty("code").GetString());
    }

    [Fact]
    public async Task Malformed_requests_get_precise_problems()
    {
        var tenant = await app.NewTenantAsync();
        var client = tenant.Ingest();

        await (await client.PostRaw("/api/events", "{\"batch\": [")).AssertProblem(HttpStatusCode.BadRequest, "invalid_json");
        await (await client.PostRaw("/api/events", "{\"batch\": []}", "text/plain")).AssertProblem(HttpStatusCode.UnsupportedMediaType, "unsupported_media_type");
        await (await client.PostRaw("/api/events", "{\"events\": []}")).AssertProblem(HttpStatusCode.BadRequest, "invalid_batch");
        await (await client.PostRaw("/api/events", "{\"batch\": []}")).AssertProblem(HttpStatusCode.BadRequest, "empty_batch");

        var tooMany = Enumerable.Range(0, 501).Select(i => new { type = "track", messageId = $"m{i}", @event = "e", identities = new { anonymousId = "a" } }).ToArray<object>();
        await (await client.PostEvents(tooMany)).AssertProblem(HttpStatusCode.BadRequest, "batch_too_large");

        var huge = "{\"batch\": [{\"type\":\"track\",\"messageId\":\"m\",\"event\":\"e\",\"identities\":{\"anonymousId\":\"a\"},\"properties\":{\"pad\":\"" + new string('x', 1024 * 1024) + "\"}}]}";
        await (await client.PostRaw("/api/events", huge)).AssertProblem(HttpStatusCode.RequestEntityTooLarge, "body_too_large");
    }
}
