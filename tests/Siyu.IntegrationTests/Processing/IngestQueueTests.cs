using Azure;
using Siyu.Core.Events;
using Siyu.Core.Identities;
using Siyu.Functions.Hosting;
using Siyu.Functions.Ingestion;
using Siyu.IntegrationTests.Infrastructure;
using Siyu.Storage.Queues;

namespace Siyu.IntegrationTests.Processing;

/// <summary>Enqueueing: packing, and the group commit that lets concurrent small enqueues share queue messages.</summary>
public sealed class IngestQueueTests(QuietApp app) : IClassFixture<QuietApp>
{
    private static IncomingEvent Track(string messageId, string user) => new()
    {
        MessageId = messageId, Type = EventType.Track, Name = "view", Identities = [new Identity(IdentityType.UserId, user)],
        Timestamp = DateTimeOffset.UtcNow, ReceivedAt = DateTimeOffset.UtcNow, Source = "api",
    };

    private async Task<List<IngestEnvelope>> DrainAll()
    {
        var queues = app.Service<IQueueService>();
        var envelopes = new List<IngestEnvelope>();
        foreach (var name in app.Service<QueueNames>().Ingest)
        {
            var queue = queues.Queue(name);
            while ((await queue.ReceiveAsync(32, TimeSpan.FromMinutes(1))) is { Count: > 0 } batch)
                foreach (var m in batch)
                {
                    envelopes.Add(IngestEnvelope.Parse(m.Text));
                    await queue.DeleteAsync(m.MessageId, m.PopReceipt);
                }
        }
        return envelopes;
    }

    [Fact]
    public async Task Concurrent_small_enqueues_are_each_queued_exactly_once_before_their_callers_return()
    {
        await DrainAll();
        var tenant = "q" + Guid.NewGuid().ToString("N")[..10];
        var queue = app.Service<IngestQueue>();

        await Task.WhenAll(Enumerable.Range(0, 200).Select(i => Task.Run(() => queue.EnqueueAsync(tenant, [Track($"m{i}", $"u{i % 37}")], default))));

        // Every caller has returned, so every event must already be on a queue.
        var envelopes = await DrainAll();
        var ids = envelopes.Where(e => e.TenantId == tenant).SelectMany(e => e.Events).Select(e => e.MessageId).ToList();
        Assert.Equal(200, ids.Count);
        Assert.Equal(200, ids.Distinct().Count());
        Assert.True(envelopes.Count <= 200);
    }

    [Fact]
    public async Task A_large_batch_is_packed_into_few_messages_in_order()
    {
        await DrainAll();
        var tenant = "q" + Guid.NewGuid().ToString("N")[..10];
        var events = Enumerable.Range(0, 500).Select(i => Track($"b{i:000}", $"u{i}")).ToList();
        await app.Service<IngestQueue>().EnqueueAsync(tenant, events, default);

        var envelopes = (await DrainAll()).Where(e => e.TenantId == tenant).ToList();
        Assert.InRange(envelopes.Count, 1, 10);
        Assert.Equal(events.Select(e => e.MessageId).Order(), envelopes.SelectMany(e => e.Events).Select(e => e.MessageId).Order());
        Assert.All(envelopes, e => Assert.Equal(e.Events.Select(x => x.MessageId).Order(), e.Events.Select(x => x.MessageId)));
    }

    [Fact]
    public async Task When_the_put_fails_every_caller_that_rode_on_it_is_told()
    {
        var failing = new IngestQueue(new FailingQueues(), app.Service<QueueNames>());
        var calls = Enumerable.Range(0, 20).Select(i => failing.EnqueueAsync("t-fail", [Track($"f{i}", "u")], default)).ToList();
        foreach (var call in calls) await Assert.ThrowsAsync<RequestFailedException>(() => call);
    }

    private sealed class FailingQueues : IQueueService
    {
        public IMessageQueue Queue(string name) => new FailingQueue(name);
    }

    private sealed class FailingQueue(string name) : IMessageQueue
    {
        public string Name => name;
        public async Task<SendReceipt> SendAsync(string text, TimeSpan? visibilityDelay = null, TimeSpan? timeToLive = null, CancellationToken ct = default)
        {
            await Task.Delay(5, ct);
            throw new RequestFailedException(503, "storage is down");
        }
        public Task<bool> CreateIfNotExistsAsync(CancellationToken ct = default) => throw new NotSupportedException();
        public Task<bool> DeleteIfExistsAsync(CancellationToken ct = default) => throw new NotSupportedException();
        public Task<IReadOnlyList<ReceivedMessage>> ReceiveAsync(int maxMessages = 1, TimeSpan? visibilityTimeout = null, CancellationToken ct = default) => throw new NotSupportedException();
        public Task<IReadOnlyList<PeekedMessage>> PeekAsync(int maxMessages = 1, CancellationToken ct = default) => throw new NotSupportedException();
        public Task DeleteAsync(string messageId, string popReceipt, CancellationToken ct = default) => throw new NotSupportedException();
        public Task<bool> TryDeleteAsync(string messageId, string popReceipt, CancellationToken ct = default) => throw new NotSupportedException();
        public Task<UpdateReceipt> UpdateVisibilityAsync(string messageId, string popReceipt, TimeSpan visibilityTimeout, string? newText = null, CancellationToken ct = default) => throw new NotSupportedException();
        public Task<long> GetApproximateCountAsync(CancellationToken ct = default) => throw new NotSupportedException();
        public Task ClearAsync(CancellationToken ct = default) => throw new NotSupportedException();
    }
}
