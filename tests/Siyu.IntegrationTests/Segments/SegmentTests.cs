using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Siyu.Core.Storage;
using Siyu.Functions.Segments;
using Siyu.IntegrationTests.Consent;
using Siyu.IntegrationTests.Infrastructure;
using Siyu.Storage.Segments;

namespace Siyu.IntegrationTests.Segments;

/// <summary>Segments on Azurite: definitions, real-time membership on ingest, the sweep for time, entry and exit events, sizes and pages.</summary>
public sealed class SegmentTests(ClockedApp app) : IClassFixture<ClockedApp>
{
    private static object Track(string id, string name, string phone, object? properties = null) =>
        new { messageId = id, type = "track", @event = name, identities = new { phone }, properties };

    private static object Identify(string id, string phone, object traits) => new { messageId = id, type = "identify", identities = new { phone }, traits };

    private async Task<JsonElement> Segment(TestTenant tenant, string id) => await (await tenant.Marketer().GetAsync($"/api/segments/{id}")).Json();

    private static async Task<JsonElement> Profile(TestTenant tenant, string id) => await (await tenant.Marketer().GetAsync($"/api/profiles/{id}")).Json();

    private static IEnumerable<string> SegmentsOf(JsonElement profile) => profile.GetProperty("segments").EnumerateObject().Select(s => s.Name);

    /// <summary>Runs the sweep of every partition of the tenant now, as the timer's queued work would.</summary>
    private async Task<SweepReport> SweepAsync(TestTenant tenant)
    {
        var reports = new List<SweepReport>();
        for (var bucket = 0; bucket < Ids.ProfileBuckets; bucket++) reports.Add(await app.Service<AudienceSweep>().SweepAsync(tenant.Id, bucket, CancellationToken.None));
        return new SweepReport(reports.Sum(r => r.Evaluated), reports.Sum(r => r.Changed), reports.Sum(r => r.IndexRowsFixed));
    }

    [Fact]
    public async Task A_segment_that_does_not_validate_gets_a_400_listing_every_problem()
    {
        var tenant = await app.NewTenantAsync();
        var marketer = tenant.Marketer();
        Assert.Equal(HttpStatusCode.OK, (await marketer.PutAsJsonAsync("/api/tags/core-fan", new { })).StatusCode);

        var response = await marketer.PutAsJsonAsync("/api/segments/bad", new
        {
            name = "everything wrong",
            rule = new
            {
                and = new object[]
                {
                    new { attribute = "age", type = "float128", op = "gt", value = 3 },
                    new { @event = "purchase", atLeast = 1, withinDays = 400 },
                    new { tag = "core\u0007fan" },
                    new { segment = "bad" },
                    new { trait = "lifecycle", op = "eq", value = "sleepy" },
                },
            },
        });
        await response.AssertProblem(HttpStatusCode.BadRequest, "invalid_segment");
        var errors = (await response.Json()).ErrorTexts();
        Assert.Equal(5, errors.Count);
        Assert.Contains(errors, e => e.StartsWith("rule.and[0]") && e.Contains("float128"));
        Assert.Contains(errors, e => e.StartsWith("rule.and[1].withinDays") && e.Contains("180"));
        Assert.Contains(errors, e => e.StartsWith("rule.and[2]") && e.Contains("tag"));
        Assert.Contains(errors, e => e.StartsWith("rule.and[3]") && e.Contains("itself"));
        Assert.Contains(errors, e => e.StartsWith("rule.and[4]") && e.Contains("sleepy"));
        Assert.Equal(HttpStatusCode.NotFound, (await marketer.GetAsync("/api/segments/bad")).StatusCode);

        // A cycle through another segment, an unknown segment, a bad id, a body that is not JSON.
        Assert.Equal(HttpStatusCode.OK, (await marketer.PutAsJsonAsync("/api/segments/a", new { name = "A", rule = new { tag = "core-fan" } })).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await marketer.PutAsJsonAsync("/api/segments/b", new { name = "B", rule = new { segment = "a" } })).StatusCode);
        var cycle = await marketer.PutAsJsonAsync("/api/segments/a", new { name = "A", rule = new { segment = "b" } });
        await cycle.AssertProblem(HttpStatusCode.BadRequest, "invalid_segment");
        Assert.Contains("cycle", (await cycle.Json()).GetProperty("detail").GetString());
        await (await marketer.PutAsJsonAsync("/api/segments/c", new { name = "C", rule = new { segment = "nowhere" } })).AssertProblem(HttpStatusCode.BadRequest, "invalid_segment");
        await (await marketer.PutAsJsonAsync("/api/segments/Bad%20Id", new { name = "x", rule = new { tag = "core-fan" } })).AssertProblem(HttpStatusCode.BadRequest, "invalid_segment_id");
        await (await marketer.PostRaw("/api/segments/d", "{\"name\": ")).AssertProblem(HttpStatusCode.MethodNotAllowed, "method_not_allowed");
        var notJson = await marketer.PutAsync("/api/segments/d", new StringContent("{\"name\": ", System.Text.Encoding.UTF8, "application/json"));
        await notJson.AssertProblem(HttpStatusCode.BadRequest, "invalid_json");
        // A segment others use cannot be deleted.
        await (await marketer.DeleteAsync("/api/segments/a")).AssertProblem(HttpStatusCode.Conflict, "segment_in_use");
        Assert.Equal(HttpStatusCode.NoContent, (await marketer.DeleteAsync("/api/segments/b")).StatusCode);
        Assert.Equal(HttpStatusCode.NoContent, (await marketer.DeleteAsync("/api/segments/a")).StatusCode);
        Assert.Empty((await (await marketer.GetAsync("/api/segments")).Json()).EnumerateArray());
    }

    [Fact]
    public async Task Membership_follows_events_and_attributes_as_they_are_ingested_with_entry_and_exit_events()
    {
        var tenant = await app.NewTenantAsync();
        var marketer = tenant.Marketer();
        var (buyer, browser) = (ConsentApi.NewPhone(), ConsentApi.NewPhone());
        Assert.Equal(HttpStatusCode.OK, (await marketer.PutAsJsonAsync("/api/segments/shanghai-repeat-buyers", new
        {
            name = "Shanghai repeat buyers",
            rule = new
            {
                and = new object[]
                {
                    new { attribute = "city", op = "eq", value = "上海" },
                    new { @event = "purchase", atLeast = 2, withinDays = 30 },
                },
            },
        })).StatusCode);

        await tenant.Ingest().PostEvents(Identify("i1", buyer, new { city = "上海" }), Track("p1", "purchase", buyer), Identify("i2", browser, new { city = "上海" }));
        var buyerId = (await marketer.WaitForProfile($"phone:{buyer}", 2)).GetProperty("id").GetString()!;
        Assert.Empty(SegmentsOf(await Profile(tenant, buyerId)));

        // The second purchase puts the buyer in: on the profile, in the index, and as an event in their history.
        await tenant.Ingest().PostEvents(Track("p2", "purchase", buyer));
        var member = await Eventually.Get(() => Profile(tenant, buyerId), p => SegmentsOf(p).Any(), what: "the buyer in the segment");
        Assert.Equal(["shanghai-repeat-buyers"], SegmentsOf(member));
        var size = await Eventually.Get(() => Segment(tenant, "shanghai-repeat-buyers"), s => s.GetProperty("size").GetInt64() == 1, what: "size 1");
        Assert.Equal("Shanghai repeat buyers", size.GetProperty("name").GetString());
        var members = await (await marketer.GetAsync("/api/segments/shanghai-repeat-buyers/members")).Json();
        Assert.Equal([buyerId], members.GetProperty("members").EnumerateArray().Select(m => m.GetProperty("profileId").GetString()));
        var history = await (await marketer.GetAsync($"/api/profiles/{buyerId}/events")).Json();
        var entered = history.GetProperty("events").EnumerateArray().Single(e => e.GetProperty("name").GetString() == "segment_entered");
        Assert.Equal("shanghai-repeat-buyers", entered.GetProperty("properties").GetProperty("segment").GetString());

        // Moving to Hangzhou takes them out again.
        await tenant.Ingest().PostEvents(Identify("i3", buyer, new { city = "杭州" }));
        await Eventually.Get(() => Profile(tenant, buyerId), p => !SegmentsOf(p).Any(), what: "the buyer out of the segment");
        await Eventually.Get(() => Segment(tenant, "shanghai-repeat-buyers"), s => s.GetProperty("size").GetInt64() == 0, what: "size 0");
        history = await (await marketer.GetAsync($"/api/profiles/{buyerId}/events")).Json();
        Assert.Single(history.GetProperty("events").EnumerateArray(), e => e.GetProperty("name").GetString() == "segment_exited");
    }

    [Fact]
    public async Task The_sweep_moves_people_as_time_passes_backfills_new_segments_and_repairs_the_index()
    {
        var tenant = await app.NewTenantAsync();
        var marketer = tenant.Marketer();
        var phones = Enumerable.Range(0, 25).Select(_ => ConsentApi.NewPhone()).ToList();
        await tenant.Ingest().PostEvents(phones.Select((p, i) => Track($"v{i}", "visit", p)).ToArray());
        foreach (var p in phones) await marketer.WaitForProfile($"phone:{p}", 1);
        var ids = new List<string>();
        foreach (var p in phones) ids.Add(await marketer.ProfileIdOf($"phone:{p}"));
        Assert.Equal("new", (await Profile(tenant, ids[0])).GetProperty("traits").GetProperty("lifecycle").GetString());

        // "Did not visit in the last 7 days", defined after the visits: swept in for no one yet.
        Assert.Equal(HttpStatusCode.OK, (await marketer.PutAsJsonAsync("/api/segments/lapsed", new
        {
            name = "Lapsed visitors",
            rule = new { and = new object[] { new { @event = "visit", atLeast = 1 }, new { @event = "visit", atMost = 0, withinDays = 7 } } },
        })).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await marketer.PutAsJsonAsync("/api/segments/visitors", new { name = "Visitors", rule = new { @event = "visit", atLeast = 1 } })).StatusCode);
        var backfill = await SweepAsync(tenant);
        Assert.True(backfill.Evaluated >= 25, $"{backfill}");
        Assert.Equal(25, (await Segment(tenant, "visitors")).GetProperty("size").GetInt64());
        Assert.Equal(0, (await Segment(tenant, "lapsed")).GetProperty("size").GetInt64());

        // Eight days pass with no visits: the sweep moves everyone into "lapsed", and their lifecycle on.
        app.Clock.Advance(TimeSpan.FromDays(20));
        await SweepAsync(tenant);
        Assert.Equal(25, (await Segment(tenant, "lapsed")).GetProperty("size").GetInt64());
        Assert.Equal("active", (await Profile(tenant, ids[0])).GetProperty("traits").GetProperty("lifecycle").GetString());
        app.Clock.Advance(TimeSpan.FromDays(20));
        await SweepAsync(tenant);
        Assert.Equal("churn_risk", (await Profile(tenant, ids[0])).GetProperty("traits").GetProperty("lifecycle").GetString());

        // A visit brings one back at once, without waiting for the sweep.
        await tenant.Ingest().PostEvents(Track("back", "visit", phones[0]));
        await Eventually.Get(() => Segment(tenant, "lapsed"), s => s.GetProperty("size").GetInt64() == 24, what: "one back from lapsed");

        // Pages of ten, every member once.
        var seen = new List<string>();
        string? continuation = null;
        do
        {
            var page = await (await marketer.GetAsync("/api/segments/lapsed/members?limit=10" + (continuation is null ? "" : "&continuation=" + Uri.EscapeDataString(continuation)))).Json();
            Assert.True(page.GetProperty("members").GetArrayLength() <= 10);
            seen.AddRange(page.GetProperty("members").EnumerateArray().Select(m => m.GetProperty("profileId").GetString()!));
            continuation = page.GetProperty("continuation").ValueKind == JsonValueKind.String ? page.GetProperty("continuation").GetString() : null;
        } while (continuation is not null);
        Assert.Equal(ids.Skip(1).Order(StringComparer.Ordinal), seen.Order(StringComparer.Ordinal));
        await (await marketer.GetAsync("/api/segments/lapsed/members?continuation=garbage")).AssertProblem(HttpStatusCode.BadRequest, "invalid_continuation");

        // An index row lost (a crash between the profile commit and the index write) is put back by the sweep.
        await app.Service<MembershipStore>().RemoveAsync(tenant.Id, ids[3], ["lapsed"]);
        Assert.Equal(23, (await Segment(tenant, "lapsed")).GetProperty("size").GetInt64());
        var repaired = await SweepAsync(tenant);
        Assert.Equal(1, repaired.IndexRowsFixed);
        Assert.Equal(24, (await Segment(tenant, "lapsed")).GetProperty("size").GetInt64());
    }

    [Fact]
    public async Task Segments_read_tags_consent_and_traits_and_manual_tags_count_at_once()
    {
        var tenant = await app.NewTenantAsync();
        var marketer = tenant.Marketer();
        var phone = ConsentApi.NewPhone();
        Assert.Equal(HttpStatusCode.OK, (await marketer.PutAsJsonAsync("/api/tags/core-fan", new { group = "loyalty" })).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await marketer.PutAsJsonAsync("/api/segments/reachable-fans", new
        {
            name = "Core fans we may text",
            rule = new
            {
                and = new object[]
                {
                    new { tag = "core-fan" },
                    new { consent = new { purpose = "marketing", channel = "sms" }, status = "granted" },
                    new { not = new { trait = "lifecycle", op = "eq", value = "dormant" } },
                },
            },
        })).StatusCode);
        await tenant.Ingest().PostEvents(Track("t1", "visit", phone));
        var id = await marketer.ProfileIdOf($"phone:{phone}");
        Assert.Equal(HttpStatusCode.OK, (await marketer.PostAsJsonAsync($"/api/profiles/{id}/tags", new { tags = new[] { "core-fan" } })).StatusCode);
        Assert.Empty(SegmentsOf(await Profile(tenant, id)));
        await tenant.Ingest().PostConsents(ConsentApi.Decision(phone, "granted", app.Clock.GetUtcNow().AddMinutes(-1)));
        await Eventually.Get(() => Profile(tenant, id), p => SegmentsOf(p).Contains("reachable-fans"), what: "in after the consent");
        // Removing the tag by hand takes them out in the same write.
        Assert.Equal(HttpStatusCode.NoContent, (await marketer.DeleteAsync($"/api/profiles/{id}/tags/core-fan")).StatusCode);
        Assert.Empty(SegmentsOf(await Profile(tenant, id)));
        await Eventually.Get(() => Segment(tenant, "reachable-fans"), s => s.GetProperty("size").GetInt64() == 0, what: "size 0");

        // Back in, then erased: no membership row names them afterwards.
        Assert.Equal(HttpStatusCode.OK, (await marketer.PostAsJsonAsync($"/api/profiles/{id}/tags", new { tags = new[] { "core-fan" } })).StatusCode);
        Assert.Equal(1, (await Segment(tenant, "reachable-fans")).GetProperty("size").GetInt64());
        Assert.Equal(HttpStatusCode.Accepted, (await tenant.Admin().DeleteAsync($"/api/profiles/{id}")).StatusCode);
        await Eventually.Get(() => tenant.Admin().DeleteAsync($"/api/profiles/{id}"), r => r.StatusCode == HttpStatusCode.NoContent, what: "erasure done");
        Assert.Equal(0, (await Segment(tenant, "reachable-fans")).GetProperty("size").GetInt64());
        Assert.Empty(await app.Service<MembershipStore>().ReadPartitionAsync(tenant.Id, Ids.ProfileBucket(id)));
    }
}
