using System.Text.Json;
using Siyu.Storage.Queues;

namespace Siyu.Functions.Hosting;

/// <summary>What a poison queue holds: the message as it was, why it failed, and when.</summary>
public sealed record PoisonEnvelope(string Queue, string? MessageId, string Text, string Error, long DequeueCount, DateTimeOffset FailedAt);

/// <summary>
/// Moves a message that cannot be processed to <c>{queue}-poison</c> with its reason. A message is never dropped:
/// an operator can read the reason, fix the cause and re-enqueue the original text.
/// </summary>
public sealed class PoisonQueue(IQueueService queues, TimeProvider clock)
{
    public static string NameFor(string queue) => queue + "-poison";

    public async Task WriteAsync(string queue, QueueWorkItem item, string error, CancellationToken ct)
    {
        var envelope = new PoisonEnvelope(queue, item.MessageId, item.Text, error, item.DequeueCount, clock.GetUtcNow());
        var text = JsonSerializer.Serialize(envelope, IngestionJson);
        // A poison message must fit a queue message; keep the reason, cut an oversized original (it is logged too).
        if (System.Text.Encoding.UTF8.GetByteCount(text) > 48 * 1024)
            text = JsonSerializer.Serialize(envelope with { Text = item.Text[..Math.Min(item.Text.Length, 8 * 1024)] + "…(cut)" }, IngestionJson);
        await queues.Queue(NameFor(queue)).SendAsync(text, timeToLive: QueueLimits.NeverExpires, ct: ct);
    }

    private static readonly JsonSerializerOptions IngestionJson = new(JsonSerializerDefaults.Web);
}

/// <summary>
/// The one policy for settling a handled message, used by both ways in: done → delete; retryable and tries left →
/// leave it to reappear; otherwise → poison queue, then delete.
/// </summary>
public static class Settlement
{
    public enum Action { Delete, Retry, Poison }

    public static (Action Action, string? Error) Decide(WorkOutcome outcome, long dequeueCount, int maxDequeueCount) => outcome switch
    {
        WorkOutcome.DoneOutcome => (Action.Delete, null),
        WorkOutcome.PoisonOutcome p => (Action.Poison, p.Error),
        WorkOutcome.RetryOutcome r when dequeueCount >= maxDequeueCount => (Action.Poison, $"failed {dequeueCount} times; last error: {r.Error}"),
        WorkOutcome.RetryOutcome r => (Action.Retry, r.Error),
        _ => throw new ArgumentOutOfRangeException(nameof(outcome)),
    };
}
