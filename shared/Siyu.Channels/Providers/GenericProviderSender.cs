using Siyu.Channels.Sending;

namespace Siyu.Channels.Providers;

/// <summary>
/// WeCom, SMS, email and push through the generic provider contract (README.md): <c>POST {base}/v1/messages</c>
/// with a bearer key and our delivery key as <c>Idempotency-Key</c>. Where the account says the provider dedupes on
/// it, every transient failure is attempted again without a second message; where it does not (an Aliyun or Tencent
/// Cloud SMS gateway), a request that may have reached the provider is not repeated. The base URL per channel comes
/// from ChannelOptions.ProviderBaseUrls.
/// </summary>
internal sealed class GenericProviderSender(
    IHttpClientFactory http, ChannelOptions options, SendRateLimiter limiter, SendAttempts attempts, ProviderHttp exchange)
    : IChannelSender
{
    public const string HttpClientName = "Siyu.Channels.Providers";

    public bool Handles(string channel, string? provider) =>
        channel is ChannelNames.WeCom or ChannelNames.Sms or ChannelNames.Email or ChannelNames.Push && provider is null or ChannelProviders.Generic;

    public Task<SendResult> SendAsync(ChannelMessage message, ChannelAccount account, CancellationToken ct)
    {
        if (!options.ProviderBaseUrls.TryGetValue(message.Channel, out var baseUrl) || string.IsNullOrWhiteSpace(baseUrl))
            return Task.FromResult(SendResult.Rejected("not_configured", $"No provider base URL for channel '{message.Channel}'."));
        if (string.IsNullOrEmpty(account.ApiKey))
            return Task.FromResult(SendResult.Rejected("missing_credentials", "A provider send needs the tenant's ApiKey."));

        var send = new Send(message, account.ApiKey, baseUrl.TrimEnd('/') + "/v1/messages", Body(message, account.Sender));
        return attempts.RunAsync(static (s, token) => s.self.AttemptAsync(s.send, token), (self: this, send), idempotent: account.Dedupes, ct);
    }

    private async Task<Attempt> AttemptAsync(Send send, CancellationToken ct)
    {
        await limiter.AcquireAsync(send.Message.Channel, send.Message.AppId ?? send.Message.TenantId, ct);
        using var request = new HttpRequestMessage(HttpMethod.Post, send.Url) { Content = JsonBody.Content(send.Body) };
        request.Headers.TryAddWithoutValidation("Authorization", "Bearer " + send.ApiKey);
        request.Headers.TryAddWithoutValidation("Idempotency-Key", send.Message.IdempotencyKey);
        return await exchange.ExchangeAsync(http.CreateClient(HttpClientName), request, ProviderReplies.Interpret, ct);
    }

    private static byte[] Body(ChannelMessage m, string? sender) => JsonBody.Write((m, sender), static (w, s) =>
    {
        w.WriteStartObject();
        w.WriteString("channel", s.m.Channel);
        w.WriteString("to", s.m.Recipient);
        w.WriteString("template", s.m.ProviderTemplate);
        JsonBody.WriteStringMap(w, "variables", s.m.Fields);
        if (!string.IsNullOrEmpty(s.sender)) w.WriteString("sender", s.sender);
        w.WriteString("reference", s.m.Reference);
        w.WriteEndObject();
    });

    private sealed record Send(ChannelMessage Message, string ApiKey, string Url, byte[] Body);
}
