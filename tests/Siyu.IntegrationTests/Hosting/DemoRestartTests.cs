using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Siyu.Functions.Hosting;
using Siyu.IntegrationTests.Consent;
using Siyu.IntegrationTests.Infrastructure;

namespace Siyu.IntegrationTests.Hosting;

/// <summary>Restarting the local run: the pasted keys keep working, and the seed neither duplicates nor undoes anything.</summary>
public sealed class DemoRestartTests(DemoApp app) : IClassFixture<DemoApp>
{
    private static async Task<List<JsonElement>> KeysAsync(SiyuApp on) =>
        (await (await on.Operator().GetAsync("/api/operator/tenants/demo/keys")).Json()).EnumerateArray().ToList();

    [Fact]
    public async Task A_restart_keeps_the_keys_and_duplicates_or_undoes_nothing()
    {
        var demo = app.Demo();
        var marketer = demo.Marketer();
        var wang = await marketer.ProfileIdOf("phone:13800138000");
        var card = await marketer.ProfileIdOf("userId:m-2001");
        var zhao = await marketer.ProfileIdOf("phone:13500135000");
        var expectedEvents = (await marketer.FindProfile("phone:13800138000"))!.Value.GetProperty("eventCount").GetInt64()
                             + (await marketer.FindProfile("userId:m-2001"))!.Value.GetProperty("eventCount").GetInt64();

        // What a newcomer may do before restarting: erase someone, merge the store card, pause the demo journey.
        Assert.Equal(HttpStatusCode.Accepted, (await demo.Admin().DeleteAsync($"/api/profiles/{zhao}")).StatusCode);
        await Eventually.Get(() => demo.Admin().DeleteAsync($"/api/profiles/{zhao}"), r => r.StatusCode == HttpStatusCode.NoContent, what: "the erasure done");
        Assert.Equal(HttpStatusCode.OK, (await demo.Admin().PostAsJsonAsync($"/api/profiles/{wang}/merge", new { profileId = card })).StatusCode);
        await Eventually.Get(() => marketer.FindProfile("userId:m-2001"),
            p => p?.GetProperty("id").GetString() == wang && p.Value.GetProperty("eventCount").GetInt64() == expectedEvents, what: "the store card merged into 王小明");
        Assert.Equal(HttpStatusCode.OK, (await marketer.PostAsync($"/api/journeys/{DemoData.JourneyId}/pause", null)).StatusCode);
        var keptKeys = app.KeptKeys();
        var keysBefore = (await KeysAsync(app)).Select(k => (k.GetProperty("keyId").GetString(), k.GetProperty("revokedAt").ValueKind)).Order().ToList();

        var restarted = new DemoApp { Prefix = app.Prefix, OperatorKey = app.OperatorKey, KeysFile = app.KeysFile };
        await restarted.InitializeAsync();
        try
        {
            // The same keys, none minted or revoked, and a key pasted before works against the restarted app.
            Assert.Equal(keptKeys, restarted.KeptKeys());
            Assert.Equal(keysBefore, (await KeysAsync(restarted)).Select(k => (k.GetProperty("keyId").GetString(), k.GetProperty("revokedAt").ValueKind)).Order().ToList());
            var pasted = restarted.ClientWithKey(keptKeys["marketer"]);
            var profile = (await pasted.FindProfile("phone:13800138000"))!.Value;
            Assert.Equal((wang, expectedEvents), (profile.GetProperty("id").GetString(), profile.GetProperty("eventCount").GetInt64()));
            // The merged card stays merged, the erased person stays erased, the paused journey stays paused on its one version.
            Assert.Equal(wang, (await pasted.FindProfile("userId:m-2001"))!.Value.GetProperty("id").GetString());
            Assert.Null(await pasted.FindProfile("phone:13500135000"));
            var journey = await (await pasted.GetAsync($"/api/journeys/{DemoData.JourneyId}")).Json();
            Assert.Equal(("paused", 1), (journey.GetProperty("status").GetString(), journey.GetProperty("version").GetInt32()));
            Assert.Single((await (await pasted.GetAsync("/api/templates")).Json()).EnumerateArray());
        }
        finally
        {
            await restarted.DisposeAsync();
        }
    }
}
