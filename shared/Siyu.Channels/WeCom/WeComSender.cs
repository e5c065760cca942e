using System.Globalization;
using System.Net;
using System.Text.Json;
using Siyu.Channels.Sending;
using Siyu.Channels.WeChat;

namespace Siyu.Channels.WeCom;

/// <summary>The kinds of WeCom message a template's providerTemplate names.</summary>
public static class WeComMessages
{
    /// <summary>To a customer (external contact) through add_msg_template.</summary>
    public const string Customer = "msg_template";
    /// <summary>From the corp's app to a member through message/send.</summary>
    public const string App = "app_message";
}

/// <summary>
/// WeCom (企业微信) over its own API, with a token per corp and secret (<see cref="WeComTokenCache"/>). A template's
/// provider template says which kind of message it is:
/// <list type="bullet">
/// <item><c>msg_template</c>: a message to a customer, <c>POST /cgi-bin/externalcontact/add_msg_template</c> (企业群发,
/// chat_type single): WeCom makes it a task the member (<c>sender</c>: the template's field, or the account's) confirms
/// in their app, then sends. A customer in the answer's <c>fail_list</c> cannot be reached by it (not their customer,
/// or over WeCom's monthly number): Rejected invalid_recipient.</item>
/// <item><c>app_message</c>: a message from the corp's app (agentid) to a member, <c>POST /cgi-bin/message/send</c>;
/// a member in <c>invaliduser</c>: Rejected invalid_recipient.</item>
/// </list>
/// Fields: <c>content</c> (the text), <c>sender</c>, and for a customer message with a link, <c>linkTitle</c> and
/// <c>linkDesc</c> (the link attachment's words; its URL is the template's link). Neither API takes a key of ours, and
/// a repeated add_msg_template is a second task: a request that may have reached WeCom is not repeated.
/// </summary>
internal sealed class WeComSender(
    IHttpClientFactory http, ChannelOptions options, WeComTokenCache tokens, SendRateLimiter limiter, SendAttempts attempts, ProviderHttp exchange) : IChannelSender
{

    public static readonly IReadOnlySet<string> Fields = new HashSet<string>(StringComparer.Ordinal) { "content", "sender", "linkTitle", "linkDesc" };

    public bool Handles(string channel, string? provider) => channel == ChannelNames.WeCom && provider == ChannelProviders.WeCom;

    public Task<SendResult> SendAsync(ChannelMessage message, ChannelAccount account, CancellationToken ct)
    {
        if (string.IsNullOrEmpty(account.AppId) || string.IsNullOrEmpty(account.ApiKey))
            return Task.FromResult(SendResult.Rejected("missing_credentials", "A WeCom account needs its corpid and secret."));
        if (message.Fields.Keys.FirstOrDefault(k => !Fields.Contains(k)) is { } other)
            return Task.FromResult(SendResult.Rejected("wecom_template_fields", $"A WeCom template's fields are content, sender, linkTitle and linkDesc, not '{other}'."));
        if (message.Fields.GetValueOrDefault("content") is not { Length: > 0 } content)
            return Task.FromResult(SendResult.Rejected("wecom_template_fields", "A WeCom message needs its content."));
        var sender = message.Fields.GetValueOrDefault("sender") is { Length: > 0 } named ? named : account.Sender;
        byte[] body;
        string path;
        switch (message.ProviderTemplate)
        {
            case WeComMessages.Customer:
                path = "/cgi-bin/externalcontact/add_msg_template?access_token=";
                body = JsonBody.Write((message, content, sender), static (w, s) =>
                {
                    w.WriteStartObject();
                    w.WriteString("chat_type", "single");
                    w.WriteStartArray("external_userid");
                    w.WriteStringValue(s.message.Recipient);
                    w.WriteEndArray();
                    if (!string.IsNullOrEmpty(s.sender)) w.WriteString("sender", s.sender);
                    w.WriteStartObject("text");
                    w.WriteString("content", s.content);
                    w.WriteEndObject();
                    if (!string.IsNullOrEmpty(s.message.Link))
                    {
                        w.WriteStartArray("attachments");
                        w.WriteStartObject();
                        w.WriteString("msgtype", "link");
                        w.WriteStartObject("link");
                        w.WriteString("title", s.message.Fields.GetValueOrDefault("linkTitle") is { Length: > 0 } t ? t : s.content[..Math.Min(s.content.Length, 20)]);
                        if (s.message.Fields.GetValueOrDefault("linkDesc") is { Length: > 0 } d) w.WriteString("desc", d);
                        w.WriteString("url", s.message.Link);
                        w.WriteEndObject();
                        w.WriteEndObject();
                        w.WriteEndArray();
                    }
                    w.WriteEndObject();
                });
                break;
            case WeComMessages.App:
                if (!int.TryParse(account.KeyId, NumberStyles.None, CultureInfo.InvariantCulture, out var agentId))
                    return Task.FromResult(SendResult.Rejected("missing_credentials", "A WeCom app message needs the account's agentId."));
                path = "/cgi-bin/message/send?access_token=";
                body = JsonBody.Write((message, content, agentId), static (w, s) =>
                {
                    w.WriteStartObject();
                    w.WriteString("touser", s.message.Recipient);
                    w.WriteString("msgtype", "text");
                    w.WriteNumber("agentid", s.agentId);
                    w.WriteStartObject("text");
                    w.WriteString("content", s.content);
                    w.WriteEndObject();
                    w.WriteEndObject();
                });
                break;
            default:
                return Task.FromResult(SendResult.Rejected("wecom_template_fields",
                    $"A WeCom template's providerTemplate is {WeComMessages.Customer} (to a customer) or {WeComMessages.App} (from the app to a member), not '{message.ProviderTemplate}'."));
        }
        var send = new Send(message, account.AppId, account.ApiKey, path, body);
        return attempts.RunAsync(static (s, token) => s.self.AttemptAsync(s.send, token), (self: this, send), idempotent: false, ct);
    }

    private async Task<Attempt> AttemptAsync(Send send, CancellationToken ct)
    {
        var lease = await tokens.GetAsync(send.CorpId, send.Secret, ct);
        if (lease.Failure is { } noToken) return noToken with { MaybeDelivered = false };
        await limiter.AcquireAsync(send.Message.Channel, send.CorpId, ct);
        var (attempt, errcode) = await PostAsync(send, lease.Token!, ct);
        if (!WeComErrors.IsTokenError(errcode)) return attempt;

        // A refused token carried nothing: replace it and send once more.
        tokens.Invalidate(send.CorpId, send.Secret, lease.Token!);
        lease = await tokens.GetAsync(send.CorpId, send.Secret, ct);
        if (lease.Failure is { } stillNoToken) return stillNoToken with { MaybeDelivered = false };
        (attempt, errcode) = await PostAsync(send, lease.Token!, ct);
        return WeComErrors.IsTokenError(errcode) ? attempt with { Transient = false } : attempt;
    }

    private async Task<(Attempt Attempt, int ErrCode)> PostAsync(Send send, string token, CancellationToken ct)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, options.WeComApiBaseUrl.TrimEnd('/') + send.Path + Uri.EscapeDataString(token))
        {
            Content = JsonBody.Content(send.Body),
        };
        var errcode = 0;
        var api = send.Path[..send.Path.IndexOf('?')];
        var attempt = await exchange.ExchangeAsync(http.CreateClient(WeComTokenCache.HttpClientName), request, answer =>
        {
            if (Failure(answer, api, out var reply) is { } failure)
            {
                errcode = reply.ErrCode;
                return failure;
            }
            return Unreached(answer.Body, send.Message.Recipient) is { } list
                ? Attempt.Final(SendResult.Rejected("invalid_recipient", $"{api}: WeCom lists {send.Message.Recipient} in {list}"))
                : Attempt.Final(SendResult.Accepted(reply.MsgId));
        }, ct);
        return (attempt, errcode);
    }

    /// <summary>The attempt for an answer that is not a success, or null; <paramref name="reply"/> holds what it said.</summary>
    internal static Attempt? Failure(ProviderAnswer answer, string api, out WeChatReply reply)
    {
        reply = default;
        if (answer.Status != HttpStatusCode.OK)
            return answer.Code >= 500
                ? Attempt.Again($"http_{answer.Code}", $"{api}: HTTP {answer.Code}", maybeDelivered: true)
                : Attempt.Final(SendResult.Rejected($"http_{answer.Code}", $"{api}: HTTP {answer.Code}"));
        try
        {
            reply = WeChatReply.Parse(answer.Body);
        }
        catch (JsonException)
        {
            return Attempt.Again("bad_response", $"{api}: the answer is not JSON", maybeDelivered: true);
        }
        return reply.ErrCode == 0 ? null : WeComErrors.Interpret(reply.ErrCode, reply.ErrMsg, api);
    }

    /// <summary>"fail_list" (add_msg_template) or "invaliduser" (message/send) when it names the recipient, else null.</summary>
    internal static string? Unreached(byte[] body, string recipient)
    {
        try
        {
            using var doc = JsonDocument.Parse(body);
            var root = doc.RootElement;
            if (root.TryGetProperty("fail_list", out var failed) && failed.ValueKind == JsonValueKind.Array
                && failed.EnumerateArray().Any(f => f.ValueKind == JsonValueKind.String && f.GetString() == recipient))
                return "fail_list";
            if (root.TryGetProperty("invaliduser", out var invalid) && invalid.ValueKind == JsonValueKind.String
                && invalid.GetString()!.Split('|').Contains(recipient, StringComparer.Ordinal))
                return "invaliduser";
            return null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private sealed record Send(ChannelMessage Message, string CorpId, string Secret, string Path, byte[] Body);
}
