using System.Net;
using System.Text.Json;
using Siyu.IntegrationTests.Consent;
using Siyu.IntegrationTests.Infrastructure;

namespace Siyu.IntegrationTests.Journeys;

/// <summary>
/// Each published journey version is followed by its orchestration: live and paused with the journey, superseded by
/// a newer version, drained once its last run has ended, and done when the journey is archived.
/// </summary>
public sealed class JourneyVersionTests(SiyuApp app) : IClassFixture<SiyuApp>
{
    private static string Journey(string delay) => $$"""
        {
          "name": "Short stay",
          "entry": { "on": "api", "reentry": "afterExit" },
          "start": "stay",
          "nodes": {
            "stay": { "type": "delay", "for": "{{delay}}", "next": "done" },
            "done": { "type": "exit" }
          }
        }
        """;

    private static async Task<JsonElement> Versions(TestTenant tenant, string id)
    {
        var response = await tenant.Marketer().GetAsync($"/api/journeys/{id}/versions");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return await response.Json();
    }

    private static JsonElement Version(JsonElement versions, int v) => versions.EnumerateArray().Single(x => x.GetProperty("version").GetInt32() == v);

    private static string? Checkpoint(JsonElement version) =>
        version.GetProperty("orchestration") is { ValueKind: JsonValueKind.Object } o && o.GetProperty("checkpoint") is { ValueKind: JsonValueKind.Object } c
            ? c.GetProperty("phase").GetString() : null;

    private static string? Runtime(JsonElement version) =>
        version.GetProperty("orchestration") is { ValueKind: JsonValueKind.Object } o ? o.GetProperty("runtimeStatus").GetString() : null;

    [Fact]
    public async Task A_version_is_live_then_superseded_drains_when_its_last_run_ends_and_the_archived_journey_ends_its_last_version()
    {
        var tenant = await app.NewTenantAsync();
        const string id = "stay";
        await tenant.PublishAsync(id, Journey("4s"));
        var people = new List<string>();
        for (var i = 0; i < 3; i++)
        {
            var phone = ConsentApi.NewPhone();
            await tenant.Ingest().PostEvents(new { messageId = "s-" + phone, type = "track", @event = "signup", identities = new { phone } });
            people.Add((await tenant.Marketer().WaitForProfile($"phone:{phone}", 1)).GetProperty("id").GetString()!);
        }
        var entered = await (await tenant.Enter(id, new { people = people.Select(p => new { profileId = p }).ToArray() })).Json();
        Assert.Equal(3, entered.GetProperty("entered").GetInt32());

        var v1 = Version(await Eventually.Get(() => Versions(tenant, id), v => Checkpoint(Version(v, 1)) == "live", what: "v1's orchestration live"), 1);
        Assert.Equal("live", v1.GetProperty("phase").GetString());
        Assert.Equal(3, v1.GetProperty("active").GetInt64());
        Assert.Equal("running", Runtime(v1));
        Assert.StartsWith($"{tenant.Id}~journey~{id}~v1", v1.GetProperty("orchestration").GetProperty("instanceId").GetString());

        // v2 while v1's three are still in their delay: v1 is superseded and drains as they leave.
        await tenant.PublishAsync(id, Journey("1h"));
        var afterPublish = await Versions(tenant, id);
        Assert.Equal("superseded", Version(afterPublish, 1).GetProperty("phase").GetString());
        Assert.Equal("live", Version(afterPublish, 2).GetProperty("phase").GetString());
        var drained = Version(await Eventually.Get(() => Versions(tenant, id), v => Runtime(Version(v, 1)) == "completed", TimeSpan.FromSeconds(60), "v1 drained"), 1);
        Assert.Equal("drained", drained.GetProperty("phase").GetString());
        Assert.Equal(0, drained.GetProperty("active").GetInt64());
        Assert.Equal(JsonValueKind.String, drained.GetProperty("drainedAt").ValueKind);
        Assert.All(people, p => Assert.Equal("completed", tenant.Runs(p).Result.GetProperty("journeys")[0].GetProperty("status").GetString()));

        // v2 follows pause and resume; archiving with no runs left ends it at once.
        Assert.Equal(HttpStatusCode.OK, (await tenant.Marketer().PostAsync($"/api/journeys/{id}/pause", null)).StatusCode);
        await Eventually.Get(() => Versions(tenant, id), v => Checkpoint(Version(v, 2)) == "paused", what: "v2 paused");
        Assert.Equal(HttpStatusCode.OK, (await tenant.Marketer().PostAsync($"/api/journeys/{id}/resume", null)).StatusCode);
        await Eventually.Get(() => Versions(tenant, id), v => Checkpoint(Version(v, 2)) == "live", what: "v2 live again");
        Assert.Equal(HttpStatusCode.OK, (await tenant.Marketer().PostAsync($"/api/journeys/{id}/archive", null)).StatusCode);
        var done = Version(await Eventually.Get(() => Versions(tenant, id), v => Runtime(Version(v, 2)) == "completed", what: "v2 ended"), 2);
        Assert.Equal("drained", done.GetProperty("phase").GetString());
        Assert.Equal("drained", Checkpoint(done));
    }

    [Fact]
    public async Task Versions_of_another_tenants_journey_are_not_found()
    {
        var owner = await app.NewTenantAsync();
        await owner.PublishAsync("private", Journey("1h"));
        var other = await app.NewTenantAsync();
        var response = await other.Marketer().GetAsync("/api/journeys/private/versions");
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
    }
}
