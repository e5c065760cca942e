using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Siyu.Core.Storage;
using Siyu.Functions.Operations;
using Siyu.IntegrationTests.Consent;
using Siyu.IntegrationTests.Infrastructure;
using Siyu.Storage.Jobs;

namespace Siyu.IntegrationTests.Tags;

/// <summary>Bulk tagging from a queue with progress, rule tags on ingest, and tag history.</summary>
public sealed class TagAutomationTests(SiyuApp app) : IClassFixture<SiyuApp>
{
    private static object Track(string id, string name, string phone, object? properties = null) =>
        new { messageId = id, type = "track", @event = name, identities = new { phone }, properties };

    private static async Task<JsonElement> Profile(HttpClient client, string id) => await (await client.GetAsync($"/api/profiles/{id}")).Json();

    private static IEnumerable<string> TagsOf(JsonElement profile) => profile.GetProperty("tags").EnumerateObject().Select(t => t.Name);

    [Fact]
    public async Task Bulk_tagging_runs_from_the_queue_with_progress_and_counts_who_was_skipped()
    {
        var tenant = await app.NewTenantAsync();
        var marketer = tenant.Marketer();
        Assert.Equal(HttpStatusCode.OK, (await marketer.PutAsJsonAsync("/api/tags/spring-sale", new { group = "campaigns" })).StatusCode);
        var phones = Enumerable.Range(0, 120).Select(_ => ConsentApi.NewPhone()).ToList();
        await tenant.Ingest().PostEvents(phones.Select((p, i) => Track($"b{i}", "visit", p)).ToArray());
        var ids = new List<string>();
        foreach (var p in phones) ids.Add((await marketer.WaitForProfile($"phone:{p}", 1)).GetProperty("id").GetString()!);

        // Most by id, one unknown id; the rest by identity, one unknown phone.
        var byId = ids.Take(100).Append("zzzzzzzzzzzzzzzzzzzz").ToList();
        var accepted = await marketer.PostAsJsonAsync("/api/tags/spring-sale/bulk", new { profileIds = byId });
        Assert.Equal(HttpStatusCode.Accepted, accepted.StatusCode);
        var job = await accepted.Json();
        Assert.Equal(101, job.GetProperty("total").GetInt32());
        var location = job.GetProperty("location").GetString()!;
        var done = await Eventually.Get(async () => await (await marketer.GetAsync(location)).Json(), j => j.GetProperty("status").GetString() == "done", what: "the job done");
        Assert.Equal((101, 100, 0, 1, 0), (done.GetProperty("processed").GetInt32(), done.GetProperty("tagged").GetInt32(),
            done.GetProperty("unchanged").GetInt32(), done.GetProperty("skipped").GetInt32(), done.GetProperty("failed").GetInt32()));

        var byPhone = phones.Skip(90).Select(p => $"phone:{p}").Append("phone:+8613900000000").ToList();
        var second = await (await marketer.PostAsJsonAsync("/api/tags/spring-sale/bulk", new { identities = byPhone })).Json();
        var done2 = await Eventually.Get(async () => await (await marketer.GetAsync(second.GetProperty("location").GetString()!)).Json(),
            j => j.GetProperty("status").GetString() == "done", what: "the second job done");
        Assert.Equal((20, 10, 1), (done2.GetProperty("tagged").GetInt32(), done2.GetProperty("unchanged").GetInt32(), done2.GetProperty("skipped").GetInt32()));
        foreach (var id in ids) Assert.Contains("spring-sale", TagsOf(await Profile(marketer, id)));

        // The tag history says who and which job.
        var history = await (await marketer.GetAsync($"/api/profiles/{ids[0]}/tags/history")).Json();
        var entry = history.EnumerateArray().Single();
        Assert.Equal(("spring-sale", "added"), (entry.GetProperty("tag").GetString(), entry.GetProperty("action").GetString()));
        Assert.Equal(tenant.MarketerKey.Split('_')[2], entry.GetProperty("by").GetString());
        Assert.Contains("bulk job", entry.GetProperty("reason").GetString());

        // Untagging in bulk.
        var removal = await (await marketer.PostAsJsonAsync("/api/tags/spring-sale/bulk", new { profileIds = ids.Take(10), action = "remove" })).Json();
        await Eventually.Get(async () => await (await marketer.GetAsync(removal.GetProperty("location").GetString()!)).Json(),
            j => j.GetProperty("status").GetString() == "done", what: "the removal done");
        Assert.DoesNotContain("spring-sale", TagsOf(await Profile(marketer, ids[0])));
        Assert.Equal("removed", (await (await marketer.GetAsync($"/api/profiles/{ids[0]}/tags/history")).Json())[0].GetProperty("action").GetString());
    }

    [Fact]
    public async Task A_job_stored_but_never_started_is_started_by_housekeeping_once()
    {
        var tenant = await app.NewTenantAsync();
        var marketer = tenant.Marketer();
        Assert.Equal(HttpStatusCode.OK, (await marketer.PutAsJsonAsync("/api/tags/lost-start", new { group = "campaigns" })).StatusCode);
        var phones = Enumerable.Range(0, 5).Select(_ => ConsentApi.NewPhone()).ToList();
        await tenant.Ingest().PostEvents(phones.Select((p, i) => Track($"l{i}", "visit", p)).ToArray());
        var ids = new List<string>();
        foreach (var p in phones) ids.Add((await marketer.WaitForProfile($"phone:{p}", 1)).GetProperty("id").GetString()!);

        // The process stored the job and died before starting its orchestration.
        var jobId = Ids.Random(16);
        await app.Service<TagJobStore>().CreateAsync(tenant.Id, jobId, "lost-start", "add", tenant.MarketerKey.Split('_')[2],
            [ids.Take(3).Select(id => "p:" + id).ToList(), ids.Skip(3).Select(id => "p:" + id).ToList()]);
        Assert.Equal("queued", (await (await marketer.GetAsync($"/api/tags/jobs/{jobId}")).Json()).GetProperty("status").GetString());

        var housekeeping = app.Service<OperationsHousekeeping>();
        Assert.True((await housekeeping.RunAsync(CancellationToken.None)).TagJobsStarted >= 1);
        var done = await Eventually.Get(async () => await (await marketer.GetAsync($"/api/tags/jobs/{jobId}")).Json(),
            j => j.GetProperty("status").GetString() == "done", what: "the restarted job done");
        Assert.Equal((5, 5), (done.GetProperty("processed").GetInt32(), done.GetProperty("tagged").GetInt32()));
        foreach (var id in ids) Assert.Contains("lost-start", TagsOf(await Profile(marketer, id)));

        // A finished job is not started again.
        Assert.Equal(0, (await housekeeping.RunAsync(CancellationToken.None)).TagJobsStarted);
    }

    [Fact]
    public async Task Bulk_tagging_refuses_too_many_people_bad_entries_unknown_tags_and_bad_names()
    {
        var tenant = await app.NewTenantAsync();
        var marketer = tenant.Marketer();
        Assert.Equal(HttpStatusCode.OK, (await marketer.PutAsJsonAsync("/api/tags/vip", new { })).StatusCode);
        var tooMany = Enumerable.Range(0, 10_001).Select(i => $"{i:D20}").ToList();
        await (await marketer.PostAsJsonAsync("/api/tags/vip/bulk", new { profileIds = tooMany })).AssertProblem(HttpStatusCode.BadRequest, "too_many_profiles");
        await (await marketer.PostAsJsonAsync("/api/tags/vip/bulk", new { profileIds = new[] { "not-an-id" } })).AssertProblem(HttpStatusCode.BadRequest, "invalid_bulk_tag");
        await (await marketer.PostAsJsonAsync("/api/tags/vip/bulk", new { identities = new[] { "shoe:42" } })).AssertProblem(HttpStatusCode.BadRequest, "invalid_bulk_tag");
        await (await marketer.PostAsJsonAsync("/api/tags/vip/bulk", new { profileIds = Array.Empty<string>() })).AssertProblem(HttpStatusCode.BadRequest, "invalid_bulk_tag");
        await (await marketer.PostAsJsonAsync("/api/tags/vip/bulk", new { profileIds = new[] { "00000000000000000000" }, action = "toggle" })).AssertProblem(HttpStatusCode.BadRequest, "invalid_bulk_tag");
        await (await marketer.PostAsJsonAsync("/api/tags/unknown/bulk", new { profileIds = new[] { "00000000000000000000" } })).AssertProblem(HttpStatusCode.BadRequest, "unknown_tag");
        await (await marketer.PostAsJsonAsync("/api/tags/bad%09name/bulk", new { profileIds = new[] { "00000000000000000000" } })).AssertProblem(HttpStatusCode.BadRequest, "invalid_tag");
        await (await marketer.PostRaw("/api/tags/vip/bulk", "{\"profileIds\": [")).AssertProblem(HttpStatusCode.BadRequest, "invalid_json");
        await (await marketer.GetAsync("/api/tags/jobs/0000000000000000")).AssertProblem(HttpStatusCode.NotFound, "job_not_found");
    }

    [Fact]
    public async Task Rule_tags_are_given_on_ingest_by_event_and_filter_or_by_count_in_a_window()
    {
        var tenant = await app.NewTenantAsync();
        var marketer = tenant.Marketer();
        foreach (var tag in new[] { "milk-powder-buyer", "frequent-visitor" })
            Assert.Equal(HttpStatusCode.OK, (await marketer.PutAsJsonAsync($"/api/tags/{tag}", new { group = "behaviour" })).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await marketer.PutAsJsonAsync("/api/tag-rules/milk", new
        {
            tag = "milk-powder-buyer", @event = "purchase", where = new object[] { new { property = "category", op = "eq", value = "milk_powder" } },
        })).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await marketer.PutAsJsonAsync("/api/tag-rules/frequent", new
        {
            tag = "frequent-visitor", @event = "visit", atLeast = 3, withinDays = 7,
        })).StatusCode);
        var rules = await (await marketer.GetAsync("/api/tag-rules")).Json();
        Assert.Equal(["frequent", "milk"], rules.EnumerateArray().Select(r => r.GetProperty("id").GetString()));

        var phone = ConsentApi.NewPhone();
        await tenant.Ingest().PostEvents(Track("r1", "purchase", phone, new { category = "supplements" }), Track("r2", "visit", phone), Track("r3", "visit", phone));
        var id = (await marketer.WaitForProfile($"phone:{phone}", 3)).GetProperty("id").GetString()!;
        Assert.Empty(TagsOf(await Profile(marketer, id)));

        await tenant.Ingest().PostEvents(Track("r4", "purchase", phone, new { category = "milk_powder" }), Track("r5", "visit", phone));
        var tagged = await marketer.WaitForProfile($"phone:{phone}", 5);
        Assert.Equal(["frequent-visitor", "milk-powder-buyer"], TagsOf(tagged).Order());
        Assert.Equal("rule:milk", tagged.GetProperty("tags").GetProperty("milk-powder-buyer").GetProperty("by").GetString());
        var history = await (await marketer.GetAsync($"/api/profiles/{id}/tags/history")).Json();
        Assert.Equal(["rule:frequent", "rule:milk"], history.EnumerateArray().Select(h => h.GetProperty("by").GetString()).Order());

        // Rules that do not validate: every problem listed.
        var bad = await marketer.PutAsJsonAsync("/api/tag-rules/bad", new
        {
            tag = "no-such-tag", @event = "visit", atLeast = 3, withinDays = 999, where = new object[] { new { property = "x", op = "like", value = 1 } },
        });
        await bad.AssertProblem(HttpStatusCode.BadRequest, "invalid_tag_rule");
        Assert.True((await bad.Json()).GetProperty("errors").GetArrayLength() >= 3);
        Assert.Equal(HttpStatusCode.NoContent, (await marketer.DeleteAsync("/api/tag-rules/milk")).StatusCode);
        await (await marketer.DeleteAsync("/api/tag-rules/milk")).AssertProblem(HttpStatusCode.NotFound, "tag_rule_not_found");
    }
}
