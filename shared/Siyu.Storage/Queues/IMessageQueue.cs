// Queue Storage behind our own interface, implemented by AzureQueueService over Azure.Storage.Queues.
//
// Why keep a seam when the official client is in: the listener, the poison queue and every producer need a dozen
// queue operations, and need them with the guarantees written below (client-side limits, strict vs tolerant delete,
// whole-second durations, never-expiring messages), which the SDK leaves to each caller. Tests swap in a queue that
// fails (see IngestQueueTests), which takes ten one-line methods here, against QueueClient's virtual methods and
// Response<T> models. So the SDK types stay in one file, AzureQueueService.cs; everything else depends on these
// interfaces and records.
//
// Conventions, chosen to match Azure.Storage.Queues and Azure.Data.Tables:
// - Service failures surface as Azure.RequestFailedException with Status and ErrorCode (x-ms-error-code), so callers
//   treat table and queue failures alike. Argument problems we can detect locally (bad queue name, oversized text,
//   out-of-range counts or timeouts) are ArgumentException / ArgumentOutOfRangeException, raised before any I/O.
// - Message text is sent as XML-escaped UTF-8 text, not base64 (QueueMessageEncoding.None): the Functions host is
//   configured with messageEncoding "none", so producers and the host agree on the raw text.
// - Durations go on the wire as whole seconds; fractions of a second are truncated (as the official client does).
// - Delivery is at-least-once: a Send that fails on the network is retried by the pipeline and may enqueue twice.

namespace Siyu.Storage.Queues;

/// <summary>Queue Storage for the account: hands out one <see cref="IMessageQueue"/> per queue name.</summary>
public interface IQueueService
{
    /// <summary>
    /// The queue called <paramref name="name"/> (3–63 lowercase letters, digits and single dashes, starting and ending
    /// with a letter or digit). No I/O: the queue need not exist yet; see <see cref="IMessageQueue.CreateIfNotExistsAsync"/>.
    /// </summary>
    /// <exception cref="ArgumentException">The name is not a valid queue name.</exception>
    IMessageQueue Queue(string name);
}

/// <summary>One queue. Safe for concurrent use; every call is one REST request (plus pipeline retries).</summary>
public interface IMessageQueue
{
    string Name { get; }

    /// <summary>Creates the queue; true if it was created, false if it already existed.</summary>
    Task<bool> CreateIfNotExistsAsync(CancellationToken ct = default);

    /// <summary>Deletes the queue and its messages; true if it existed.</summary>
    Task<bool> DeleteIfExistsAsync(CancellationToken ct = default);

    /// <summary>Adds a message to the back of the queue.</summary>
    /// <param name="text">Up to <see cref="QueueLimits.MaxMessageBytes"/> bytes of UTF-8; any XML 1.0 characters.</param>
    /// <param name="visibilityDelay">Keep the message invisible this long (0 to 7 days); null for 0.</param>
    /// <param name="timeToLive">
    /// How long the message lives (at least 1 s, and longer than <paramref name="visibilityDelay"/>); null for the
    /// service default of 7 days; <see cref="QueueLimits.NeverExpires"/> (or <see cref="Timeout.InfiniteTimeSpan"/>)
    /// for a message that never expires.
    /// </param>
    /// <exception cref="ArgumentException">The text is too large or holds characters XML cannot carry.</exception>
    Task<SendReceipt> SendAsync(string text, TimeSpan? visibilityDelay = null, TimeSpan? timeToLive = null, CancellationToken ct = default);

    /// <summary>
    /// Dequeues up to <paramref name="maxMessages"/> visible messages (1..32) and hides them for
    /// <paramref name="visibilityTimeout"/> (1 s to 7 days; null for the service default of 30 s). Returns an empty
    /// list when none is visible. Each returned message must be deleted with its pop receipt before the timeout
    /// lapses, or it becomes visible again with a higher <see cref="ReceivedMessage.DequeueCount"/>.
    /// </summary>
    Task<IReadOnlyList<ReceivedMessage>> ReceiveAsync(int maxMessages = 1, TimeSpan? visibilityTimeout = null, CancellationToken ct = default);

    /// <summary>Reads up to <paramref name="maxMessages"/> visible messages (1..32) without dequeuing or hiding them.</summary>
    Task<IReadOnlyList<PeekedMessage>> PeekAsync(int maxMessages = 1, CancellationToken ct = default);

    /// <summary>
    /// Deletes a received message. Strict: a message that is already gone (deleted, expired, or the queue is gone)
    /// throws <see cref="Azure.RequestFailedException"/> with status 404 (MessageNotFound / QueueNotFound). Use
    /// <see cref="TryDeleteAsync"/> where "already gone" is an expected outcome.
    /// </summary>
    Task DeleteAsync(string messageId, string popReceipt, CancellationToken ct = default);

    /// <summary>
    /// Deletes a received message, tolerating one that is already gone: returns true if this call deleted it, false
    /// on a 404 (MessageNotFound or QueueNotFound). Any other failure still throws; in particular a stale pop receipt
    /// for a message that is still there (someone else received it after our lease lapsed) is 400 PopReceiptMismatch
    /// on Azurite. (The real service may report a stale receipt as 404 MessageNotFound instead; either way the
    /// message is not ours any more.)
    /// </summary>
    Task<bool> TryDeleteAsync(string messageId, string popReceipt, CancellationToken ct = default);

    /// <summary>
    /// Extends (or shortens) the lease on a received message: it becomes visible again <paramref name="visibilityTimeout"/>
    /// from now (0 to 7 days), and, if <paramref name="newText"/> is given, its text is replaced. Returns the new pop
    /// receipt, which replaces the old one (the old one no longer deletes or updates the message).
    /// </summary>
    Task<UpdateReceipt> UpdateVisibilityAsync(string messageId, string popReceipt, TimeSpan visibilityTimeout, string? newText = null, CancellationToken ct = default);

    /// <summary>The service's approximate number of messages in the queue (x-ms-approximate-messages-count), visible or not.</summary>
    Task<long> GetApproximateCountAsync(CancellationToken ct = default);

    /// <summary>Deletes all messages in the queue.</summary>
    Task ClearAsync(CancellationToken ct = default);
}

/// <summary>What the service returned for a sent message.</summary>
public sealed record SendReceipt(string MessageId, string PopReceipt, DateTimeOffset InsertedOn, DateTimeOffset ExpiresOn, DateTimeOffset NextVisibleOn);

/// <summary>A dequeued message: hidden until <see cref="NextVisibleOn"/>; delete or update it with <see cref="PopReceipt"/>.</summary>
public sealed record ReceivedMessage(
    string MessageId,
    string PopReceipt,
    string Text,
    long DequeueCount,
    DateTimeOffset InsertedOn,
    DateTimeOffset ExpiresOn,
    DateTimeOffset NextVisibleOn);

/// <summary>A message read by Peek: not dequeued, so there is no pop receipt.</summary>
public sealed record PeekedMessage(string MessageId, string Text, long DequeueCount, DateTimeOffset InsertedOn, DateTimeOffset ExpiresOn);

/// <summary>The result of an update: the new pop receipt and when the message becomes visible again.</summary>
public sealed record UpdateReceipt(string PopReceipt, DateTimeOffset NextVisibleOn);

/// <summary>Queue service limits, checked client-side before any request is made.</summary>
public static class QueueLimits
{
    /// <summary>Largest message text: 64 KiB of UTF-8 (counted before XML escaping, as the service and Azurite count it).</summary>
    public const int MaxMessageBytes = 64 * 1024;

    /// <summary>Most messages one Receive or Peek returns.</summary>
    public const int MaxMessagesPerReceive = 32;

    /// <summary>The longest visibility timeout or delay: 7 days.</summary>
    public static readonly TimeSpan MaxVisibilityTimeout = TimeSpan.FromDays(7);

    /// <summary>Pass as the time-to-live for a message that never expires (messagettl=-1).</summary>
    public static readonly TimeSpan NeverExpires = TimeSpan.FromSeconds(-1);
}
