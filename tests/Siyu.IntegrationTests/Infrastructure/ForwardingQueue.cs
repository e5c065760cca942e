using Siyu.Storage.Queues;

namespace Siyu.IntegrationTests.Infrastructure;

/// <summary>A queue that passes everything to another: a test overrides the one operation it watches or breaks.</summary>
public class ForwardingQueue(IMessageQueue inner) : IMessageQueue
{
    public string Name => inner.Name;
    public virtual Task<SendReceipt> SendAsync(string text, TimeSpan? visibilityDelay = null, TimeSpan? timeToLive = null, CancellationToken ct = default) =>
        inner.SendAsync(text, visibilityDelay, timeToLive, ct);
    public Task<bool> CreateIfNotExistsAsync(CancellationToken ct = default) => inner.CreateIfNotExistsAsync(ct);
    public Task<bool> DeleteIfExistsAsync(CancellationToken ct = default) => inner.DeleteIfExistsAsync(ct);
    public Task<IReadOnlyList<ReceivedMessage>> ReceiveAsync(int maxMessages = 1, TimeSpan? visibilityTimeout = null, CancellationToken ct = default) =>
        inner.ReceiveAsync(maxMessages, visibilityTimeout, ct);
    public Task<IReadOnlyList<PeekedMessage>> PeekAsync(int maxMessages = 1, CancellationToken ct = default) => inner.PeekAsync(maxMessages, ct);
    public Task DeleteAsync(string messageId, string popReceipt, CancellationToken ct = default) => inner.DeleteAsync(messageId, popReceipt, ct);
    public Task<bool> TryDeleteAsync(string messageId, string popReceipt, CancellationToken ct = default) => inner.TryDeleteAsync(messageId, popReceipt, ct);
    public Task<UpdateReceipt> UpdateVisibilityAsync(string messageId, string popReceipt, TimeSpan visibilityTimeout, string? newText = null, CancellationToken ct = default) =>
        inner.UpdateVisibilityAsync(messageId, popReceipt, visibilityTimeout, newText, ct);
    public Task<long> GetApproximateCountAsync(CancellationToken ct = default) => inner.GetApproximateCountAsync(ct);
    public Task ClearAsync(CancellationToken ct = default) => inner.ClearAsync(ct);
}
