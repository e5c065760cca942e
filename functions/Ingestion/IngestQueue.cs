using Siyu.Core.Events;
using Siyu.Core.Storage;
using Siyu.Functions.Hosting;
using Siyu.Storage.Queues;

namespace Siyu.Functions.Ingestion;

/// <summary>
/// Puts accepted events on the ingest queues. Events are spread over the partitions by a hash of their strongest
/// identity, so one person's events usually meet in the same queue (and the same processing batch), and packed many
/// to a message, so no queue grows deep.
/// </summary>
public sealed class IngestQueue(IQueueService queues, QueueNames names, QueueWakeups wakeups)
{
    public async Task EnqueueAsync(string tenantId, IReadOnlyList<IncomingEvent> events, CancellationToken ct)
    {
        var byPartition = events.GroupBy(e => Ids.Bucket(e.PrimaryIdentity.Key, names.Ingest.Count));
        var sends = new List<Task>();
        foreach (var partition in byPartition)
        {
            var queue = names.Ingest[partition.Key];
            foreach (var message in IngestEnvelope.Pack(tenantId, partition))
                sends.Add(SendAsync(queue, message, ct));
        }
        await Task.WhenAll(sends);
    }

    private async Task SendAsync(string queue, string message, CancellationToken ct)
    {
        await queues.Queue(queue).SendAsync(message, ct: ct);
        wakeups.Wake(queue);
    }
}
