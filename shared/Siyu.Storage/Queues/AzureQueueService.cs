using System.Collections.Concurrent;
using System.Net;
using System.Text;
using System.Xml;
using Azure;
using Azure.Core;
using Azure.Core.Pipeline;
using Azure.Storage.Queues;
using Siyu.Storage.Account;
using Sdk = Azure.Storage.Queues.Models;

namespace Siyu.Storage.Queues;

/// <summary>
/// <see cref="IQueueService"/> over Azure.Storage.Queues' <see cref="QueueServiceClient"/>: a connection string
/// (Azurite, or an account key) when the account has one, otherwise the service URI with the account's token
/// credential (managed identity). Messages go as raw text (<see cref="QueueMessageEncoding.None"/>), as host.json's
/// messageEncoding "none" expects. One instance per account for the process (register as a singleton): it owns its
/// connection pool unless the options bring a transport.
/// </summary>
public sealed class AzureQueueService : IQueueService, IDisposable
{
    private readonly QueueServiceClient _client;
    private readonly HttpClientTransport? _ownedTransport;
    private readonly ConcurrentDictionary<string, AzureMessageQueue> _queues = new(StringComparer.Ordinal);

    /// <param name="account">Where the queues are and how to authenticate.</param>
    /// <param name="options">
    /// Client options; null for <see cref="CreateOptions"/>. Left as given (the service swaps in its own pool only
    /// while it builds its pipeline), so they can be reused for another service.
    /// </param>
    public AzureQueueService(StorageAccount account, QueueClientOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(account);
        options ??= CreateOptions();
        if (options.MessageEncoding != QueueMessageEncoding.None)
            throw new ArgumentException("Queue messages are raw text (host.json: messageEncoding none); use QueueMessageEncoding.None.", nameof(options));
        if (account.Credential is null && string.IsNullOrEmpty(account.ConnectionString))
            throw new InvalidOperationException("The storage account has neither a token credential nor a connection string.");

        // Azure.Core's shared transport keeps idle connections for longer than Azurite's 5 s keep-alive; a reuse of
        // one the server closed fails into a retry backoff that stalls the request. So: our own pool.
        var callerTransport = options.Transport;
        if (ReferenceEquals(callerTransport, HttpClientTransport.Shared))
        {
            _ownedTransport = new HttpClientTransport(new SocketsHttpHandler
            {
                // Listeners and ingestion share one service; each in-flight request needs its own HTTP/1.1 connection.
                MaxConnectionsPerServer = 1024,
                PooledConnectionLifetime = TimeSpan.FromMinutes(5),
                PooledConnectionIdleTimeout = TimeSpan.FromSeconds(4),
                AutomaticDecompression = DecompressionMethods.None,
                AllowAutoRedirect = false,
                UseCookies = false,
            });
            options.Transport = _ownedTransport;
        }
        try
        {
            _client = account.Credential is not null
                ? new QueueServiceClient(account.QueueEndpoint, account.Credential, options)
                : new QueueServiceClient(account.ConnectionString, options);
        }
        catch
        {
            _ownedTransport?.Dispose();
            throw;
        }
        finally
        {
            options.Transport = callerTransport;
        }
    }

    /// <summary>
    /// The REST version sent as x-ms-version: the newest the pinned Azurite (3.37) accepts without
    /// --skipApiVersionCheck; the SDK's own default (2026-10-06) is newer. The real service accepts it too.
    /// </summary>
    public const QueueClientOptions.ServiceVersion ServiceVersion = QueueClientOptions.ServiceVersion.V2026_06_06;

    /// <summary>
    /// The options the product uses: raw text messages, quick retries, and the storage request meter. Add policies
    /// (tests do) before handing them to the constructor.
    /// </summary>
    public static QueueClientOptions CreateOptions()
    {
        var options = new QueueClientOptions(ServiceVersion) { MessageEncoding = QueueMessageEncoding.None };
        // Puts sit on acknowledgement paths (a WeChat push waits for one): retry a failed try within milliseconds,
        // not after Azure.Core's default 0.8 s first backoff.
        options.Retry.Mode = RetryMode.Exponential;
        options.Retry.Delay = TimeSpan.FromMilliseconds(50);
        options.Retry.MaxDelay = TimeSpan.FromSeconds(2);
        options.Retry.MaxRetries = 5;
        options.AddPolicy(StorageRequestMeter.Instance, HttpPipelinePosition.PerCall);
        foreach (var header in new[] { "x-ms-error-code", "x-ms-approximate-messages-count", "x-ms-time-next-visible" })
            options.Diagnostics.LoggedHeaderNames.Add(header);
        foreach (var parameter in new[] { "comp", "numofmessages", "peekonly", "visibilitytimeout", "messagettl" })
            options.Diagnostics.LoggedQueryParameters.Add(parameter);
        return options;
    }

    public IMessageQueue Queue(string name)
    {
        if (_queues.TryGetValue(name ?? throw new ArgumentNullException(nameof(name)), out var queue)) return queue;
        ValidateQueueName(name);
        return _queues.GetOrAdd(name, static (n, client) => new AzureMessageQueue(client.GetQueueClient(n)), _client);
    }

    /// <summary>True when this service created (and will dispose) its own pooled transport.</summary>
    internal bool OwnsTransport => _ownedTransport is not null;

    public void Dispose() => _ownedTransport?.Dispose();

    /// <summary>3–63 characters of lowercase letters, digits and dashes; starts and ends with a letter or digit; no "--".</summary>
    internal static void ValidateQueueName(string name)
    {
        var valid = name.Length is >= 3 and <= 63 && name[0] != '-' && name[^1] != '-' && !name.Contains("--", StringComparison.Ordinal);
        if (valid)
        {
            foreach (var c in name)
            {
                if (c is (>= 'a' and <= 'z') or (>= '0' and <= '9') or '-') continue;
                valid = false;
                break;
            }
        }
        if (!valid)
            throw new ArgumentException(
                $"'{name}' is not a valid queue name: use 3 to 63 lowercase letters, digits and single dashes, starting and ending with a letter or digit.",
                nameof(name));
    }
}

/// <summary>
/// One queue over a <see cref="QueueClient"/>. The SDK checks little before a request, so the limits the interface
/// promises (message size and characters, counts, whole-second durations) are checked here, before any I/O.
/// </summary>
internal sealed class AzureMessageQueue(QueueClient client) : IMessageQueue
{
    public string Name => client.Name;

    public async Task<bool> CreateIfNotExistsAsync(CancellationToken ct = default)
    {
        // 201 created; 204 (or no response, for a 409 QueueAlreadyExists) when it was there already.
        var response = await client.CreateIfNotExistsAsync(cancellationToken: ct).ConfigureAwait(false);
        return response?.Status == 201;
    }

    public async Task<bool> DeleteIfExistsAsync(CancellationToken ct = default) =>
        (await client.DeleteIfExistsAsync(ct).ConfigureAwait(false)).Value;

    public async Task<SendReceipt> SendAsync(string text, TimeSpan? visibilityDelay = null, TimeSpan? timeToLive = null, CancellationToken ct = default)
    {
        CheckText(text, nameof(text));
        int? delay = visibilityDelay is { } d ? Seconds(d, 0, nameof(visibilityDelay)) : null;
        TimeSpan? ttl = null;
        if (timeToLive is { } t)
        {
            // The SDK sends (int)TotalSeconds: InfiniteTimeSpan (-1 ms) would go as 0, so both spellings become -1 s.
            if (t == QueueLimits.NeverExpires || t == Timeout.InfiniteTimeSpan) ttl = QueueLimits.NeverExpires;
            else
            {
                var seconds = (int)Math.Min(t.TotalSeconds, int.MaxValue);
                if (seconds < 1)
                    throw new ArgumentOutOfRangeException(nameof(timeToLive), timeToLive,
                        "A message's time-to-live must be at least 1 second, or QueueLimits.NeverExpires.");
                if (delay is { } dl && dl >= seconds)
                    throw new ArgumentOutOfRangeException(nameof(visibilityDelay), visibilityDelay,
                        "The visibility delay must be shorter than the message's time-to-live.");
                ttl = TimeSpan.FromSeconds(seconds);
            }
        }

        var receipt = (await client.SendMessageAsync(text, delay is { } v ? TimeSpan.FromSeconds(v) : null, ttl, ct).ConfigureAwait(false)).Value;
        return new SendReceipt(receipt.MessageId, receipt.PopReceipt, receipt.InsertionTime, receipt.ExpirationTime, receipt.TimeNextVisible);
    }

    public async Task<IReadOnlyList<ReceivedMessage>> ReceiveAsync(int maxMessages = 1, TimeSpan? visibilityTimeout = null, CancellationToken ct = default)
    {
        CheckCount(maxMessages);
        int? timeout = visibilityTimeout is { } v ? Seconds(v, 1, nameof(visibilityTimeout)) : null;
        var messages = (await client.ReceiveMessagesAsync(maxMessages, timeout is { } s ? TimeSpan.FromSeconds(s) : null, ct).ConfigureAwait(false)).Value;
        var list = new List<ReceivedMessage>(messages.Length);
        foreach (var m in messages)
            list.Add(new ReceivedMessage(m.MessageId, m.PopReceipt, m.Body?.ToString() ?? string.Empty, m.DequeueCount,
                m.InsertedOn ?? default, m.ExpiresOn ?? default, m.NextVisibleOn ?? default));
        return list;
    }

    public async Task<IReadOnlyList<PeekedMessage>> PeekAsync(int maxMessages = 1, CancellationToken ct = default)
    {
        CheckCount(maxMessages);
        var messages = (await client.PeekMessagesAsync(maxMessages, ct).ConfigureAwait(false)).Value;
        var list = new List<PeekedMessage>(messages.Length);
        foreach (var m in messages)
            list.Add(new PeekedMessage(m.MessageId, m.Body?.ToString() ?? string.Empty, m.DequeueCount, m.InsertedOn ?? default, m.ExpiresOn ?? default));
        return list;
    }

    public async Task DeleteAsync(string messageId, string popReceipt, CancellationToken ct = default)
    {
        CheckReceipt(messageId, popReceipt);
        await client.DeleteMessageAsync(messageId, popReceipt, ct).ConfigureAwait(false);
    }

    public async Task<bool> TryDeleteAsync(string messageId, string popReceipt, CancellationToken ct = default)
    {
        CheckReceipt(messageId, popReceipt);
        try
        {
            await client.DeleteMessageAsync(messageId, popReceipt, ct).ConfigureAwait(false);
            return true;
        }
        catch (RequestFailedException e) when (e.Status == 404)
        {
            return false;
        }
    }

    public async Task<UpdateReceipt> UpdateVisibilityAsync(string messageId, string popReceipt, TimeSpan visibilityTimeout, string? newText = null, CancellationToken ct = default)
    {
        CheckReceipt(messageId, popReceipt);
        var seconds = Seconds(visibilityTimeout, 0, nameof(visibilityTimeout));
        if (newText is not null) CheckText(newText, nameof(newText));
        Sdk.UpdateReceipt receipt = (await client.UpdateMessageAsync(messageId, popReceipt, newText,
            TimeSpan.FromSeconds(seconds), ct).ConfigureAwait(false)).Value;
        return new UpdateReceipt(receipt.PopReceipt, receipt.NextVisibleOn);
    }

    public async Task<long> GetApproximateCountAsync(CancellationToken ct = default) =>
        (await client.GetPropertiesAsync(ct).ConfigureAwait(false)).Value.ApproximateMessagesCountLong;

    public async Task ClearAsync(CancellationToken ct = default) =>
        await client.ClearMessagesAsync(ct).ConfigureAwait(false);

    /// <exception cref="ArgumentException">The text exceeds 64 KiB of UTF-8 or contains a character XML 1.0 cannot carry.</exception>
    private static void CheckText(string text, string paramName)
    {
        ArgumentNullException.ThrowIfNull(text, paramName);
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            if (char.IsHighSurrogate(c) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
            {
                i++;
                continue;
            }
            if (!XmlConvert.IsXmlChar(c))
                throw new ArgumentException(
                    $"The message text contains U+{(int)c:X4} at index {i}, which XML 1.0 cannot carry (control characters other than tab, " +
                    "CR and LF, and unpaired surrogates). Encode binary or arbitrary payloads, e.g. as base64 or JSON.", paramName);
        }
        // Counted before XML escaping, as the service and Azurite count it.
        var utf8Length = Encoding.UTF8.GetByteCount(text);
        if (utf8Length > QueueLimits.MaxMessageBytes)
            throw new ArgumentException(
                $"The message text is {utf8Length} bytes of UTF-8; a queue message holds at most {QueueLimits.MaxMessageBytes} bytes (64 KiB). " +
                "Store large payloads elsewhere (e.g. a table or blob) and enqueue a reference.", paramName);
    }

    private static void CheckReceipt(string messageId, string popReceipt)
    {
        ArgumentException.ThrowIfNullOrEmpty(messageId);
        ArgumentException.ThrowIfNullOrEmpty(popReceipt);
    }

    private static void CheckCount(int maxMessages)
    {
        if (maxMessages is < 1 or > QueueLimits.MaxMessagesPerReceive)
            throw new ArgumentOutOfRangeException(nameof(maxMessages), maxMessages, $"Between 1 and {QueueLimits.MaxMessagesPerReceive} messages at a time.");
    }

    /// <summary>Whole seconds (truncated) in [<paramref name="min"/>, 7 days].</summary>
    private static int Seconds(TimeSpan value, int min, string paramName)
    {
        if (value < TimeSpan.Zero || value > QueueLimits.MaxVisibilityTimeout || (int)value.TotalSeconds < min)
            throw new ArgumentOutOfRangeException(paramName, value, $"Must be {min} s to 7 days (whole seconds; fractions are truncated).");
        return (int)value.TotalSeconds;
    }
}
