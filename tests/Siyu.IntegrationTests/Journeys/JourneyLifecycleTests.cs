using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Siyu.IntegrationTests.Consent;
using Siyu.IntegrationTests.Infrastructure;

namespace Siyu.IntegrationTests.Journeys;

/// <summary>Journeys through the API: publishing and its refusals, entering, pausing, exiting, merges and erasure.</summary>
public sealed class JourneyLifecycleTests(ClockedApp app) : IClassFixture<ClockedApp>
{
    private const string Wait = """
        {
          "name": "Wait for a visit",
          "entry": { "on": "api", "reentry": "afterExit" },
          "exitOn": [ { "event": "unsubscribe" } ],
          "start": "wait",
          "nodes": {
            "wait": { "type": "waitForEvent", "event": "visit", "timeout": "1h", "arrived": "welcome", "timedOut": "nudge" },
            "welcome": { "type": "send", "channel": "sms", "template": "welcome_back", "variables": { "city": "{{context.city}}" }, "next": "done" },
            "nudge": { "type": "send", "channel": "sms", "template": "nudge", "next": "done" },
            "done": { "type": "exit" }
          }
        }
        """;

    private async Task<(string Phone, string Id)> PersonAsync(TestTenant tenant)
    {
        var phone = ConsentApi.NewPhone();
        await tenant.Ingest().PostEvents(new { messageId = "s-" + phone, type = "track", @event = "signup", identities = new { phone } });
        return (phone, (await tenant.Marketer().WaitForProfile($"phone:{phone}", 1)).GetProperty("id").GetString()!);
    }

    /// <summary>The person's (latest) run, once <paramref name="done"/> holds for it.</summary>
    private static async Task<JsonElement> RunOf(TestTenant tenant, string id, Func<JsonElement, bool> done, string what) =>
        (await Eventually.Get(async () => await tenant.Runs(id), r => r.GetProperty("journeys").GetArrayLength() > 0 && done(r.GetProperty("journeys")[0]), what: what))
            .GetProperty("journeys")[0];

    [Fact]
    public async Task Publishing_answers_every_problem_at_once_and_refuses_what_cannot_run()
    {
        var tenant = await app.NewTenantAsync();
        var marketer = tenant.Marketer();
        const string broken = """
            {
              "name": "Broken",
              "entry": { "on": "event", "event": "add_to_cart" },
              "start": "a",
              "nodes": {
                "a": { "type": "teleport", "next": "b" },
                "b": { "type": "waitForEvent", "event": "order_paid", "arrived": "c", "timedOut": "nowhere" },
                "c": { "type": "condition", "if": { "attribute": "vip", "type": "boolean", "op": "eq", "value": true }, "then": "d", "else": "e" },
                "m": { "type": "send", "channel": "sms", "template": "hello" },
                "d": { "type": "setAttribute", "attribute": "seen", "value": true, "next": "c" },
                "u": { "type": "tag", "tag": "ghost", "next": "e" },
                "e": { "type": "exit" },
                "s": { "type": "split", "branches": [ { "name": "one", "weight": 60, "next": "e" }, { "name": "two", "weight": 30, "next": "e" } ] }
              }
            }
            """;
        var put = await marketer.PutAsync("/api/journeys/broken", new StringContent(broken, System.Text.Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.OK, put.StatusCode);
        var saved = await put.Json();
        Assert.Equal("draft", saved.GetProperty("status").GetString());
        Assert.True(saved.GetProperty("problems").GetArrayLength() >= 7);

        var publish = await marketer.PostAsync("/api/journeys/broken/publish", null);
        await publish.AssertProblem(HttpStatusCode.BadRequest, "invalid_journey");
        var errors = (await publish.Json()).ErrorTexts();
        Assert.Contains(errors, e => e.StartsWith("nodes.a.type") && e.Contains("teleport"));         // unknown node type
        Assert.Contains(errors, e => e.StartsWith("nodes.b.timeout"));                               // a wait with no timeout
        Assert.Contains(errors, e => e.Contains("'nowhere'"));                                        // a dangling branch
        Assert.Contains(errors, e => e.StartsWith("nodes.m.next"));                                   // a missing branch
        Assert.Contains(errors, e => e.Contains("cycle") && e.Contains("c") && e.Contains("d"));     // a cycle with no delay
        Assert.Contains(errors, e => e.StartsWith("nodes.s") && e.Contains("reached"));                                       // unreachable
        Assert.Contains(errors, e => e.StartsWith("nodes.s.branches") && e.Contains("90"));          // weights that do not add up
        Assert.Contains(errors, e => e.StartsWith("nodes.u.tag") && e.Contains("ghost"));              // a tag not in the taxonomy
        Assert.Equal("draft", (await (await marketer.GetAsync("/api/journeys/broken")).Json()).GetProperty("status").GetString());

        // Bad bodies, unknown journeys, journeys not live.
        await (await marketer.PostRaw("/api/journeys/broken", "{\"name\": ")).AssertProblem(HttpStatusCode.MethodNotAllowed, "method_not_allowed");
        var malformed = await marketer.PutAsync("/api/journeys/broken", new StringContent("{\"name\": ", System.Text.Encoding.UTF8, "application/json"));
        await malformed.AssertProblem(HttpStatusCode.BadRequest, "invalid_json");
        await (await marketer.PutAsJsonAsync("/api/journeys/Bad%20Id", new { })).AssertProblem(HttpStatusCode.BadRequest, "invalid_journey_id");
        await (await marketer.PostAsync("/api/journeys/missing/publish", null)).AssertProblem(HttpStatusCode.NotFound, "journey_not_found");
        var (_, id) = await PersonAsync(tenant);
        await (await tenant.Enter("broken", new { profileId = id })).AssertProblem(HttpStatusCode.Conflict, "journey_draft");
        await (await tenant.Enter("broken", new { profileId = "nope" })).AssertProblem(HttpStatusCode.BadRequest, "invalid_entry");
        await (await tenant.Enter("broken", new { people = Enumerable.Range(0, 1001).Select(_ => new { profileId = id }) })).AssertProblem(HttpStatusCode.BadRequest, "invalid_entry");

        // Archived: no one enters, and it cannot be published again. Other tenants do not see it at all.
        await tenant.PublishAsync("waiting", Wait);
        Assert.Equal(HttpStatusCode.OK, (await marketer.PostAsync("/api/journeys/waiting/archive", null)).StatusCode);
        await (await tenant.Enter("waiting", new { profileId = id })).AssertProblem(HttpStatusCode.Conflict, "journey_archived");
        await (await marketer.PostAsync("/api/journeys/waiting/publish", null)).AssertProblem(HttpStatusCode.Conflict, "journey_archived");
        await (await marketer.PostAsync("/api/journeys/waiting/resume", null)).AssertProblem(HttpStatusCode.Conflict, "journey_archived");
        var other = await app.NewTenantAsync();
        await (await other.Marketer().GetAsync("/api/journeys/waiting")).AssertProblem(HttpStatusCode.NotFound, "journey_not_found");
        await (await other.Enter("waiting", new { profileId = id })).AssertProblem(HttpStatusCode.NotFound, "journey_not_found");
    }

    [Fact]
    public async Task Entering_a_batch_adds_the_new_and_keeps_out_those_already_in()
    {
        var tenant = await app.NewTenantAsync();
        await tenant.PublishAsync("waiting", Wait);
        var people = new List<string>();
        for (var i = 0; i < 40; i++) people.Add((await PersonAsync(tenant)).Id);
        var first = await (await tenant.Enter("waiting", new { people = people.Take(20).Select(id => new { profileId = id }) })).Json();
        Assert.Equal(20, first.GetProperty("entered").GetInt32());
        // The first step was taken as each run was written: already at the wait when the call returns, timer armed.
        var run = (await tenant.Runs(people[0])).GetProperty("journeys")[0];
        Assert.Equal("wait", run.GetProperty("node").GetString());
        Assert.Equal("active", run.GetProperty("status").GetString());
        Assert.Equal(JsonValueKind.String, run.GetProperty("dueAt").ValueKind);

        // Those in first come first in the second batch: in a partition where one of them is refused, the adds stop and
        // everyone after is read, then entered or kept out.
        var second = await (await tenant.Enter("waiting", new { people = people.Select(id => new { profileId = id }) })).Json();
        Assert.Equal(20, second.GetProperty("entered").GetInt32());
        Assert.Equal(20, second.GetProperty("alreadyIn").GetInt32());
        Assert.Equal(0, second.GetProperty("busy").GetInt32());
        var outcomes = second.GetProperty("results").EnumerateArray().ToDictionary(r => r.GetProperty("profileId").GetString()!, r => r.GetProperty("outcome").GetString());
        Assert.All(people.Take(20), id => Assert.Equal("alreadyIn", outcomes[id]));
        Assert.All(people.Skip(20), id => Assert.Equal("entered", outcomes[id]));
        var stats = await tenant.WaitForStats("waiting", s => s.NodeCurrent("wait") == 40, "forty waiting");
        Assert.Equal(40, stats.GetProperty("entered").GetInt64());
        foreach (var id in people.Take(3)) Assert.Equal(1, (await RunOf(tenant, id, _ => true, "a run")).GetProperty("run").GetInt32());
    }

    [Fact]
    public async Task Waits_resume_on_events_exit_events_leave_at_once_and_a_pause_holds_runs_where_they_are()
    {
        var tenant = await app.NewTenantAsync();
        await tenant.PublishAsync("waiting", Wait);
        var (visitor, visitorId) = await PersonAsync(tenant);
        var (leaver, leaverId) = await PersonAsync(tenant);
        var (sleeper, sleeperId) = await PersonAsync(tenant);
        var (_, strangerId) = await PersonAsync(tenant);

        var entered = await (await tenant.Enter("waiting", new
        {
            people = new object[]
            {
                new { profileId = visitorId, context = new { city = "杭州" } },
                new { identity = $"phone:{leaver}" },
                new { profileId = sleeperId },
                new { identity = "phone:13900000000" },
            },
        })).Json();
        Assert.Equal(3, entered.GetProperty("entered").GetInt32());
        Assert.Equal(1, entered.GetProperty("notFound").GetInt32());
        await tenant.WaitForStats("waiting", s => s.NodeCurrent("wait") == 3, "three waiting");
        var again = await (await tenant.Enter("waiting", new { profileId = visitorId })).Json();
        Assert.Equal(1, again.GetProperty("alreadyIn").GetInt32());

        // A visit resumes the wait by "arrived"; an unsubscribe ends the run at once; an event of someone in no journey does nothing.
        await tenant.Ingest().PostEvents(
            new { messageId = "v-" + visitor, type = "track", @event = "visit", identities = new { phone = visitor } },
            new { messageId = "u-" + leaver, type = "track", @event = "unsubscribe", identities = new { phone = leaver } },
            new { messageId = "x-" + strangerId, type = "track", @event = "visit", identities = new { phone = "13900000001" } });
        var visited = await RunOf(tenant, visitorId, r => r.GetProperty("status").GetString() == "completed", "the visitor welcomed");
        Assert.Equal("welcome", visited.GetProperty("path")[1].GetProperty("node").GetString());
        var welcome = (await tenant.Runs(visitorId)).GetProperty("deliveries")[0];
        Assert.Equal("杭州", welcome.GetProperty("variables").GetProperty("city").GetString());
        var left = await RunOf(tenant, leaverId, r => r.GetProperty("status").GetString() == "exited", "the leaver gone");
        Assert.Equal("exitEvent", left.GetProperty("endReason").GetString());
        Assert.Equal(0, (await tenant.Runs(leaverId)).GetProperty("deliveries").GetArrayLength());
        Assert.Equal(0, (await tenant.Runs(strangerId)).GetProperty("journeys").GetArrayLength());

        // Paused: the sleeper's wait times out while paused, and nothing happens until the journey resumes.
        Assert.Equal(HttpStatusCode.OK, (await tenant.Marketer().PostAsync("/api/journeys/waiting/pause", null)).StatusCode);
        await (await tenant.Enter("waiting", new { profileId = strangerId })).AssertProblem(HttpStatusCode.Conflict, "journey_paused");
        await app.AdvanceAsync(TimeSpan.FromHours(2));
        await Task.Delay(1500);
        var held = (await tenant.Runs(sleeperId)).GetProperty("journeys")[0];
        Assert.Equal("wait", held.GetProperty("node").GetString());
        Assert.Equal("active", held.GetProperty("status").GetString());
        Assert.Equal(HttpStatusCode.OK, (await tenant.Marketer().PostAsync("/api/journeys/waiting/resume", null)).StatusCode);
        await app.AdvanceAsync(TimeSpan.FromMinutes(1));
        var nudged = await RunOf(tenant, sleeperId, r => r.GetProperty("status").GetString() == "completed", "the sleeper nudged after resuming");
        Assert.Equal("timedOut", nudged.GetProperty("path")[0].GetProperty("branch").GetString());

        // afterExit: the leaver may come back.
        Assert.Equal(1, (await (await tenant.Enter("waiting", new { profileId = leaverId })).Json()).GetProperty("entered").GetInt32());
        var back = await RunOf(tenant, leaverId, r => r.GetProperty("run").GetInt32() == 2 && r.GetProperty("node").GetString() == "wait", "the leaver back in");
        Assert.Equal("active", back.GetProperty("status").GetString());

        var stats = await tenant.WaitForStats("waiting", s => s.GetProperty("entered").GetInt64() == 4, "four entries");
        Assert.Equal(2, stats.GetProperty("completed").GetInt64());
        Assert.Equal(1, stats.GetProperty("exited").GetInt64());
        Assert.Equal(1, stats.GetProperty("active").GetInt64());
        Assert.Equal(1, stats.NodeLeft("wait", "arrived"));
        Assert.Equal(1, stats.NodeLeft("wait", "timedOut"));
        Assert.Equal(1, stats.NodeLeft("wait", "exitEvent"));
    }

    [Fact]
    public async Task A_merged_persons_runs_move_to_the_survivor_and_an_erased_persons_runs_leave_and_go()
    {
        var tenant = await app.NewTenantAsync();
        await tenant.PublishAsync("waiting", Wait);
        var (phone, survivorId) = await PersonAsync(tenant);
        var (_, mergedId) = await PersonAsync(tenant);
        Assert.Equal(1, (await (await tenant.Enter("waiting", new { profileId = mergedId })).Json()).GetProperty("entered").GetInt32());
        await RunOf(tenant, mergedId, r => r.GetProperty("node").GetString() == "wait", "the run waiting");

        Assert.Equal(HttpStatusCode.OK, (await tenant.Admin().PostAsJsonAsync($"/api/profiles/{survivorId}/merge", new { profileId = mergedId })).StatusCode);
        var moved = await RunOf(tenant, survivorId, r => r.GetProperty("node").GetString() == "wait", "the run moved to the survivor");
        Assert.Equal("active", moved.GetProperty("status").GetString());
        // The survivor's own visit resumes the moved run.
        await tenant.Ingest().PostEvents(new { messageId = "v-" + phone, type = "track", @event = "visit", identities = new { phone } });
        await RunOf(tenant, survivorId, r => r.GetProperty("status").GetString() == "completed", "the moved run resumed by the survivor's visit");

        // Erasure: the run leaves (counted), then every row of it is deleted.
        var (_, erasedId) = await PersonAsync(tenant);
        await tenant.Enter("waiting", new { profileId = erasedId });
        await RunOf(tenant, erasedId, r => r.GetProperty("node").GetString() == "wait", "the run waiting");
        Assert.Contains((await tenant.Admin().DeleteAsync($"/api/profiles/{erasedId}")).StatusCode, new[] { HttpStatusCode.Accepted, HttpStatusCode.NoContent });
        await Eventually.Get(() => app.Service<Siyu.Storage.Journeys.RunStore>().ForProfileAsync(tenant.Id, erasedId), r => r.Count == 0, what: "the run rows erased");
        var stats = await tenant.WaitForStats("waiting", s => s.GetProperty("exited").GetInt64() == 1, "the erased run counted as exited");
        Assert.Equal(0, stats.GetProperty("active").GetInt64());
    }
}
