using System.Collections.Concurrent;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace Siyu.FakeProviders;

/// <summary>
/// Tencent Cloud SMS (API 3.0, <c>SendSms</c> 2021-01-11) as it answers: a POST of JSON at <c>/tencent</c>, checked as
/// Tencent checks it (the X-TC-Action, -Version, -Timestamp and -Region headers; the Authorization header's
/// TC3-HMAC-SHA256 credential of a known SecretId, its date the timestamp's, a timestamp within five minutes, the
/// signature recomputed over the request as received with the key's SecretKey; then the SmsSdkAppId, the SignName and
/// the template when registered, the template's parameter count, each number), always HTTP 200 with a
/// <c>Response</c>: <c>Error {Code, Message}</c> or <c>SendStatusSet</c>. Tencent does not dedupe: every accepted request
/// is a message, and a repeat of a SessionContext counts in <see cref="Repeated"/>. Status and reply callbacks go to the
/// URLs set with <see cref="SetTencentPush"/>, as Tencent posts them (a JSON array of statuses; one reply object).
/// The signature code here is written independently of Siyu.Channels on purpose: the tests check one against the other.
/// </summary>
public sealed partial class FakeProviderServer
{
    private readonly ConcurrentDictionary<string, string> tencentKeys = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, (Uri? Status, Uri? Reply)> tencentPush = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, byte> tencentApps = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, string> tencentTemplates = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, byte> tencentSignNames = new(StringComparer.Ordinal);
    private static readonly Regex TencentPhone = new(@"^\+(861[3-9][0-9]{9}|(?!86)[1-9][0-9]{6,14})$", RegexOptions.CultureInvariant);
    private static readonly Regex TencentVariable = new(@"\{([0-9]+)\}", RegexOptions.CultureInvariant);

    /// <summary>A SecretId and SecretKey that may call the SMS API.</summary>
    public void RegisterTencentKey(string secretId, string secretKey) => tencentKeys[secretId] = secretKey;

    /// <summary>An SMS application (SmsSdkAppId): once any is registered, only these are accepted.</summary>
    public void RegisterTencentApp(string sdkAppId) => tencentApps[sdkAppId] = 0;

    /// <summary>A template approved for the account, its text with <c>{1}</c>, <c>{2}</c>… variables: once any is
    /// registered, only these ids are accepted and the parameters must number the variables.</summary>
    public void RegisterTencentTemplate(string templateId, string content) => tencentTemplates[templateId] = content;

    /// <summary>A signature name approved for the account: once any is registered, only these are accepted.</summary>
    public void RegisterTencentSignName(string signName) => tencentSignNames[signName] = 0;

    /// <summary>Where Tencent calls back with this application's statuses and replies (set in the SMS console).</summary>
    public void SetTencentPush(string sdkAppId, Uri? statusUrl, Uri? replyUrl) => tencentPush[sdkAppId] = (statusUrl, replyUrl);

    /// <summary>Sends a reply callback as Tencent would when a person answers a message: returns whether our app took it.</summary>
    public async Task<bool> TencentReplyAsync(string sdkAppId, string mobile, string text, string sign = "")
    {
        if (!tencentPush.TryGetValue(sdkAppId, out var push) || push.Reply is null) return false;
        return await TencentCallbackAsync(push.Reply, new Dictionary<string, object?>
        {
            ["extend"] = "", ["mobile"] = mobile, ["nationcode"] = "86", ["sign"] = sign, ["text"] = text, ["time"] = DateTimeOffset.UtcNow.ToUnixTimeSeconds(),
        });
    }

    private void MapTencent(WebApplication web)
    {
        web.MapPost("/tencent", Handler(TencentAsync));
        web.MapPost("/fake/tencent/replies", async (TencentReplyRequest reply) =>
            await TencentReplyAsync(reply.SdkAppId, reply.Mobile, reply.Text) ? Results.NoContent() : Results.NotFound());
    }

    private async Task<IResult> TencentAsync(HttpContext http)
    {
        using var buffer = new MemoryStream();
        await http.Request.Body.CopyToAsync(buffer, http.RequestAborted);
        var body = buffer.ToArray();
        string[] numbers = [];
        JsonElement request = default;
        JsonDocument? doc = null;
        try
        {
            doc = JsonDocument.Parse(body);
            request = doc.RootElement;
            if (request.ValueKind == JsonValueKind.Object && request.TryGetProperty("PhoneNumberSet", out var set) && set.ValueKind == JsonValueKind.Array)
                numbers = set.EnumerateArray().Select(n => n.ValueKind == JsonValueKind.String ? n.GetString()! : "").ToArray();
        }
        catch (JsonException)
        {
        }
        using var parsed = doc;
        await BeginSendAsync(numbers.FirstOrDefault() ?? "", http.RequestAborted);

        var headers = http.Request.Headers;
        if (headers["X-TC-Action"].ToString() != "SendSms") return TencentError("InvalidAction", "The requested action does not exist.");
        if (headers["X-TC-Version"].ToString() != "2021-01-11") return TencentError("NoSuchVersion", "The requested version does not exist.");
        if (string.IsNullOrEmpty(headers["X-TC-Region"])) return TencentError("MissingParameter", "The request is missing a required parameter `Region`.");
        var auth = headers.Authorization.ToString();
        var m = Regex.Match(auth, @"^TC3-HMAC-SHA256 Credential=([^/]+)/(\d{4}-\d{2}-\d{2})/([a-z]+)/tc3_request, SignedHeaders=([a-z0-9;-]+), Signature=([0-9a-f]{64})$");
        if (!m.Success) return TencentError("AuthFailure.InvalidAuthorization", "Authorization in the request header is invalid.");
        var (secretId, date, service, signedHeaders, signature) = (m.Groups[1].Value, m.Groups[2].Value, m.Groups[3].Value, m.Groups[4].Value, m.Groups[5].Value);
        if (!tencentKeys.TryGetValue(secretId, out var secretKey)) return TencentError("AuthFailure.SecretIdNotFound", "The SecretId is not found.");
        if (!long.TryParse(headers["X-TC-Timestamp"], NumberStyles.None, CultureInfo.InvariantCulture, out var timestamp)
            || Math.Abs(DateTimeOffset.UtcNow.ToUnixTimeSeconds() - timestamp) > 300)
            return TencentError("AuthFailure.SignatureExpire", "Signature expired. Timestamp and server time cannot differ by more than five minutes.");
        if (service != "sms" || date != DateTimeOffset.FromUnixTimeSeconds(timestamp).UtcDateTime.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture)
            || !signedHeaders.Split(';').Contains("content-type") || !signedHeaders.Split(';').Contains("host"))
            return TencentError("AuthFailure.SignatureFailure", "The provided credentials could not be validated.");
        var expected = TencentSign(secretKey, timestamp, date, service, signedHeaders, name => name switch
        {
            "host" => http.Request.Host.Value ?? "",
            "content-type" => http.Request.ContentType ?? "",
            _ => headers[name].ToString(),
        }, body);
        if (!CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(expected), Encoding.ASCII.GetBytes(signature)))
            return TencentError("AuthFailure.SignatureFailure", "The provided credentials could not be validated. Please check your signature is correct.");

        if (request.ValueKind != JsonValueKind.Object) return TencentError("FailedOperation.JsonParseFail", "The request body is not JSON.");
        string? Text(string name) => request.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;
        if (numbers.Length == 0) return TencentError("MissingParameter.EmptyPhoneNumberSet", "The phone number set is empty.");
        if (numbers.Length > 200) return TencentError("LimitExceeded.PhoneNumberCountLimit", "At most 200 numbers per request.");
        if (Text("SmsSdkAppId") is not { Length: > 0 } appId || Text("TemplateId") is not { Length: > 0 } templateId)
            return TencentError("MissingParameter", "SmsSdkAppId and TemplateId are required.");
        if (!tencentApps.IsEmpty && !tencentApps.ContainsKey(appId)) return TencentError("InvalidParameterValue.SdkAppIdNotExist", "The SdkAppId does not exist.");
        var signName = Text("SignName") ?? "";
        var parameters = request.TryGetProperty("TemplateParamSet", out var ps) && ps.ValueKind == JsonValueKind.Array
            ? ps.EnumerateArray().Select(p => p.ValueKind == JsonValueKind.String ? p.GetString()! : null).ToList() : [];
        if (parameters.Any(p => p is null)) return TencentError("InvalidParameterValue.TemplateParameterFormatError", "Each template parameter is a string.");

        string? refusal = null;
        if (!tencentSignNames.IsEmpty && !tencentSignNames.ContainsKey(signName)) refusal = "FailedOperation.SignatureIncorrectOrUnapproved";
        else if (!tencentTemplates.IsEmpty && !tencentTemplates.ContainsKey(templateId)) refusal = "FailedOperation.TemplateIncorrectOrUnapproved";
        else if (tencentTemplates.TryGetValue(templateId, out var content) && TencentVariable.Matches(content).Select(v => v.Groups[1].Value).Distinct().Count() != parameters.Count)
            refusal = "FailedOperation.TemplateParamSetNotMatchApprovedTemplate";

        var session = Text("SessionContext");
        var statuses = new List<Dictionary<string, object?>>();
        foreach (var number in numbers)
        {
            var fault = TakeFault(number);
            if (fault?.Kind == FaultKind.HttpStatus && fault.Code is null) return Results.StatusCode(fault.Status);
            if (fault?.Kind == FaultKind.HttpStatus && fault.Code!.Split('.')[0] is "AuthFailure" or "RequestLimitExceeded" or "InternalError")
                return TencentError(fault.Code, fault.Message ?? "scripted failure");
            var code = refusal ?? (!TencentPhone.IsMatch(number) ? "InvalidParameterValue.IncorrectPhoneNumber" : fault?.Kind == FaultKind.HttpStatus ? fault.Code : null);
            if (code is not null)
            {
                statuses.Add(new() { ["SerialNo"] = "", ["PhoneNumber"] = number, ["Fee"] = 0, ["SessionContext"] = session, ["Code"] = code, ["Message"] = fault?.Message ?? code, ["IsoCode"] = "CN" });
                continue;
            }
            var variables = parameters.Select((p, i) => (Key: (i + 1).ToString(CultureInfo.InvariantCulture), Value: p!)).ToDictionary(p => p.Key, p => p.Value);
            var (id, _) = Take(session is null ? null : $"tencent\n{appId}\n{session}",
                messageId => new AcceptedMessage("sms", null, number, templateId, null, "2640:" + messageId, variables, null, session, signName, DateTimeOffset.UtcNow),
                dedupes: false);
            var serialNo = "2640:" + id;
            statuses.Add(new() { ["SerialNo"] = serialNo, ["PhoneNumber"] = number, ["Fee"] = 1, ["SessionContext"] = session, ["Code"] = "Ok", ["Message"] = "send success", ["IsoCode"] = "CN" });
            if (tencentPush.TryGetValue(appId, out var push) && push.Status is { } statusUrl)
                _ = TencentStatusAsync(statusUrl, number, serialNo, fault);
            if (fault?.Kind == FaultKind.AcceptThenHang && !await HangAsync(fault, http.RequestAborted)) return Results.Empty;
        }
        return Results.Json(new Dictionary<string, object> { ["Response"] = new Dictionary<string, object> { ["SendStatusSet"] = statuses, ["RequestId"] = Guid.NewGuid().ToString() } });
    }

    private async Task TencentStatusAsync(Uri url, string number, string serialNo, Fault? fault)
    {
        await Task.Delay(ReceiptDelay);
        var failed = fault?.Kind == FaultKind.FailedReceipt;
        await TencentCallbackAsync(url, new[]
        {
            new Dictionary<string, object?>
            {
                ["user_receive_time"] = ChinaTime(DateTimeOffset.UtcNow), ["nationcode"] = number[1..3], ["mobile"] = number[3..],
                ["report_status"] = failed ? "FAIL" : "SUCCESS", ["errmsg"] = failed ? fault!.Code : "DELIVRD",
                ["description"] = failed ? fault!.Message : "用户短信送达成功", ["sid"] = serialNo,
            },
        });
    }

    /// <summary>One callback; Tencent takes it as received on HTTP 200 with result 0.</summary>
    private Task<bool> TencentCallbackAsync(Uri url, object payload) => ProviderPushAsync(url, payload, "result");

    private static IResult TencentError(string code, string message) =>
        Results.Json(new Dictionary<string, object>
        {
            ["Response"] = new Dictionary<string, object> { ["Error"] = new Dictionary<string, string> { ["Code"] = code, ["Message"] = message }, ["RequestId"] = Guid.NewGuid().ToString() },
        });

    /// <summary>TC3-HMAC-SHA256 as Tencent computes it on its side, over the headers the client says it signed.</summary>
    private static string TencentSign(string secretKey, long timestamp, string date, string service, string signedHeaders, Func<string, string> header, byte[] body)
    {
        static string Hex(byte[] b) => Convert.ToHexString(b).ToLowerInvariant();
        var names = signedHeaders.Split(';');
        var canonicalHeaders = string.Concat(names.Select(n => $"{n}:{header(n).Trim().ToLowerInvariant()}\n"));
        var canonical = $"POST\n/\n\n{canonicalHeaders}\n{signedHeaders}\n{Hex(SHA256.HashData(body))}";
        var toSign = $"TC3-HMAC-SHA256\n{timestamp}\n{date}/{service}/tc3_request\n{Hex(SHA256.HashData(Encoding.UTF8.GetBytes(canonical)))}";
        byte[] H(byte[] key, string s) => HMACSHA256.HashData(key, Encoding.UTF8.GetBytes(s));
        var key = H(H(H(Encoding.UTF8.GetBytes("TC3" + secretKey), date), service), "tc3_request");
        return Hex(H(key, toSign));
    }

    public sealed record TencentReplyRequest(string SdkAppId, string Mobile, string Text);
}
