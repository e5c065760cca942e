using System.Collections.Concurrent;
using Azure;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using Siyu.IntegrationTests.Infrastructure;
using Siyu.Storage.Account;
using Siyu.Storage.Queues;

namespace Siyu.IntegrationTests.WeChat;

/// <summary>
/// An app for the push guards: a clock the test moves (pushes are signed with its time), and queues that record
/// every message sent and can refuse ingest sends, as a storage outage would.
/// </summary>
public sealed class WeChatGuardApp : SiyuApp
{
    public FakeTimeProvider Clock { get; init; } = new(DateTimeOffset.UtcNow);
    public WatchedQueues Queues { get; } = new();

    /// <summary>Now, by the app's clock, as WeChat writes timestamps.</summary>
    public string Timestamp() => Clock.GetUtcNow().ToUnixTimeSeconds().ToString();

    protected override void ConfigureMore(AppBuilder builder) =>
        builder.ConfigureTestServices(s =>
        {
            s.AddSingleton<TimeProvider>(Clock);
            s.AddSingleton<IQueueService>(sp => Queues.Over(new AzureQueueService(sp.GetRequiredService<StorageAccount>())));
        });
}

/// <summary>Records what is sent to any queue; refuses ingest sends while <see cref="FailIngest"/> is set.</summary>
public sealed class WatchedQueues : IQueueService
{
    private IQueueService? _inner;
    public ConcurrentQueue<(string Queue, string Text)> Sent { get; } = new();
    public volatile bool FailIngest;

    public WatchedQueues Over(IQueueService inner) { _inner = inner; return this; }

    /// <summary>Texts sent to the ingest queues or their poison queues that contain <paramref name="fragment"/>.</summary>
    public IEnumerable<string> IngestMessagesWith(string fragment) =>
        Sent.Where(m => m.Queue.Contains("ingest-", StringComparison.Ordinal) && m.Text.Contains(fragment, StringComparison.Ordinal)).Select(m => m.Text);

    public IMessageQueue Queue(string name) => new Watched(_inner!.Queue(name), this);

    private sealed class Watched(IMessageQueue queue, WatchedQueues owner) : ForwardingQueue(queue)
    {
        public override Task<SendReceipt> SendAsync(string text, TimeSpan? visibilityDelay = null, TimeSpan? timeToLive = null, CancellationToken ct = default)
        {
            var ingest = Name.Contains("ingest-", StringComparison.Ordinal) && !Name.EndsWith("-poison", StringComparison.Ordinal);
            if (ingest && owner.FailIngest) throw new RequestFailedException(503, "the queue service is unavailable (test)", "ServerBusy", null);
            owner.Sent.Enqueue((Name, text));
            return base.SendAsync(text, visibilityDelay, timeToLive, ct);
        }
    }
}
