using System.Text.Json;
using System.Text.Json.Serialization;
using Siyu.Core.Storage;
using Siyu.Functions.Hosting;
using Siyu.Storage.Queues;

namespace Siyu.Functions.Delivery;

/// <summary>
/// One delivery to work on: its person and key (the row is <c>{profile}~d~{key}</c> in the person's partition), and,
/// for a row the campaign fan-out has just written, its ETag <see cref="E"/>: the worker rebuilds that row from the
/// message's <see cref="QueuedRows"/> and claims it under the ETag instead of reading it first.
/// </summary>
public sealed record DeliveryItem(string P, string K, [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? E = null);

/// <summary>What the fan-out wrote for the items of a message that carry an ETag: queued messages of this campaign and template, requested at this time.</summary>
public sealed record QueuedRows(string Campaign, string Template, DateTimeOffset RequestedAt);

/// <summary>
/// A delivery work message: up to <see cref="DeliveryQueue.MaxItems"/> deliveries of one (tenant, profile bucket)
/// partition, so they are read, decided and written together. <see cref="Wait"/> counts how often a delivery whose
/// row was not there yet has been looked for (a journey queues its sends just before it records them).
/// </summary>
public sealed record DeliveryMessage(string Tenant, int Bucket, List<DeliveryItem> Items, int Wait = 0,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] QueuedRows? Written = null);

/// <summary>Sends delivery work to the queue of its partition, in messages of up to a hundred deliveries, now or later.</summary>
public sealed class DeliveryQueue(IQueueService queues, QueueNames names, QueueWakeups wakeups)
{
    public const int MaxItems = 100;

    public string QueueFor(int bucket) => names.Deliveries[bucket % names.Deliveries.Count];

    /// <summary>Queues deliveries of one tenant (any partitions), grouped by partition. A delay over seven days is carried as seven days: the worker looks at NotBefore again.</summary>
    public async Task EnqueueAsync(string tenantId, IEnumerable<DeliveryItem> items, TimeSpan? delay = null, int wait = 0, CancellationToken ct = default,
        QueuedRows? written = null)
    {
        var sends = new List<Task>();
        foreach (var bucket in items.GroupBy(i => Ids.ProfileBucket(i.P)))
            foreach (var chunk in bucket.Chunk(MaxItems))
                sends.Add(SendAsync(new DeliveryMessage(tenantId, bucket.Key, chunk.ToList(), wait, chunk.Any(i => i.E is not null) ? written : null), delay, ct));
        await Task.WhenAll(sends);
    }

    private async Task SendAsync(DeliveryMessage message, TimeSpan? delay, CancellationToken ct)
    {
        var queue = QueueFor(message.Bucket);
        var visible = delay is { } d && d > TimeSpan.Zero ? (d > QueueLimits.MaxVisibilityTimeout ? QueueLimits.MaxVisibilityTimeout : d) : (TimeSpan?)null;
        await queues.Queue(queue).SendAsync(JsonSerializer.Serialize(message, JsonSerializerOptions.Web), visibilityDelay: visible,
            timeToLive: QueueLimits.NeverExpires, ct: ct);
        if (visible is null) wakeups.Wake(queue);
    }
}
