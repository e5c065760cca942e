using Siyu.Core.Events;
using Siyu.Core.Storage;
using Siyu.Functions.Hosting;
using Siyu.Storage.Queues;

namespace Siyu.Functions.Ingestion;

/// <summary>
/// Puts accepted events on the ingest queues, as few messages as possible, because on Azurite (and on Azure's
/// per-queue cap) queue operations are the scarce resource, not bytes:
/// <list type="bullet">
/// <item>a batch is packed into messages of up to ~40 KB, each sent to the partition of its first event's strongest
/// identity (so one person's events usually meet in one queue and one processing round);</item>
/// <item>small enqueues (a WeChat push is one event) go through a group commit per tenant: at most one put is in
/// flight, and whatever arrives meanwhile rides the next one. A lone event is sent at once; under load, messages
/// fill up by themselves. Each caller returns only once its own events are durably queued.</item>
/// </list>
/// </summary>
public sealed class IngestQueue(IQueueService queues, QueueNames names)
{
    private const int SmallBatch = 8;
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, Lane> _lanes = new();

    public async Task EnqueueAsync(string tenantId, IReadOnlyList<IncomingEvent> events, CancellationToken ct)
    {
        if (events.Count <= SmallBatch)
        {
            await EnqueueSmallAsync(tenantId, events);
        }
        else
        {
            var sends = IngestEnvelope.PackMessages(tenantId, events)
                .Select(m => SendAsync(names.Ingest[PartitionOf(m.First)], m.Text, ct));
            await Task.WhenAll(sends);
        }
        IngestMetrics.EventsAccepted.Add(events.Count);
    }

    /// <summary>Queues events again, to be processed no sooner than <paramref name="delay"/> from now (as new messages).</summary>
    public Task DeferAsync(string tenantId, IReadOnlyList<IncomingEvent> events, TimeSpan delay, CancellationToken ct) =>
        Task.WhenAll(IngestEnvelope.PackMessages(tenantId, events)
            .Select(m => queues.Queue(names.Ingest[PartitionOf(m.First)]).SendAsync(m.Text, visibilityDelay: delay, ct: ct)));

    private int PartitionOf(IncomingEvent e) => Ids.Bucket(e.ProfileId ?? e.PrimaryIdentity.Key, names.Ingest.Count);

    private Task EnqueueSmallAsync(string tenantId, IReadOnlyList<IncomingEvent> events)
    {
        var lane = _lanes.GetOrAdd(tenantId, _ => new Lane());
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        bool start;
        lock (lane)
        {
            lane.Events.AddRange(events);
            lane.Waiters.Add(done);
            lane.Traces.Add(Hosting.Telemetry.Current);
            start = !lane.Sending;
            lane.Sending = true;
        }
        if (start) _ = Task.Run(() => DrainAsync(tenantId, lane));
        return done.Task;
    }

    /// <summary>Sends whatever the lane holds, again and again, until it is empty.</summary>
    private async Task DrainAsync(string tenantId, Lane lane)
    {
        while (true)
        {
            List<IncomingEvent> events;
            List<TaskCompletionSource> waiters;
            List<string?> traces;
            lock (lane)
            {
                if (lane.Events.Count == 0) { lane.Sending = false; return; }
                (events, lane.Events) = (lane.Events, new List<IncomingEvent>());
                (waiters, lane.Waiters) = (lane.Waiters, new List<TaskCompletionSource>());
                (traces, lane.Traces) = (lane.Traces, new List<string?>());
            }
            try
            {
                await Task.WhenAll(IngestEnvelope.PackMessages(tenantId, events, traces)
                    .Select(m => SendAsync(names.Ingest[PartitionOf(m.First)], m.Text, CancellationToken.None)));
                foreach (var w in waiters) w.TrySetResult();
            }
            catch (Exception e)
            {
                foreach (var w in waiters) w.TrySetException(e);
            }
        }
    }

    private async Task SendAsync(string queue, string message, CancellationToken ct)
    {
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        await queues.Queue(queue).SendAsync(message, ct: ct);
        IngestMetrics.EnqueueMilliseconds.Record(System.Diagnostics.Stopwatch.GetElapsedTime(started).TotalMilliseconds);
    }

    private sealed class Lane
    {
        public List<IncomingEvent> Events = new();
        public List<TaskCompletionSource> Waiters = new();
        /// <summary>The trace context of each waiting request (see Telemetry).</summary>
        public List<string?> Traces = new();
        public bool Sending;
    }
}
