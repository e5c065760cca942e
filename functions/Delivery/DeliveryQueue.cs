using System.Text.Json;
using System.Text.Json.Serialization;
using Siyu.Core.Storage;
using Siyu.Functions.Hosting;
using Siyu.Storage.Queues;

namespace Siyu.Functions.Delivery;

/// <summary>One delivery to work on: its person and key (the row is <c>{profile}~d~{key}</c> in the person's partition).</summary>
public sealed record DeliveryItem(string P, string K);

/// <summary>
/// Campaign messages with no row yet: the fan-out hands them on without writing, and the worker writes each row once,
/// when it is decided (a refusal, a hold, a claim) or, for a plain send, together with its outcome.
/// </summary>
public sealed record UnrecordedSends(string Campaign, string Template, DateTimeOffset RequestedAt);

/// <summary>
/// A delivery work message: up to <see cref="DeliveryQueue.MaxItems"/> deliveries of one (tenant, profile bucket)
/// partition, so they are read, decided and written together. <see cref="Wait"/> counts how often a delivery whose
/// row was not there yet has been looked for (a journey queues its sends just before it records them). With
/// <see cref="Unrecorded"/>, the items are campaign messages whose rows are not written yet.
/// </summary>
public sealed record DeliveryMessage(string Tenant, int Bucket, List<DeliveryItem> Items, int Wait = 0,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] UnrecordedSends? Unrecorded = null);

/// <summary>Sends delivery work to the queue of its partition, in messages of up to a hundred deliveries, now or later.</summary>
public sealed class DeliveryQueue(IQueueService queues, QueueNames names)
{
    public const int MaxItems = 100;

    public string QueueFor(int bucket) => names.Deliveries[bucket % names.Deliveries.Count];

    /// <summary>Queues deliveries of one tenant (any partitions), grouped by partition. A delay over seven days is carried as seven days: the worker looks at NotBefore again.</summary>
    public async Task EnqueueAsync(string tenantId, IEnumerable<DeliveryItem> items, TimeSpan? delay = null, int wait = 0, CancellationToken ct = default,
        UnrecordedSends? unrecorded = null)
    {
        var sends = new List<Task>();
        foreach (var bucket in items.GroupBy(i => Ids.ProfileBucket(i.P)))
            foreach (var chunk in bucket.Chunk(MaxItems))
                sends.Add(SendAsync(new DeliveryMessage(tenantId, bucket.Key, chunk.ToList(), wait, unrecorded), delay, ct));
        await Task.WhenAll(sends);
    }

    private async Task SendAsync(DeliveryMessage message, TimeSpan? delay, CancellationToken ct)
    {
        var queue = QueueFor(message.Bucket);
        var visible = delay is { } d && d > TimeSpan.Zero ? (d > QueueLimits.MaxVisibilityTimeout ? QueueLimits.MaxVisibilityTimeout : d) : (TimeSpan?)null;
        await queues.Queue(queue).SendAsync(Telemetry.Stamp(JsonSerializer.Serialize(message, JsonSerializerOptions.Web)), visibilityDelay: visible,
            timeToLive: QueueLimits.NeverExpires, ct: ct);
    }
}
