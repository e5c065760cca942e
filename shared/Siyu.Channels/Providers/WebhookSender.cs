using Siyu.Channels.Sending;

namespace Siyu.Channels.Providers;

/// <summary>
/// The "webhook" channel: the message as JSON to the tenant's own URL (ChannelAccount.Url), with our delivery key as
/// <c>Idempotency-Key</c> and, when the account has an ApiKey, <c>X-Siyu-Signature</c> over the exact body bytes so
/// the receiver can tell the request came from us. 2xx accepted; 408/429/5xx/network attempted again (once the
/// request may have reached the receiver, only when the account says it dedupes); other 4xx rejected.
/// </summary>
internal sealed class WebhookSender(
    IHttpClientFactory http, SendRateLimiter limiter, SendAttempts attempts, ProviderHttp exchange) : IChannelSender
{
    public const string HttpClientName = "Siyu.Channels.Webhooks";

    public bool Handles(string channel, string? provider) => channel == ChannelNames.Webhook;

    public Task<SendResult> SendAsync(ChannelMessage message, ChannelAccount account, CancellationToken ct)
    {
        if (!Uri.TryCreate(account.Url, UriKind.Absolute, out var url) || url.Scheme is not ("http" or "https"))
            return Task.FromResult(SendResult.Rejected("not_configured", "A webhook send needs an absolute http(s) Url."));

        var body = Body(message);
        var signature = string.IsNullOrEmpty(account.ApiKey) ? null : ReceiptSignature.Sign(account.ApiKey, body);
        var send = new Send(message, url, body, signature);
        return attempts.RunAsync(static (s, token) => s.self.AttemptAsync(s.send, token), (self: this, send), idempotent: account.Dedupes, ct);
    }

    private async Task<Attempt> AttemptAsync(Send send, CancellationToken ct)
    {
        await limiter.AcquireAsync(ChannelNames.Webhook, send.Message.AppId ?? send.Message.TenantId, ct);
        using var request = new HttpRequestMessage(HttpMethod.Post, send.Url) { Content = JsonBody.Content(send.Body) };
        request.Headers.TryAddWithoutValidation("Idempotency-Key", send.Message.IdempotencyKey);
        if (send.Signature is not null) request.Headers.TryAddWithoutValidation(ReceiptSignature.HeaderName, send.Signature);
        return await exchange.ExchangeAsync(http.CreateClient(HttpClientName), request, ProviderReplies.Interpret, ct);
    }

    private static byte[] Body(ChannelMessage m) => JsonBody.Write(m, static (w, m) =>
    {
        w.WriteStartObject();
        w.WriteString("channel", ChannelNames.Webhook);
        w.WriteString("reference", m.Reference);
        w.WriteString("template", m.ProviderTemplate);
        w.WriteString("to", m.Recipient);
        JsonBody.WriteStringMap(w, "variables", m.Fields);
        w.WriteEndObject();
    });

    private sealed record Send(ChannelMessage Message, Uri Url, byte[] Body, string? Signature);
}
