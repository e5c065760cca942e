using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Siyu.Channels.Sending;

namespace Siyu.Channels.WeChat;

/// <summary>
/// The two WeChat channels. "wechat_oa": official-account template message,
/// <c>POST /cgi-bin/message/template/send</c>, carrying our delivery key as <c>client_msg_id</c>: WeChat sends one
/// message per (openid, client_msg_id), for about 10 minutes, so a repeat after a lost answer is absorbed there.
/// "miniprogram_subscribe": mini-program subscribe message, <c>POST /cgi-bin/message/subscribe/send</c>, which has
/// no such key; it is therefore not attempted again once a request may have reached WeChat (a timeout), and the
/// caller gets Retry "timeout" to judge. A token WeChat refuses (40001/40014/42001) is replaced and the send
/// repeated once.
/// </summary>
internal sealed class WeChatSender(
    IHttpClientFactory http, ChannelOptions options, WeChatTokenCache tokens, SendRateLimiter limiter,
    SendAttempts attempts, ProviderHttp exchange) : IChannelSender
{
    /// <summary>WeChat documents a 64-byte limit for the mass-send clientmsgid and none we could find for the template
    /// client_msg_id; a longer delivery key is sent as a digest of itself so it stays deterministic and short.</summary>
    public const int MaxClientMsgIdBytes = 64;

    public bool Handles(string channel, string? provider) => channel is ChannelNames.WeChatTemplate or ChannelNames.MiniProgramSubscribe;

    public Task<SendResult> SendAsync(ChannelMessage message, ChannelAccount account, CancellationToken ct)
    {
        var appId = message.AppId ?? account.AppId;
        if (string.IsNullOrEmpty(appId) || string.IsNullOrEmpty(account.AppSecret))
            return Task.FromResult(SendResult.Rejected("missing_credentials", "A WeChat send needs the appid and its AppSecret."));

        var template = message.Channel == ChannelNames.WeChatTemplate;
        var send = new Send(
            message, appId, account.AppSecret,
            template ? "/cgi-bin/message/template/send?access_token=" : "/cgi-bin/message/subscribe/send?access_token=",
            template ? TemplateBody(message) : SubscribeBody(message));
        return attempts.RunAsync(static (s, token) => s.self.AttemptAsync(s.send, token), (self: this, send), idempotent: template, ct);
    }

    /// <summary>The client_msg_id sent for a delivery key: the key itself, or "sha256~" and its digest when too long.</summary>
    public static string ClientMsgId(string idempotencyKey)
    {
        if (Encoding.UTF8.GetByteCount(idempotencyKey) <= MaxClientMsgIdBytes) return idempotencyKey;
        return "sha256~" + Base64Url.EncodeToString(SHA256.HashData(Encoding.UTF8.GetBytes(idempotencyKey)));
    }

    private async Task<Attempt> AttemptAsync(Send send, CancellationToken ct)
    {
        var lease = await tokens.GetAsync(send.AppId, send.Secret, ct);
        if (lease.Failure is { } noToken) return noToken with { MaybeDelivered = false };

        await limiter.AcquireAsync(send.Message.Channel, send.AppId, ct);
        var (attempt, errcode) = await PostAsync(send, lease.Token!, ct);
        if (!WeChatErrors.IsTokenError(errcode)) return attempt;

        tokens.Invalidate(send.AppId, lease.Token!);
        lease = await tokens.GetAsync(send.AppId, send.Secret, ct);
        if (lease.Failure is { } stillNoToken) return stillNoToken with { MaybeDelivered = false };
        (attempt, _) = await PostAsync(send, lease.Token!, ct);
        return attempt; // a second token refusal maps to Retry, not repeated here
    }

    private async Task<(Attempt Attempt, int ErrCode)> PostAsync(Send send, string token, CancellationToken ct)
    {
        using var request = new HttpRequestMessage(
            HttpMethod.Post, options.WeChatApiBaseUrl.TrimEnd('/') + send.PathAndQuery + Uri.EscapeDataString(token))
        {
            Content = JsonBody.Content(send.Body),
        };
        var errcode = 0;
        var attempt = await exchange.ExchangeAsync(http.CreateClient(WeChatTokenCache.HttpClientName), request, answer =>
        {
            var failure = WeChatReply.Interpret(answer, send.Message.Channel, out var reply);
            errcode = reply.ErrCode;
            return failure ?? Attempt.Final(SendResult.Accepted(reply.MsgId));
        }, ct);
        return (attempt, errcode);
    }

    private static byte[] TemplateBody(ChannelMessage m) => JsonBody.Write(m, static (w, m) =>
    {
        w.WriteStartObject();
        w.WriteString("touser", m.Recipient);
        w.WriteString("template_id", m.ProviderTemplate);
        if (!string.IsNullOrEmpty(m.Link)) w.WriteString("url", m.Link);
        WriteData(w, m.Fields);
        w.WriteString("client_msg_id", ClientMsgId(m.IdempotencyKey));
        w.WriteEndObject();
    });

    private static byte[] SubscribeBody(ChannelMessage m) => JsonBody.Write(m, static (w, m) =>
    {
        w.WriteStartObject();
        w.WriteString("touser", m.Recipient);
        w.WriteString("template_id", m.ProviderTemplate);
        if (!string.IsNullOrEmpty(m.Link)) w.WriteString("page", m.Link);
        WriteData(w, m.Fields);
        w.WriteEndObject();
    });

    private static void WriteData(Utf8JsonWriter w, IReadOnlyDictionary<string, string> fields)
    {
        w.WriteStartObject("data");
        foreach (var (key, value) in fields)
        {
            w.WriteStartObject(key);
            w.WriteString("value", value);
            w.WriteEndObject();
        }
        w.WriteEndObject();
    }

    private sealed record Send(ChannelMessage Message, string AppId, string Secret, string PathAndQuery, byte[] Body);
}
