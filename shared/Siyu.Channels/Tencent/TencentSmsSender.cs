using System.Globalization;
using System.Text.Json;
using Siyu.Channels.Sending;

namespace Siyu.Channels.Tencent;

/// <summary>
/// SMS through Tencent Cloud SMS API 3.0 (<c>SendSms</c>, version 2021-01-11), signed with the tenant's SecretId and
/// SecretKey (<see cref="TencentSignature"/>): POST of a JSON body to <see cref="ChannelOptions.TencentSmsEndpoint"/>
/// with the X-TC-Action, -Version, -Timestamp and -Region headers. <c>SmsSdkAppId</c> is the account's app id,
/// <c>SignName</c> its sender unless the message names one, <c>TemplateId</c> the template's provider template,
/// <c>TemplateParamSet</c> the fields named 1, 2, 3… in that order (Tencent's templates are positional),
/// <c>SessionContext</c> our reference. Tencent does not dedupe, so a request that may have reached it is never
/// repeated: it comes back as Retry with MaybeDelivered, for the delivery worker's at-most-once record.
/// </summary>
internal sealed class TencentSmsSender(IHttpClientFactory http, ChannelOptions options, SendRateLimiter limiter, SendAttempts attempts, ProviderHttp exchange,
    TimeProvider clock) : IChannelSender
{
    public const string HttpClientName = "Siyu.Channels.Tencent";
    public const string Version = "2021-01-11";
    public const string Service = "sms";

    public bool Handles(string channel, string? provider) => channel == ChannelNames.Sms && provider == ChannelProviders.Tencent;

    public Task<SendResult> SendAsync(ChannelMessage message, ChannelAccount account, CancellationToken ct)
    {
        if (string.IsNullOrEmpty(account.KeyId) || string.IsNullOrEmpty(account.ApiKey) || string.IsNullOrEmpty(account.AppId))
            return Task.FromResult(SendResult.Rejected("missing_credentials", "A Tencent Cloud SMS account needs its SecretId, SecretKey and SmsSdkAppId."));
        var signName = message.Fields.GetValueOrDefault(SignNameField) is { Length: > 0 } named ? named : account.Sender;
        if (string.IsNullOrEmpty(signName))
            return Task.FromResult(SendResult.Rejected("missing_sign_name", "A Tencent Cloud SMS to a mainland number needs a SignName: the account's sender or the template's signName."));
        if (!TryParameters(message.Fields, out var parameters, out var error))
            return Task.FromResult(SendResult.Rejected("tencent_template_fields", error));
        var body = JsonBody.Write((message, account.AppId, signName, parameters), static (w, s) =>
        {
            w.WriteStartObject();
            w.WriteStartArray("PhoneNumberSet");
            w.WriteStringValue(s.message.Recipient);
            w.WriteEndArray();
            w.WriteString("SmsSdkAppId", s.AppId);
            w.WriteString("SignName", s.signName);
            w.WriteString("TemplateId", s.message.ProviderTemplate);
            w.WriteStartArray("TemplateParamSet");
            foreach (var p in s.parameters) w.WriteStringValue(p);
            w.WriteEndArray();
            w.WriteString("SessionContext", s.message.Reference);
            w.WriteEndObject();
        });
        var send = new Send(message, account.KeyId, account.ApiKey, body);
        return attempts.RunAsync(static (s, token) => s.self.AttemptAsync(s.send, token), (self: this, send), idempotent: false, ct);
    }

    /// <summary>A template field that names the SMS signature instead of filling the template.</summary>
    public const string SignNameField = "signName";

    /// <summary>The template's fields in Tencent's order: named 1…n, each present; any other name but signName is an error.</summary>
    public static bool TryParameters(IReadOnlyDictionary<string, string> fields, out List<string> parameters, out string error)
    {
        parameters = [];
        error = "";
        var positional = new SortedDictionary<int, string>();
        foreach (var (name, value) in fields)
        {
            if (name == SignNameField) continue;
            if (!int.TryParse(name, NumberStyles.None, CultureInfo.InvariantCulture, out var n) || n < 1 || n.ToString(CultureInfo.InvariantCulture) != name)
            { error = $"Tencent Cloud templates are positional: name the fields 1, 2, 3…, not '{name}'."; return false; }
            positional[n] = value;
        }
        if (positional.Count > 0 && positional.Keys.Last() != positional.Count)
        { error = $"Tencent Cloud template fields run 1 to {positional.Keys.Last()} without gaps."; return false; }
        parameters.AddRange(positional.Values);
        return true;
    }

    private async Task<Attempt> AttemptAsync(Send send, CancellationToken ct)
    {
        await limiter.AcquireAsync(send.Message.Channel, send.Message.TenantId, ct);
        var endpoint = new Uri(options.TencentSmsEndpoint.TrimEnd('/') + "/");
        var content = JsonBody.Content(send.Body);
        // Each attempt is signed anew with its own timestamp (Tencent refuses one five minutes off).
        var timestamp = clock.GetUtcNow().ToUnixTimeSeconds();
        using var request = new HttpRequestMessage(HttpMethod.Post, endpoint) { Content = content };
        request.Headers.TryAddWithoutValidation("Authorization",
            TencentSignature.Authorization(send.SecretId, send.SecretKey, Service, endpoint.Authority, content.Headers.ContentType!.ToString(), timestamp, send.Body));
        request.Headers.Add("X-TC-Action", "SendSms");
        request.Headers.Add("X-TC-Version", Version);
        request.Headers.Add("X-TC-Timestamp", timestamp.ToString(CultureInfo.InvariantCulture));
        request.Headers.Add("X-TC-Region", options.TencentSmsRegion);
        return await exchange.ExchangeAsync(http.CreateClient(HttpClientName), request, static answer => Interpret(answer.Code, answer.Body), ct);
    }

    /// <summary>Response.Error when the request is refused whole, else the one SendStatus of our one number.</summary>
    private static Attempt Interpret(int status, byte[] body)
    {
        string? code = null, message = null, serialNo = null;
        try
        {
            using var doc = JsonDocument.Parse(body);
            if (doc.RootElement.ValueKind == JsonValueKind.Object && doc.RootElement.TryGetProperty("Response", out var response) && response.ValueKind == JsonValueKind.Object)
            {
                if (response.TryGetProperty("Error", out var error) && error.ValueKind == JsonValueKind.Object)
                    (code, message) = (Text(error, "Code"), Text(error, "Message"));
                else if (response.TryGetProperty("SendStatusSet", out var set) && set.ValueKind == JsonValueKind.Array && set.GetArrayLength() == 1)
                    (code, message, serialNo) = (Text(set[0], "Code"), Text(set[0], "Message"), Text(set[0], "SerialNo"));
            }
        }
        catch (JsonException)
        {
        }
        return TencentSmsErrors.Interpret(status, code, message, serialNo);
    }

    private static string? Text(JsonElement e, string name) =>
        e.ValueKind == JsonValueKind.Object && e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;

    private sealed record Send(ChannelMessage Message, string SecretId, string SecretKey, byte[] Body);
}
