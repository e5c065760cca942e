using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Siyu.IntegrationTests.Consent;
using Siyu.IntegrationTests.Infrastructure;

namespace Siyu.IntegrationTests.Merges;

/// <summary>OneID merges on Azurite: by ingestion when one event ties two profiles together, and by hand.</summary>
public sealed class MergeTests(SiyuApp app) : IClassFixture<SiyuApp>
{
    private static readonly DateTimeOffset Now = DateTimeOffset.UtcNow;

    private static object Track(string id, string name, object identities, DateTimeOffset at) =>
        new { messageId = id, type = "track", @event = name, identities, timestamp = at.ToString("O") };

    private static object Identify(string id, object identities, object traits, DateTimeOffset at) =>
        new { messageId = id, type = "identify", identities, traits, timestamp = at.ToString("O") };

    private static async Task<JsonElement> Profile(HttpClient client, string id) => await (await client.GetAsync($"/api/profiles/{id}")).Json();

    private static async Task<List<string>> EventIds(HttpClient client, string profileId)
    {
        var ids = new List<string>();
        string? continuation = null;
        do
        {
            var page = await (await client.GetAsync($"/api/profiles/{profileId}/events?limit=500" + (continuation is null ? "" : "&continuation=" + Uri.EscapeDataString(continuation)))).Json();
            ids.AddRange(page.GetProperty("events").EnumerateArray().Select(e => e.GetProperty("messageId").GetString()!));
            continuation = page.TryGetProperty("continuation", out var c) && c.ValueKind == JsonValueKind.String ? c.GetString() : null;
        } while (continuation is not null);
        return ids;
    }

    [Fact]
    public async Task A_visitor_logging_in_with_a_phone_a_store_profile_has_becomes_that_profile_and_keeps_everything()
    {
        var tenant = await app.NewTenantAsync();
        var phone = ConsentApi.NewPhone();
        var device = "dev-" + Guid.NewGuid().ToString("N");
        var marketer = tenant.Marketer();
        Assert.Equal(HttpStatusCode.OK, (await marketer.PutAsJsonAsync("/api/tags/core-fan", new { group = "loyalty" })).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await marketer.PutAsJsonAsync("/api/tags/night-owl", new { group = "habits" })).StatusCode);

        // The store knew the person by phone first; the mini-program knew an anonymous visitor.
        await tenant.Ingest().PostEvents(Identify("s1", new { phone }, new { city = "上海", tier = "gold" }, Now.AddHours(-5)),
            Track("s2", "store_visit", new { phone }, Now.AddHours(-4)));
        var store = await marketer.ProfileIdOf($"phone:{phone}");
        await marketer.WaitForProfile($"phone:{phone}", 2);
        await tenant.Ingest().PostEvents(Identify("v1", new { anonymousId = device }, new { city = "杭州", nickname = "小王" }, Now.AddHours(-3)),
            Track("v2", "view_item", new { anonymousId = device }, Now.AddHours(-2)));
        await marketer.WaitForProfile($"anonymousId:{device}", 2);
        var visitor = await marketer.ProfileIdOf($"anonymousId:{device}");
        Assert.NotEqual(store, visitor);
        Assert.Equal(HttpStatusCode.OK, (await marketer.PostAsJsonAsync($"/api/profiles/{store}/tags", new { tags = new[] { "core-fan" } })).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await marketer.PostAsJsonAsync($"/api/profiles/{visitor}/tags", new { tags = new[] { "night-owl" } })).StatusCode);
        await tenant.Ingest().PostConsents(new { profileId = visitor, purpose = "marketing", channel = "sms", status = "granted", source = "miniprogram_form",
            occurredAt = Now.AddHours(-2).ToString("O") });
        await tenant.Admin().WaitForLedger(visitor, 1);

        // The visitor logs in with the phone: one event, two profiles. They merge.
        await tenant.Ingest().PostEvents(Track("login", "login", new { anonymousId = device, phone }, Now.AddHours(-1)));
        var merged = await Eventually.Get(() => Profile(marketer, store), p => p.GetProperty("eventCount").GetInt64() >= 6, what: "the merged profile");

        // The store profile was created first: it survives, and the visitor's id still resolves to it.
        Assert.Equal(store, merged.GetProperty("id").GetString());
        Assert.Equal([visitor], merged.GetProperty("mergedFrom").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal(store, (await Profile(marketer, visitor)).GetProperty("id").GetString());
        Assert.Equal(store, await marketer.ProfileIdOf($"anonymousId:{device}"));
        Assert.Equal(store, await marketer.ProfileIdOf($"phone:{phone}"));

        // Attributes by the latest identify; counters, tags, consent and history moved.
        Assert.Equal("杭州", merged.GetProperty("attributes").GetProperty("city").GetString());
        Assert.Equal("gold", merged.GetProperty("attributes").GetProperty("tier").GetString());
        Assert.Equal("小王", merged.GetProperty("attributes").GetProperty("nickname").GetString());
        Assert.Equal(6, merged.GetProperty("eventCount").GetInt64()); // four events, the consent, the login
        Assert.Equal(["core-fan", "night-owl"], merged.GetProperty("tags").EnumerateObject().Select(t => t.Name).Order());
        Assert.Equal(["anonymousId", "phone"], merged.GetProperty("identities").EnumerateArray().Select(i => i.GetProperty("type").GetString()).Order());
        Assert.Equal("granted", (await marketer.Consents(store)).Current("marketing", "sms"));
        Assert.Single((await marketer.Consents(visitor)).GetProperty("history").EnumerateArray());
        Assert.Equal(["login", "s1", "s2", "v1", "v2"], (await EventIds(marketer, store)).Order(StringComparer.Ordinal));
        Assert.Equal(await EventIds(marketer, store), await EventIds(marketer, visitor)); // the alias reads the survivor's history

        // Replaying the login, or asking to merge them again, changes nothing.
        await tenant.Ingest().PostEvents(Track("login", "login", new { anonymousId = device, phone }, Now.AddHours(-1)));
        var again = await tenant.Admin().PostAsJsonAsync($"/api/profiles/{visitor}/merge", new { profileId = store });
        Assert.Equal(HttpStatusCode.OK, again.StatusCode);
        Assert.Equal(store, (await again.Json()).GetProperty("survivorId").GetString());
        await tenant.Ingest().PostEvents(Track("after", "view_item", new { anonymousId = device }, Now));
        var final = await Eventually.Get(() => Profile(marketer, store), p => p.GetProperty("eventCount").GetInt64() >= 7, what: "the event after the merge");
        Assert.Equal(7, final.GetProperty("eventCount").GetInt64());
    }

    [Fact]
    public async Task A_unionid_linking_two_openids_merges_their_profiles()
    {
        var tenant = await app.NewTenantAsync();
        var (unionId, openA, openB) = ("u-" + Guid.NewGuid().ToString("N")[..10], "oA" + Guid.NewGuid().ToString("N")[..10], "oB" + Guid.NewGuid().ToString("N")[..10]);
        var marketer = tenant.Marketer();
        await tenant.Ingest().PostEvents(Track("a1", "follow", new { openid = openA, appId = "wxoa" }, Now.AddHours(-3)));
        var first = await marketer.ProfileIdOf($"openid:{openA}", "wxoa");
        await tenant.Ingest().PostEvents(Track("b1", "open_miniprogram", new { openid = openB, appId = "wxmp" }, Now.AddHours(-2)));
        var second = await marketer.ProfileIdOf($"openid:{openB}", "wxmp");

        await tenant.Ingest().PostEvents(Track("a2", "view", new { openid = openA, appId = "wxoa", unionid = unionId }, Now.AddHours(-1)));
        await marketer.WaitForProfile($"unionid:{unionId}", 2);
        await tenant.Ingest().PostEvents(Track("b2", "view", new { openid = openB, appId = "wxmp", unionid = unionId }, Now.AddMinutes(-30)));

        var merged = await Eventually.Get(() => Profile(marketer, first), p => p.GetProperty("eventCount").GetInt64() == 4, what: "the two openids as one");
        Assert.Equal(first, merged.GetProperty("id").GetString());
        Assert.Equal([second], merged.GetProperty("mergedFrom").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal(first, await marketer.ProfileIdOf($"openid:{openB}", "wxmp"));
        Assert.Equal(2, merged.GetProperty("counters").GetProperty("view").GetProperty("count").GetInt64());
    }

    [Fact]
    public async Task Events_for_either_side_arriving_while_they_merge_all_end_up_on_the_survivor_once()
    {
        var tenant = await app.NewTenantAsync();
        var phone = ConsentApi.NewPhone();
        var device = "dev-" + Guid.NewGuid().ToString("N");
        var marketer = tenant.Marketer();
        await tenant.Ingest().PostEvents(Track("s0", "store_visit", new { phone }, Now.AddHours(-5)));
        var store = await marketer.ProfileIdOf($"phone:{phone}");
        await tenant.Ingest().PostEvents(Track("v0", "view", new { anonymousId = device }, Now.AddHours(-4)));
        await marketer.ProfileIdOf($"anonymousId:{device}");

        // Forty events for each side and the linking event, posted at once from several clients.
        const int each = 40;
        var posts = Enumerable.Range(0, each).SelectMany(i => new[]
        {
            Track($"p{i}", "store_visit", new { phone }, Now.AddMinutes(-100 + i)),
            Track($"d{i}", "view", new { anonymousId = device }, Now.AddMinutes(-100 + i)),
        }).Append(Track("link", "login", new { anonymousId = device, phone }, Now.AddMinutes(-50))).ToList();
        await Parallel.ForEachAsync(posts.Chunk(3), new ParallelOptions { MaxDegreeOfParallelism = 8 }, async (chunk, _) =>
            Assert.Equal(HttpStatusCode.Accepted, (await tenant.Ingest().PostEvents(chunk)).StatusCode));

        var total = 2 + 2 * each + 1;
        var merged = await Eventually.Get(() => Profile(marketer, store), p => p.GetProperty("eventCount").GetInt64() >= total,
            TimeSpan.FromSeconds(60), "every event on the survivor");
        Assert.Equal(total, merged.GetProperty("eventCount").GetInt64());
        Assert.Equal(each + 1, merged.GetProperty("counters").GetProperty("view").GetProperty("count").GetInt64());
        Assert.Equal(each + 1, merged.GetProperty("counters").GetProperty("store_visit").GetProperty("count").GetInt64());
        var history = await EventIds(marketer, store);
        Assert.Equal(total, history.Count);
        Assert.Equal(total, history.Distinct().Count());
    }

    [Fact]
    public async Task Merging_by_hand_needs_an_admin_and_two_profiles_of_the_callers_tenant()
    {
        var tenant = await app.NewTenantAsync();
        var other = await app.NewTenantAsync();
        var (p1, p2, p3) = (ConsentApi.NewPhone(), ConsentApi.NewPhone(), ConsentApi.NewPhone());
        await tenant.Ingest().PostEvents(Track("x1", "visit", new { phone = p1 }, Now.AddHours(-2)));
        var mine = await tenant.Marketer().ProfileIdOf($"phone:{p1}");
        await tenant.Ingest().PostEvents(Track("x2", "visit", new { phone = p2 }, Now.AddHours(-1)));
        var mineToo = await tenant.Marketer().ProfileIdOf($"phone:{p2}");
        await other.Ingest().PostEvents(Track("y1", "visit", new { phone = p3 }, Now.AddHours(-1)));
        var theirs = await other.Marketer().ProfileIdOf($"phone:{p3}");

        await (await tenant.Marketer().PostAsJsonAsync($"/api/profiles/{mine}/merge", new { profileId = mineToo })).AssertProblem(HttpStatusCode.Forbidden, "wrong_role");
        await (await tenant.Admin().PostAsJsonAsync($"/api/profiles/{mine}/merge", new { profileId = theirs })).AssertProblem(HttpStatusCode.NotFound, "profile_not_found");
        await (await tenant.Admin().PostAsJsonAsync($"/api/profiles/{theirs}/merge", new { profileId = mine })).AssertProblem(HttpStatusCode.NotFound, "profile_not_found");
        await (await tenant.Admin().PostAsJsonAsync($"/api/profiles/{mine}/merge", new { })).AssertProblem(HttpStatusCode.BadRequest, "invalid_merge");
        await (await tenant.Admin().PostRaw($"/api/profiles/{mine}/merge", "{\"profileId\":")).AssertProblem(HttpStatusCode.BadRequest, "invalid_json");
        // Nothing happened to the other tenant's person.
        var untouched = await Profile(other.Marketer(), theirs);
        Assert.Equal(theirs, untouched.GetProperty("id").GetString());
        Assert.Empty(untouched.GetProperty("mergedFrom").EnumerateArray());

        var response = await tenant.Admin().PostAsJsonAsync($"/api/profiles/{mineToo}/merge", new { profileId = mine });
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var result = await response.Json();
        Assert.Equal(mine, result.GetProperty("survivorId").GetString());
        Assert.Equal([mineToo], result.GetProperty("mergedFrom").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal(mine, await tenant.Marketer().ProfileIdOf($"phone:{p2}"));

        // Erasing the survivor erases the person, alias included.
        Assert.Equal(HttpStatusCode.Accepted, (await tenant.Admin().DeleteAsync($"/api/profiles/{mineToo}")).StatusCode);
        await Eventually.Get(() => tenant.Admin().DeleteAsync($"/api/profiles/{mine}"), r => r.StatusCode == HttpStatusCode.NoContent, what: "erasure done");
        Assert.Equal(HttpStatusCode.NotFound, (await tenant.Marketer().GetAsync($"/api/profiles/{mineToo}")).StatusCode);
        Assert.Null(await app.Service<Siyu.Storage.Profiles.ProfileStore>().ReadAsync(tenant.Id, mineToo));
    }

    [Fact]
    public async Task A_merge_interrupted_after_its_first_step_is_finished_by_its_orchestration()
    {
        var tenant = await app.NewTenantAsync();
        var (p1, p2) = (ConsentApi.NewPhone(), ConsentApi.NewPhone());
        await tenant.Ingest().PostEvents(Track("k1", "visit", new { phone = p1 }, Now.AddHours(-2)));
        var survivor = await tenant.Marketer().ProfileIdOf($"phone:{p1}");
        await tenant.Ingest().PostEvents(Track("k2", "visit", new { phone = p2 }, Now.AddHours(-1)));
        var merged = await tenant.Marketer().ProfileIdOf($"phone:{p2}");

        // A process marked the profile as merged, then died: nothing was folded, copied or re-pointed.
        var profiles = app.Service<Siyu.Storage.Profiles.ProfileStore>();
        await profiles.UpdateAsync(tenant.Id, merged, s => { s.MergedInto = survivor; return true; }, followAliases: false);
        // Its orchestration, as the merge announced it (without the wait before it looks).
        await app.Durable.ScheduleNewOrchestrationInstanceAsync(Siyu.Functions.Merges.MergeOrchestration.Name,
            new Siyu.Functions.Merges.MergeWork(tenant.Id, merged, survivor, false, SettleSeconds: 0),
            new Microsoft.DurableTask.StartOrchestrationOptions(Siyu.Functions.Operations.OperationIds.Merge(tenant.Id, merged, survivor)));

        // The last step shrinks the alias, after the survivor has folded it in: wait for that, not for the fold.
        var alias = await Eventually.Get(async () => (await profiles.ReadAsync(tenant.Id, merged))!.Value.State,
            s => s.Identities.Count == 0 && s.EventCount == 0, what: "the merge finished");
        Assert.Equal(survivor, alias.MergedInto);
        var done = await Profile(tenant.Marketer(), survivor);
        Assert.Equal(2, done.GetProperty("eventCount").GetInt64());
        Assert.Equal([merged], done.GetProperty("mergedFrom").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal(survivor, await tenant.Marketer().ProfileIdOf($"phone:{p2}"));
        Assert.Equal(["k1", "k2"], (await EventIds(tenant.Marketer(), survivor)).Order(StringComparer.Ordinal));
    }
}
