using System.Text.Json.Nodes;
using Microsoft.Extensions.Logging.Abstractions;
using Siyu.Core.Events;
using Siyu.Core.Identities;
using Siyu.Functions.Hosting;
using Siyu.Functions.Ingestion;
using Siyu.Storage.Identities;
using Siyu.Storage.Profiles;
using Siyu.Storage.Queues;
using Siyu.IntegrationTests.Infrastructure;

namespace Siyu.IntegrationTests.Processing;

/// <summary>An app whose own listeners are off, so each test drives processing itself.</summary>
/// <summary>The app with its HTTP functions only: no queue is pulled and no timer fires, so a test drives the work itself.</summary>
public sealed class QuietApp : SiyuApp
{
    public QuietApp() => Listen = false;
}

/// <summary>The processing guarantees: replays change nothing, concurrent processors agree, bad messages are isolated.</summary>
public sealed class ProcessingTests(QuietApp app) : IClassFixture<QuietApp>
{
    private static string NewTenant() => "p" + Guid.NewGuid().ToString("N")[..12];

    private static IncomingEvent Track(string messageId, string name, params Identity[] identities) => new()
    {
        MessageId = messageId, Type = EventType.Track, Name = name, Identities = identities,
        Timestamp = DateTimeOffset.UtcNow, ReceivedAt = DateTimeOffset.UtcNow, Source = "api",
    };

    private static QueueWorkItem Message(string tenant, params IncomingEvent[] events) =>
        new(new IngestEnvelope(tenant, events).Serialize(), 1);

    /// <summary>A processor with its own caches: what another instance of the app would be.</summary>
    private IngestProcessor NewProcessor() => new(app.Service<ProfileStore>(),
        new IdentityStore(app.Service<Siyu.Storage.Tables.StorageTables>(), TimeProvider.System),
        app.Service<Siyu.Storage.Privacy.PrivacyStores>(), app.Service<Siyu.Storage.Audience.AudienceStore>(),
        app.Service<Siyu.Functions.Audience.ProfileRefresher>(), app.Service<IngestQueue>(), app.Service<Siyu.Functions.Merges.ProfileMerger>(),
        TimeProvider.System, NullLogger<IngestProcessor>.Instance);

    private async Task<(string Id, Core.Profiles.ProfileState State)> ProfileOf(string tenant, Identity identity)
    {
        var id = await app.Service<IdentityStore>().LookupAsync(tenant, identity.Key);
        Assert.NotNull(id);
        var stored = await app.Service<ProfileStore>().ReadAsync(tenant, id!);
        Assert.NotNull(stored);
        return (id!, stored.Value.State);
    }

    [Fact]
    public async Task Replaying_a_message_changes_nothing_and_a_partial_replay_adds_only_what_is_new()
    {
        var tenant = NewTenant();
        var who = new Identity(IdentityType.UserId, "u1");
        var e1 = Track("m1", "view", who);
        var e2 = Track("m2", "view", who);
        var e3 = Track("m3", "buy", who);
        var processor = app.Service<IngestProcessor>();

        Assert.All(await processor.HandleAsync([Message(tenant, e1, e2)], default), o => Assert.IsType<WorkOutcome.DoneOutcome>(o));
        var (_, before) = await ProfileOf(tenant, who);

        // The same message again, through the same processor and through a fresh one (no warm cache).
        Assert.All(await processor.HandleAsync([Message(tenant, e1, e2)], default), o => Assert.IsType<WorkOutcome.DoneOutcome>(o));
        Assert.All(await NewProcessor().HandleAsync([Message(tenant, e1, e2)], default), o => Assert.IsType<WorkOutcome.DoneOutcome>(o));
        var (_, after) = await ProfileOf(tenant, who);
        Assert.Equal(2, after.EventCount);
        Assert.Equal(before.Counters["view"].Count, after.Counters["view"].Count);

        // A message that overlaps the stored ones: only the new event counts.
        Assert.All(await NewProcessor().HandleAsync([Message(tenant, e1, e2, e3)], default), o => Assert.IsType<WorkOutcome.DoneOutcome>(o));
        var (_, last) = await ProfileOf(tenant, who);
        Assert.Equal(3, last.EventCount);
        Assert.Equal(2, last.Counters["view"].Count);
        Assert.Equal(1, last.Counters["buy"].Count);
    }

    [Fact]
    public async Task Two_processors_seeing_a_new_person_at_once_create_one_profile()
    {
        var tenant = NewTenant();
        for (var round = 0; round < 5; round++)
        {
            var phone = new Identity(IdentityType.Phone, $"+861380000{round:0000}");
            var device = new Identity(IdentityType.AnonymousId, $"dev-{round}");
            var a = NewProcessor();
            var b = NewProcessor();
            var results = await Task.WhenAll(
                a.HandleAsync([Message(tenant, Track($"a{round}", "open", phone, device))], default),
                b.HandleAsync([Message(tenant, Track($"b{round}", "open", phone))], default));
            Assert.All(results.SelectMany(r => r), o => Assert.IsType<WorkOutcome.DoneOutcome>(o));

            var (byPhone, state) = await ProfileOf(tenant, phone);
            var (byDevice, _) = await ProfileOf(tenant, device);
            Assert.Equal(byPhone, byDevice);
            Assert.Equal(2, state.EventCount);
        }
    }

    [Fact]
    public async Task Many_processors_writing_one_profile_lose_no_update()
    {
        var tenant = NewTenant();
        var who = new Identity(IdentityType.UserId, "busy");
        await app.Service<IngestProcessor>().HandleAsync([Message(tenant, Track("seed", "seed", who))], default);

        // Four "instances", ten batches each at once, all for one profile. Like the queue, hand back what is retried.
        var processors = Enumerable.Range(0, 4).Select(_ => NewProcessor()).ToList();
        var pending = Enumerable.Range(0, 40).ToList();
        for (var round = 0; round < 5 && pending.Count > 0; round++)
        {
            var outcomes = await Task.WhenAll(pending.Select(i =>
                processors[i % 4].HandleAsync([Message(tenant, Track($"c{i}", "tap", who))], default)));
            Assert.All(outcomes.SelectMany(o => o), o => Assert.IsNotType<WorkOutcome.PoisonOutcome>(o));
            pending = pending.Where((_, k) => outcomes[k][0] is WorkOutcome.RetryOutcome).ToList();
        }

        Assert.Empty(pending);
        var (id, state) = await ProfileOf(tenant, who);
        Assert.Equal(41, state.EventCount);
        Assert.Equal(40, state.Counters["tap"].Count);
        var (rows, _) = await app.Service<ProfileStore>().ReadEventsAsync(tenant, id, 500, null);
        Assert.Equal(41, rows.Count);
    }

    [Fact]
    public async Task A_message_storage_refuses_goes_to_poison_with_its_reason_and_its_batch_neighbours_are_processed()
    {
        var tenant = NewTenant();
        var names = app.Service<QueueNames>();
        var queues = app.Service<IQueueService>();
        var queue = queues.Queue(names.Ingest[0]);
        var poison = queues.Queue(PoisonQueue.NameFor(names.Ingest[0]));

        var good1 = new Identity(IdentityType.UserId, "good-1");
        var good2 = new Identity(IdentityType.UserId, "good-2");
        // Properties far past what a table row can hold: the API refuses this, but a message can reach the queue by
        // other means (an older version, a hand-made replay). Storage refuses it; it must not take others down.
        var huge = Track("huge", "view", new Identity(IdentityType.UserId, "bad"));
        huge = huge with { Properties = new JsonObject { ["blob"] = new string('x', 40_000) } };

        await queue.SendAsync(new IngestEnvelope(tenant, [Track("g1", "view", good1)]).Serialize());
        await queue.SendAsync("this is not an ingest message");
        await queue.SendAsync(new IngestEnvelope(tenant, [Track("g2a", "view", good2), huge]).Serialize());

        // As the host hands them over: one invocation each, at once (the runner takes them into one round).
        var runner = app.Service<QueueFunctionRunner>();
        var received = await queue.ReceiveAsync(32, TimeSpan.FromSeconds(30));
        Assert.Equal(3, received.Count);
        await Task.WhenAll(received.Select(m => runner.RunAsync(app.Service<IngestProcessor>(), names.Ingest[0], Message(m.Text, m.DequeueCount, m.MessageId))));
        foreach (var m in received) await queue.TryDeleteAsync(m.MessageId, m.PopReceipt); // what the host does after a successful invocation

        Assert.Equal(1, (await ProfileOf(tenant, good1)).State.EventCount);
        Assert.Equal(1, (await ProfileOf(tenant, good2)).State.EventCount);
        Assert.Equal(0, await queue.GetApproximateCountAsync());

        var poisoned = (await poison.PeekAsync(32)).Select(m => System.Text.Json.JsonDocument.Parse(m.Text).RootElement).ToList();
        Assert.Equal(2, poisoned.Count);
        Assert.Contains(poisoned, p => p.GetProperty("text").GetString() == "this is not an ingest message"
                                       && p.GetProperty("error").GetString()!.Contains("unreadable ingest message"));
        Assert.Contains(poisoned, p => p.GetProperty("text").GetString()!.Contains("\"huge\"")
                                       && p.GetProperty("error").GetString()!.Contains("storage refused the event"));
    }

    /// <summary>A queue message as the host's trigger binds it.</summary>
    private static Azure.Storage.Queues.Models.QueueMessage Message(string text, long dequeueCount, string? id = null) =>
        Azure.Storage.Queues.Models.QueuesModelFactory.QueueMessage(id ?? Guid.NewGuid().ToString(), "receipt", text, dequeueCount);

    [Fact]
    public async Task A_message_that_keeps_failing_is_retried_by_the_host_then_poisoned_with_its_last_error_on_the_last_try()
    {
        var queues = app.Service<IQueueService>();
        var name = SharedAzurite.NewPrefix() + "-flaky";
        await queues.Queue(PoisonQueue.NameFor(name)).CreateIfNotExistsAsync();
        var runner = app.Service<QueueFunctionRunner>();
        var handler = new AlwaysBusy();
        // host.json's maxDequeueCount is 5: tries 1-4 throw, so the host makes the message visible again; try 5 poisons it.
        for (var attempt = 1; attempt < 5; attempt++)
        {
            var failed = await Assert.ThrowsAsync<QueueWorkFailed>(() => runner.RunAsync(handler, name, Message("work", attempt, "m1")));
            Assert.Contains("storage busy", failed.Message);
            Assert.Empty(await queues.Queue(PoisonQueue.NameFor(name)).PeekAsync());
        }
        await runner.RunAsync(handler, name, Message("work", 5, "m1"));

        Assert.Equal(5, handler.Calls);
        var poisoned = System.Text.Json.JsonDocument.Parse((await queues.Queue(PoisonQueue.NameFor(name)).PeekAsync())[0].Text).RootElement;
        Assert.Equal("work", poisoned.GetProperty("text").GetString());
        Assert.Equal("m1", poisoned.GetProperty("messageId").GetString());
        Assert.Contains("failed 5 times", poisoned.GetProperty("error").GetString());
        Assert.Contains("storage busy", poisoned.GetProperty("error").GetString());
    }

    [Fact]
    public async Task Messages_of_one_queue_handed_over_one_by_one_are_handled_in_rounds()
    {
        var runner = app.Service<QueueFunctionRunner>();
        var name = SharedAzurite.NewPrefix() + "-deep";
        var handler = new Recording(TimeSpan.FromMilliseconds(200));
        // 70 invocations at once, as the host runs a queue's invocations side by side.
        await Task.WhenAll(Enumerable.Range(0, 70).Select(i => Task.Run(() => runner.RunAsync(handler, name, Message($"m{i}", 1)))));

        Assert.Equal(70, handler.Sizes.Sum());
        Assert.Equal(70, handler.Seen.Distinct().Count());
        Assert.True(handler.Sizes.Count < 10, $"rounds: {string.Join(", ", handler.Sizes)}");
        Assert.All(handler.Sizes, n => Assert.InRange(n, 1, app.Service<Microsoft.Extensions.Options.IOptions<QueueOptions>>().Value.MaxBatchMessages));
        Assert.Equal(1, handler.MostAtOnce); // one round at a time per queue
    }

    private sealed class Recording(TimeSpan duration) : IQueueHandler
    {
        private int _atOnce;
        public int MostAtOnce;
        public List<int> Sizes { get; } = new();
        public List<string> Seen { get; } = new();
        public async Task<IReadOnlyList<WorkOutcome>> HandleAsync(IReadOnlyList<QueueWorkItem> batch, CancellationToken ct)
        {
            var now = Interlocked.Increment(ref _atOnce);
            lock (Sizes) { Sizes.Add(batch.Count); Seen.AddRange(batch.Select(b => b.Text)); MostAtOnce = Math.Max(MostAtOnce, now); }
            await Task.Delay(duration, ct);
            Interlocked.Decrement(ref _atOnce);
            return batch.Select(_ => WorkOutcome.Done).ToList();
        }
    }

    private sealed class AlwaysBusy : IQueueHandler
    {
        public int Calls;
        public Task<IReadOnlyList<WorkOutcome>> HandleAsync(IReadOnlyList<QueueWorkItem> batch, CancellationToken ct)
        {
            Interlocked.Increment(ref Calls);
            return Task.FromResult<IReadOnlyList<WorkOutcome>>(batch.Select(_ => WorkOutcome.Retry("storage busy")).ToList());
        }
    }
}
