using System.Globalization;
using Azure;
using Azure.Core;
using Azure.Core.Pipeline;

namespace Siyu.Storage.Queues;

/// <summary>
/// One queue over the Queue service REST API. Paths: <c>{endpoint}/{queue}</c> (create, delete, <c>?comp=metadata</c>),
/// <c>{endpoint}/{queue}/messages</c> (put, get, peek, clear) and <c>{endpoint}/{queue}/messages/{id}</c>
/// (<c>?popreceipt=</c>: delete, update).
/// </summary>
internal sealed class RestMessageQueue : IMessageQueue
{
    private static readonly ResponseClassifier Ok200 = new StatusCodeClassifier([200]);
    private static readonly ResponseClassifier Created201 = new StatusCodeClassifier([201]);
    private static readonly ResponseClassifier CreatedOrExists = new StatusCodeClassifier([201, 204]);
    private static readonly ResponseClassifier NoContent204 = new StatusCodeClassifier([204]);
    private static readonly ResponseClassifier NoContentOrNotFound = new StatusCodeClassifier([204, 404]);

    private readonly HttpPipeline _pipeline;
    private readonly Uri _queueUri;
    private readonly Uri _messagesUri;

    public RestMessageQueue(HttpPipeline pipeline, string endpoint, string name)
    {
        _pipeline = pipeline;
        Name = name;
        _queueUri = new Uri($"{endpoint}/{name}");
        _messagesUri = new Uri($"{endpoint}/{name}/messages");
    }

    public string Name { get; }

    public async Task<bool> CreateIfNotExistsAsync(CancellationToken ct = default)
    {
        using var message = CreateMessage(RequestMethod.Put, _queueUri, CreatedOrExists);
        await SendAsync(message, ct).ConfigureAwait(false);
        return message.Response.Status == 201;
    }

    public async Task<bool> DeleteIfExistsAsync(CancellationToken ct = default)
    {
        using var message = CreateMessage(RequestMethod.Delete, _queueUri, NoContentOrNotFound);
        await SendAsync(message, ct).ConfigureAwait(false);
        return message.Response.Status == 204;
    }

    public async Task<SendReceipt> SendAsync(string text, TimeSpan? visibilityDelay = null, TimeSpan? timeToLive = null, CancellationToken ct = default)
    {
        var body = QueueXml.MessageBody(text, nameof(text));
        int? delay = visibilityDelay is { } d ? Seconds(d, 0, nameof(visibilityDelay)) : null;
        int? ttl = null;
        if (timeToLive is { } t)
        {
            if (t == QueueLimits.NeverExpires || t == Timeout.InfiniteTimeSpan) ttl = -1;
            else
            {
                ttl = (int)Math.Min(t.TotalSeconds, int.MaxValue);
                if (ttl < 1)
                    throw new ArgumentOutOfRangeException(nameof(timeToLive), timeToLive,
                        "A message's time-to-live must be at least 1 second, or QueueLimits.NeverExpires.");
                if (delay is { } dl && dl >= ttl)
                    throw new ArgumentOutOfRangeException(nameof(visibilityDelay), visibilityDelay,
                        "The visibility delay must be shorter than the message's time-to-live.");
            }
        }

        using var message = CreateMessage(RequestMethod.Post, _messagesUri, Created201);
        if (delay is { } v) message.Request.Uri.AppendQuery("visibilitytimeout", v.ToString(CultureInfo.InvariantCulture), escapeValue: false);
        if (ttl is { } l) message.Request.Uri.AppendQuery("messagettl", l.ToString(CultureInfo.InvariantCulture), escapeValue: false);
        SetXmlBody(message.Request, body);
        await SendAsync(message, ct).ConfigureAwait(false);
        return QueueXml.ReadSendReceipt(message.Response.ContentStream!);
    }

    public async Task<IReadOnlyList<ReceivedMessage>> ReceiveAsync(int maxMessages = 1, TimeSpan? visibilityTimeout = null, CancellationToken ct = default)
    {
        CheckCount(maxMessages);
        int? timeout = visibilityTimeout is { } v ? Seconds(v, 1, nameof(visibilityTimeout)) : null;
        using var message = CreateMessage(RequestMethod.Get, _messagesUri, Ok200);
        message.Request.Uri.AppendQuery("numofmessages", maxMessages.ToString(CultureInfo.InvariantCulture), escapeValue: false);
        if (timeout is { } s) message.Request.Uri.AppendQuery("visibilitytimeout", s.ToString(CultureInfo.InvariantCulture), escapeValue: false);
        await SendAsync(message, ct).ConfigureAwait(false);
        return QueueXml.ReadReceived(message.Response.ContentStream!);
    }

    public async Task<IReadOnlyList<PeekedMessage>> PeekAsync(int maxMessages = 1, CancellationToken ct = default)
    {
        CheckCount(maxMessages);
        using var message = CreateMessage(RequestMethod.Get, _messagesUri, Ok200);
        message.Request.Uri.AppendQuery("peekonly", "true", escapeValue: false);
        message.Request.Uri.AppendQuery("numofmessages", maxMessages.ToString(CultureInfo.InvariantCulture), escapeValue: false);
        await SendAsync(message, ct).ConfigureAwait(false);
        return QueueXml.ReadPeeked(message.Response.ContentStream!);
    }

    public async Task DeleteAsync(string messageId, string popReceipt, CancellationToken ct = default)
    {
        using var message = CreateMessageRequest(RequestMethod.Delete, messageId, popReceipt, NoContent204);
        await SendAsync(message, ct).ConfigureAwait(false);
    }

    public async Task<bool> TryDeleteAsync(string messageId, string popReceipt, CancellationToken ct = default)
    {
        using var message = CreateMessageRequest(RequestMethod.Delete, messageId, popReceipt, NoContentOrNotFound);
        await SendAsync(message, ct).ConfigureAwait(false);
        return message.Response.Status == 204;
    }

    public async Task<UpdateReceipt> UpdateVisibilityAsync(string messageId, string popReceipt, TimeSpan visibilityTimeout, string? newText = null, CancellationToken ct = default)
    {
        var seconds = Seconds(visibilityTimeout, 0, nameof(visibilityTimeout));
        var body = newText is null ? null : QueueXml.MessageBody(newText, nameof(newText));
        using var message = CreateMessageRequest(RequestMethod.Put, messageId, popReceipt, NoContent204);
        message.Request.Uri.AppendQuery("visibilitytimeout", seconds.ToString(CultureInfo.InvariantCulture), escapeValue: false);
        if (body is not null) SetXmlBody(message.Request, body);
        await SendAsync(message, ct).ConfigureAwait(false);

        var headers = message.Response.Headers;
        if (!headers.TryGetValue("x-ms-popreceipt", out var newReceipt) || string.IsNullOrEmpty(newReceipt))
            throw new InvalidOperationException("The Update Message response lacked x-ms-popreceipt.");
        if (!headers.TryGetValue("x-ms-time-next-visible", out var nextVisible) || string.IsNullOrEmpty(nextVisible))
            throw new InvalidOperationException("The Update Message response lacked x-ms-time-next-visible.");
        return new UpdateReceipt(newReceipt, QueueXml.ParseDate(nextVisible));
    }

    public async Task<long> GetApproximateCountAsync(CancellationToken ct = default)
    {
        using var message = CreateMessage(RequestMethod.Get, _queueUri, Ok200);
        message.Request.Uri.AppendQuery("comp", "metadata", escapeValue: false);
        await SendAsync(message, ct).ConfigureAwait(false);
        if (!message.Response.Headers.TryGetValue("x-ms-approximate-messages-count", out var count) ||
            !long.TryParse(count, NumberStyles.Integer, CultureInfo.InvariantCulture, out var value))
            throw new InvalidOperationException("The Get Queue Metadata response lacked a valid x-ms-approximate-messages-count.");
        return value;
    }

    public async Task ClearAsync(CancellationToken ct = default)
    {
        using var message = CreateMessage(RequestMethod.Delete, _messagesUri, NoContent204);
        await SendAsync(message, ct).ConfigureAwait(false);
    }

    private HttpMessage CreateMessage(RequestMethod method, Uri uri, ResponseClassifier classifier)
    {
        var message = _pipeline.CreateMessage();
        message.ResponseClassifier = classifier;
        var request = message.Request;
        request.Method = method;
        request.Uri.Reset(uri);
        request.Headers.SetValue("x-ms-version", RestQueueServiceOptions.ServiceVersion);
        request.Headers.SetValue("Accept", "application/xml");
        return message;
    }

    private HttpMessage CreateMessageRequest(RequestMethod method, string messageId, string popReceipt, ResponseClassifier classifier)
    {
        ArgumentException.ThrowIfNullOrEmpty(messageId);
        ArgumentException.ThrowIfNullOrEmpty(popReceipt);
        var message = CreateMessage(method, _messagesUri, classifier);
        message.Request.Uri.AppendPath("/", escape: false);
        message.Request.Uri.AppendPath(messageId, escape: true);
        message.Request.Uri.AppendQuery("popreceipt", popReceipt, escapeValue: true);
        return message;
    }

    private static void SetXmlBody(Request request, byte[] body)
    {
        request.Headers.SetValue("Content-Type", "application/xml; charset=utf-8");
        request.Content = RequestContent.Create(body);
    }

    private async ValueTask SendAsync(HttpMessage message, CancellationToken ct)
    {
        await _pipeline.SendAsync(message, ct).ConfigureAwait(false);
        if (message.Response.IsError)
            throw new RequestFailedException(message.Response, null, QueueErrorParser.Instance);
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
