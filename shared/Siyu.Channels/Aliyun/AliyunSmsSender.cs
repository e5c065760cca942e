using System.Globalization;
using System.Text;
using Siyu.Channels.Sending;

namespace Siyu.Channels.Aliyun;

/// <summary>
/// SMS through Alibaba Cloud's Dysmsapi (<c>SendSms</c>, version 2017-05-25), signed with the tenant's AccessKey
/// (<see cref="AliyunSignature"/>): POST to <see cref="ChannelOptions.AliyunSmsEndpoint"/> with the parameters as a
/// form. <c>SignName</c> is the account's sender unless the message names one, <c>TemplateCode</c> the template's
/// provider template, <c>TemplateParam</c> its fields as JSON, <c>OutId</c> our reference (it comes back in the
/// delivery report). Aliyun does not dedupe, so a request that may have reached it is never repeated: it comes back
/// as Retry with MaybeDelivered, for the delivery worker's at-most-once record.
/// </summary>
internal sealed class AliyunSmsSender(IHttpClientFactory http, ChannelOptions options, SendRateLimiter limiter, SendAttempts attempts, ProviderHttp exchange,
    TimeProvider clock) : IChannelSender
{
    public const string HttpClientName = "Siyu.Channels.Aliyun";
    public const string Version = "2017-05-25";

    public bool Handles(string channel, string? provider) => channel == ChannelNames.Sms && provider == ChannelProviders.Aliyun;

    public Task<SendResult> SendAsync(ChannelMessage message, ChannelAccount account, CancellationToken ct)
    {
        if (string.IsNullOrEmpty(account.KeyId) || string.IsNullOrEmpty(account.ApiKey))
            return Task.FromResult(SendResult.Rejected("missing_credentials", "An Aliyun SMS account needs its AccessKey id and secret."));
        var signName = message.Fields.GetValueOrDefault(SignNameField) is { Length: > 0 } named ? named : account.Sender;
        if (string.IsNullOrEmpty(signName))
            return Task.FromResult(SendResult.Rejected("missing_sign_name", "An Aliyun SMS needs a SignName: the account's sender or the template's signName."));
        var parameters = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["Action"] = "SendSms",
            ["Version"] = Version,
            ["Format"] = "JSON",
            ["RegionId"] = "cn-hangzhou",
            ["PhoneNumbers"] = PhoneNumber(message.Recipient),
            ["SignName"] = signName,
            ["TemplateCode"] = message.ProviderTemplate,
            ["TemplateParam"] = Encoding.UTF8.GetString(JsonBody.Write(message.Fields, static (w, fields) =>
            {
                w.WriteStartObject();
                foreach (var (k, v) in fields) if (k != SignNameField) w.WriteString(k, v);
                w.WriteEndObject();
            })),
            ["OutId"] = message.Reference,
        };
        var send = new Send(message, account.KeyId, account.ApiKey, parameters);
        return attempts.RunAsync(static (s, token) => s.self.AttemptAsync(s.send, token), (self: this, send), idempotent: false, ct);
    }

    /// <summary>A template field that names the SMS signature instead of filling the template (Aliyun's SignName).</summary>
    public const string SignNameField = "signName";

    /// <summary>E.164 as Aliyun wants it: a mainland number without +86, any other with its country code and no +.</summary>
    public static string PhoneNumber(string e164) =>
        e164.StartsWith("+86", StringComparison.Ordinal) ? e164[3..] : e164.StartsWith('+') ? e164[1..] : e164;

    private async Task<Attempt> AttemptAsync(Send send, CancellationToken ct)
    {
        await limiter.AcquireAsync(send.Message.Channel, send.Message.TenantId, ct);
        // Each attempt is signed anew: a fresh nonce and timestamp.
        var parameters = new Dictionary<string, string>(send.Parameters, StringComparer.Ordinal)
        {
            ["AccessKeyId"] = send.KeyId,
            ["SignatureMethod"] = "HMAC-SHA1",
            ["SignatureVersion"] = "1.0",
            ["SignatureNonce"] = Guid.NewGuid().ToString("N"),
            ["Timestamp"] = clock.GetUtcNow().UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture),
        };
        var signature = AliyunSignature.Sign(send.Secret, AliyunSignature.StringToSign("POST", parameters));
        var form = AliyunSignature.CanonicalQuery(parameters) + "&Signature=" + AliyunSignature.PercentEncode(signature);
        using var request = new HttpRequestMessage(HttpMethod.Post, options.AliyunSmsEndpoint.TrimEnd('/') + "/")
        {
            Content = new StringContent(form, Encoding.UTF8, "application/x-www-form-urlencoded"),
        };
        return await exchange.ExchangeAsync(http.CreateClient(HttpClientName), request, static answer => AliyunSmsErrors.Interpret(answer.Code,
            JsonBody.ReadString(answer.Body, "Code"), JsonBody.ReadString(answer.Body, "Message"), JsonBody.ReadString(answer.Body, "BizId")), ct);
    }

    private sealed record Send(ChannelMessage Message, string KeyId, string Secret, IReadOnlyDictionary<string, string> Parameters);
}
