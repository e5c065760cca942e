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
public sealed class QuietApp : SiyuApp
{
    protected override void ConfigureMore(Microsoft.AspNetCore.Hosting.IWebHostBuilder builder) =>
        builder.UseSetting("Queues:ListenersEnabled", "false");
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

        var listener = app.Service<IEnumerable<QueueListener>>().Single(l => l.QueueName == names.Ingest[0]);
        var received = await queue.ReceiveAsync(32, TimeSpan.FromSeconds(30));
        Assert.Equal(3, received.Count);
        await listener.ProcessAsync(received, default);

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

    [Fact]
    public async Task A_message_that_keeps_failing_is_retried_then_poisoned_with_its_last_error()
    {
        var queues = app.Service<IQueueService>();
        var name = SharedAzurite.NewPrefix() + "-flaky";
        var queue = queues.Queue(name);
        await queue.CreateIfNotExistsAsync();
        await queues.Queue(PoisonQueue.NameFor(name)).CreateIfNotExistsAsync();
        await queue.SendAsync("work");

        var handler = new AlwaysBusy();
        var options = Microsoft.Extensions.Options.Options.Create(new QueueOptions { MaxDequeueCount = 3, RetryDelay = TimeSpan.Zero, VisibilityTimeout = TimeSpan.FromSeconds(30) });
        var listener = new QueueListener(name, queues, handler, app.Service<PoisonQueue>(), options, new QueueWakeups(), NullLogger<QueueListener>.Instance);
        for (var attempt = 1; attempt <= 3; attempt++)
        {
            var got = await Eventually.Get(() => queue.ReceiveAsync(1, TimeSpan.FromSeconds(30)), m => m.Count == 1, what: $"attempt {attempt}");
            Assert.Equal(attempt, got[0].DequeueCount);
            await listener.ProcessAsync(got, default);
        }

        Assert.Equal(3, handler.Calls);
        Assert.Equal(0, await queue.GetApproximateCountAsync());
        var poisoned = System.Text.Json.JsonDocument.Parse((await queues.Queue(PoisonQueue.NameFor(name)).PeekAsync())[0].Text).RootElement;
        Assert.Equal("work", poisoned.GetProperty("text").GetString());
        Assert.Contains("failed 3 times", poisoned.GetProperty("error").GetString());
        Assert.Contains("storage busy", poisoned.GetProperty("error").GetString());
    }

    [Fact]
    public async Task A_batch_that_outlives_its_visibility_timeout_keeps_its_messages_hidden_until_it_is_done()
    {
        var queues = app.Service<IQueueService>();
        var name = SharedAzurite.NewPrefix() + "-slow";
        var queue = queues.Queue(name);
        await queue.CreateIfNotExistsAsync();
        await queue.SendAsync("long work");

        var options = Microsoft.Extensions.Options.Options.Create(new QueueOptions { VisibilityTimeout = TimeSpan.FromSeconds(2) });
        var handler = new Slow(TimeSpan.FromSeconds(5));
        var listener = new QueueListener(name, queues, handler, app.Service<PoisonQueue>(), options, new QueueWakeups(), NullLogger<QueueListener>.Instance);
        var received = await queue.ReceiveAsync(1, options.Value.VisibilityTimeout);
        var processing = listener.ProcessAsync(received, default);

        // Well past the original 2 s lease, nobody else can take the message: the lease is being renewed.
        await Task.Delay(TimeSpan.FromSeconds(3.5));
        Assert.Empty(await queue.ReceiveAsync(1, TimeSpan.FromSeconds(1)));

        await processing;
        Assert.Equal(1, handler.Calls);
        Assert.Equal(0, await queue.GetApproximateCountAsync()); // deleted with the renewed pop receipt
    }

    [Fact]
    public async Task A_lease_renewal_still_in_flight_when_the_batch_ends_leaves_the_message_deletable()
    {
        // Renewals are answered 400 ms after the queue has applied them; the batch ends while one is on its way back.
        var options = AzureQueueService.CreateOptions();
        options.AddPolicy(new SlowAnswersToUpdates(TimeSpan.FromMilliseconds(400)), Azure.Core.HttpPipelinePosition.PerCall);
        using var queues = new AzureQueueService(Siyu.Storage.Account.StorageAccount.Parse(await SharedAzurite.ConnectionStringAsync()), options);
        var name = SharedAzurite.NewPrefix() + "-renew";
        var queue = queues.Queue(name);
        await queue.CreateIfNotExistsAsync();
        await queue.SendAsync("work");

        var lease = Microsoft.Extensions.Options.Options.Create(new QueueOptions { VisibilityTimeout = TimeSpan.FromSeconds(1) });
        var handler = new Slow(TimeSpan.FromMilliseconds(700)); // renewal sent at 500 ms, answered at 900 ms
        var listener = new QueueListener(name, queues, handler, app.Service<PoisonQueue>(), lease, new QueueWakeups(), NullLogger<QueueListener>.Instance);
        await listener.ProcessAsync(await queue.ReceiveAsync(1, lease.Value.VisibilityTimeout), default);

        Assert.Equal(1, handler.Calls);
        Assert.Equal(0, await queue.GetApproximateCountAsync()); // deleted with the pop receipt of the renewal that was in flight
    }

    /// <summary>Lets a message-update request reach the queue, then holds its answer back (a slow network on the way back).</summary>
    private sealed class SlowAnswersToUpdates(TimeSpan delay) : Azure.Core.Pipeline.HttpPipelinePolicy
    {
        public override void Process(Azure.Core.HttpMessage message, ReadOnlyMemory<Azure.Core.Pipeline.HttpPipelinePolicy> pipeline) =>
            ProcessAsync(message, pipeline).AsTask().GetAwaiter().GetResult();

        public override async ValueTask ProcessAsync(Azure.Core.HttpMessage message, ReadOnlyMemory<Azure.Core.Pipeline.HttpPipelinePolicy> pipeline)
        {
            await ProcessNextAsync(message, pipeline);
            if (message.Request.Method == Azure.Core.RequestMethod.Put && message.Request.Uri.Path.Contains("/messages/", StringComparison.Ordinal))
                await Task.Delay(delay, message.CancellationToken);
        }
    }

    [Fact]
    public async Task A_backlog_is_taken_in_rounds_bigger_than_one_receive()
    {
        var queues = app.Service<IQueueService>();
        var name = SharedAzurite.NewPrefix() + "-deep";
        var queue = queues.Queue(name);
        await queue.CreateIfNotExistsAsync();
        await Task.WhenAll(Enumerable.Range(0, 70).Select(i => queue.SendAsync($"m{i}")));

        var handler = new Recording();
        var options = Microsoft.Extensions.Options.Options.Create(new QueueOptions { BatchSize = 32, MaxBatchMessages = 64 });
        var listener = new QueueListener(name, queues, handler, app.Service<PoisonQueue>(), options, new QueueWakeups(), NullLogger<QueueListener>.Instance);
        using var stop = new CancellationTokenSource();
        var running = listener.RunAsync(stop.Token);
        await Eventually.Get(() => Task.FromResult(handler.Sizes.Sum()), n => n == 70, what: "all 70 messages handled");
        await stop.CancelAsync();
        await running;

        Assert.Equal(64, handler.Sizes[0]); // two full receives of 32 in one round
        Assert.Equal(70, handler.Sizes.Sum());
        Assert.Equal(0, await queue.GetApproximateCountAsync());
    }

    private sealed class Recording : IQueueHandler
    {
        public List<int> Sizes { get; } = new();
        public Task<IReadOnlyList<WorkOutcome>> HandleAsync(IReadOnlyList<QueueWorkItem> batch, CancellationToken ct)
        {
            lock (Sizes) Sizes.Add(batch.Count);
            return Task.FromResult<IReadOnlyList<WorkOutcome>>(batch.Select(_ => WorkOutcome.Done).ToList());
        }
    }

    private sealed class Slow(TimeSpan duration) : IQueueHandler
    {
        public int Calls;
        public async Task<IReadOnlyList<WorkOutcome>> HandleAsync(IReadOnlyList<QueueWorkItem> batch, CancellationToken ct)
        {
            Interlocked.Increment(ref Calls);
            await Task.Delay(duration, ct);
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
