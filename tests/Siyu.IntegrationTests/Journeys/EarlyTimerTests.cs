using System.Text.Json;
using Azure.Data.Tables;
using Siyu.Core.Journeys;
using Siyu.Core.Storage;
using Siyu.Functions.Hosting;
using Siyu.Functions.Journeys;
using Siyu.IntegrationTests.Consent;
using Siyu.IntegrationTests.Infrastructure;
using Siyu.Storage.Journeys;

namespace Siyu.IntegrationTests.Journeys;

/// <summary>
/// Timers are written before the state that needs them, so an entry's timer, due at once, can be swept and handed on
/// before the entry's run is stored. Such a timer must look again, not be dropped (the run would wait for ever).
/// </summary>
public sealed class EarlyTimerTests(FaultyApp app) : IClassFixture<FaultyApp>
{
    private const string Hello = """
        {
          "name": "Hello",
          "entry": { "on": "api" },
          "start": "hello",
          "nodes": {
            "hello": { "type": "send", "channel": "sms", "template": "hello", "next": "done" },
            "done": { "type": "exit" }
          }
        }
        """;

    [Fact]
    public async Task A_timer_taken_before_its_run_is_stored_looks_again_and_the_run_moves()
    {
        var tenant = await app.NewTenantAsync();
        var phone = ConsentApi.NewPhone();
        await tenant.Ingest().PostEvents(new { messageId = "v-" + phone, type = "track", @event = "visit", identities = new { phone } });
        var id = (await tenant.Marketer().WaitForProfile($"phone:{phone}", 1)).GetProperty("id").GetString()!;
        await tenant.PublishAsync("hello", Hello);
        var key = RunStore.RunKey(id, "hello", RunSlots.Single);
        var bucket = Ids.ProfileBucket(id);
        var now = app.Clock.GetUtcNow();

        // The entry's timer (generation 1, due now) reaches the engine while the entry's run is still being written. It
        // looks again in two seconds: so soon that it goes straight to the journey queue, not into the timer index.
        await HandleAsync(tenant.Id, bucket, new TimerItem(key, 1, now));
        Assert.Empty(await TimersOfAsync(key));

        // Then the run lands, as the entry writes it (without another timer).
        var journey = (await app.Service<JourneyCatalog>().ActiveAsync(tenant.Id)).Single(j => j.Stored.Id == "hello");
        var run = JourneyInterpreter.NewRun("hello", journey.Stored.Version, id, RunSlots.Single, 1, null, "api:test", journey.Latest, now);
        run.Generation = 1;
        run.DueAt = now;
        var (conflicted, _) = await app.Service<RunStore>().CommitAsync(RunStore.Partition(tenant.Id, id), [new RunChange(run, null, [], new JourneyStats())], now);
        Assert.Empty(conflicted);

        // The timer's second look finds it (nothing else would move the run): the person is greeted and the run ends.
        app.Clock.Advance(TimeSpan.FromSeconds(3));
        var stats = await tenant.WaitForStats("hello", s => s.GetProperty("completed").GetInt64() == 1, "the run completed");
        Assert.Equal(1, stats.NodeEntered("hello"));
    }

    [Fact]
    public async Task A_timer_whose_run_was_never_written_stops_looking()
    {
        var tenant = await app.NewTenantAsync();
        var id = Ids.NewProfileId();
        var key = RunStore.RunKey(id, "hello", RunSlots.Single);
        await HandleAsync(tenant.Id, Ids.ProfileBucket(id), new TimerItem(key, 1, app.Clock.GetUtcNow() - TimeSpan.FromMinutes(3)));
        Assert.Empty(await TimersOfAsync(key));
    }

    private async Task HandleAsync(string tenantId, int bucket, TimerItem timer)
    {
        var message = JsonSerializer.Serialize(new JourneyMessage(JourneyMessage.TimersKind, tenantId, bucket, Timers: [timer]), JsonSerializerOptions.Web);
        Assert.Equal(WorkOutcome.Done, (await app.Service<JourneyWork>().HandleAsync([new QueueWorkItem(message, 1)], CancellationToken.None))[0]);
    }

    private async Task<List<long>> TimersOfAsync(string runKey)
    {
        var found = new List<long>();
        await foreach (var row in app.Service<TimerStore>().Table.QueryAsync<TableEntity>(TableClient.CreateQueryFilter($"Run eq {runKey}")))
            found.Add(row.GetInt64("Generation") ?? 0);
        return found;
    }
}
