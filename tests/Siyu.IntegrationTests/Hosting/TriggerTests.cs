using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Siyu.Functions.Hosting;
using Siyu.Functions.Journeys;
using Siyu.Functions.Operations;
using Siyu.IntegrationTests.Infrastructure;
using Siyu.IntegrationTests.WeChat;
using Siyu.Storage.Account;
using Siyu.Storage.Journeys;
using Siyu.Storage.Queues;

namespace Siyu.IntegrationTests.Hosting;

/// <summary>The app with every queue send recorded.</summary>
public sealed class WatchedApp : SiyuApp
{
    public WatchedQueues Queues { get; } = new();

    protected override void ConfigureMore(AppBuilder builder) =>
        builder.ConfigureServices(s => s.AddSingleton<IQueueService>(sp => Queues.Over(new AzureQueueService(sp.GetRequiredService<StorageAccount>()))));
}

/// <summary>
/// The product's queue and timer functions as the host runs them: a message no handler can take reaches the poison
/// queue with its reason and leaves its queue, and the durable journey clock hands due timers on.
/// </summary>
public sealed class TriggerTests(WatchedApp app) : IClassFixture<WatchedApp>
{
    [Fact]
    public async Task An_unreadable_message_on_an_ingest_queue_reaches_its_poison_queue_with_the_reason_and_leaves_the_queue()
    {
        var names = app.Service<QueueNames>();
        var queues = app.Service<IQueueService>();
        var text = "not an ingest message " + Guid.NewGuid().ToString("N");
        await queues.Queue(names.Ingest[2]).SendAsync(text);

        var poison = queues.Queue(PoisonQueue.NameFor(names.Ingest[2]));
        var moved = await Eventually.Get(async () => (await poison.PeekAsync(32)).Select(m => JsonDocument.Parse(m.Text).RootElement)
                .FirstOrDefault(p => p.GetProperty("text").GetString() == text),
            p => p.ValueKind == JsonValueKind.Object, what: "the message in the poison queue");
        Assert.Contains("unreadable ingest message", moved.GetProperty("error").GetString());
        Assert.Equal(names.Ingest[2], moved.GetProperty("queue").GetString());
        Assert.Equal(1, moved.GetProperty("dequeueCount").GetInt64()); // a permanent failure is not tried again
        await Eventually.Get(() => queues.Queue(names.Ingest[2]).GetApproximateCountAsync(), n => n == 0, what: "the message gone from its queue");
    }

    [Fact]
    public async Task The_journey_clock_hands_a_filed_timer_on_once_it_falls_due()
    {
        // Filed in the index (due beyond the 10 s that would queue it at once), so only the durable clock can hand it on.
        var run = "run-" + Guid.NewGuid().ToString("N");
        var due = DateTimeOffset.UtcNow.AddSeconds(12);
        await app.Service<TimerArming>().ArmAsync([new JourneyTimer("ticktest", 1, run, 1, due)], DateTimeOffset.UtcNow, CancellationToken.None);

        var journeys = app.Service<QueueNames>().Journeys;
        var handed = await Eventually.Get(() => Task.FromResult(app.Queues.Sent.FirstOrDefault(m => journeys.Contains(m.Queue) && m.Text.Contains(run, StringComparison.Ordinal))),
            m => m.Text is not null, timeout: TimeSpan.FromSeconds(40), what: "the timer handed to a journey queue");
        Assert.True(DateTimeOffset.UtcNow >= due.AddSeconds(-1), "handed on before it fell due"); // queue visibility is whole seconds
        var clock = await app.Durable.GetInstanceAsync(OperationIds.JourneyClock);
        Assert.Equal(Microsoft.DurableTask.Client.OrchestrationRuntimeStatus.Running, clock?.RuntimeStatus); // asleep on its next durable timer
    }
}
