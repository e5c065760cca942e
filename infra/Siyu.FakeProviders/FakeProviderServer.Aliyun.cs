using System.Collections.Concurrent;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace Siyu.FakeProviders;

/// <summary>
/// Alibaba Cloud SMS (Dysmsapi 2017-05-25) as it answers: <c>SendSms</c> by GET query or POST form at
/// <c>/aliyun/</c>, checked as Aliyun checks it (a known AccessKey id, the RPC signature recomputed from the
/// parameters with HMAC-SHA1 under the key's secret, a timestamp within 15 minutes, a nonce used once, the number,
/// the signature name and template when registered, TemplateParam a JSON object), answering
/// <c>{"Code","Message","BizId","RequestId"}</c>. Aliyun does not dedupe: every accepted request is a message, and a
/// repeat of an OutId counts in <see cref="Repeated"/>. Delivery reports (SmsReport) and replies (SmsUp) are pushed as
/// Aliyun's HTTP batch push does, a JSON array, to the URLs set with <see cref="SetAliyunPush"/>.
/// The signature code here is written independently of Siyu.Channels on purpose: the tests check one against the other.
/// </summary>
public sealed partial class FakeProviderServer
{
    private readonly ConcurrentDictionary<string, string> aliyunKeys = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, (Uri? Report, Uri? Reply)> aliyunPush = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, byte> aliyunNonces = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, string> aliyunTemplates = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, byte> aliyunSignNames = new(StringComparer.Ordinal);
    private static readonly Regex AliyunPhone = new(@"^(1[3-9][0-9]{9}|[2-9][0-9]{6,14})$", RegexOptions.CultureInvariant);
    private static readonly Regex TemplateVariable = new(@"\$\{([^}]+)\}", RegexOptions.CultureInvariant);

    /// <summary>An AccessKey pair that may call Dysmsapi.</summary>
    public void RegisterAliyunKey(string accessKeyId, string accessKeySecret) => aliyunKeys[accessKeyId] = accessKeySecret;

    /// <summary>A template approved for the account, its text with <c>${name}</c> variables: once any is registered, only these
    /// codes are accepted and every variable must be given.</summary>
    public void RegisterAliyunTemplate(string templateCode, string content) => aliyunTemplates[templateCode] = content;

    /// <summary>A signature name approved for the account: once any is registered, only these are accepted.</summary>
    public void RegisterAliyunSignName(string signName) => aliyunSignNames[signName] = 0;

    /// <summary>Where Aliyun pushes this key's delivery reports and upstream replies (the console's HTTP batch push).</summary>
    public void SetAliyunPush(string accessKeyId, Uri? reportUrl, Uri? replyUrl) => aliyunPush[accessKeyId] = (reportUrl, replyUrl);

    /// <summary>Aliyun pushes and Tencent callbacks made to our app, and those it refused (not taken by the provider's rule:
    /// HTTP 200 with code or result 0; the provider would push those again).</summary>
    public (int Sent, int Refused) ProviderPushes => (Volatile.Read(ref pushesSent), Volatile.Read(ref pushesRefused));
    private int pushesSent, pushesRefused;

    /// <summary>Sends an upstream reply (SmsUp) as Aliyun would when a person answers a message: returns whether our app took it.</summary>
    public async Task<bool> AliyunReplyAsync(string accessKeyId, string phone, string content, string signName = "")
    {
        if (!aliyunPush.TryGetValue(accessKeyId, out var push) || push.Reply is null) return false;
        return await PushAsync(push.Reply, [new Dictionary<string, object?>
        {
            ["phone_number"] = phone, ["send_time"] = ChinaTime(DateTimeOffset.UtcNow), ["content"] = content, ["sign_name"] = signName,
            ["dest_code"] = "", ["sequence_id"] = Interlocked.Increment(ref nextId),
        }]);
    }

    private void MapAliyun(WebApplication web)
    {
        // Routing matches "/aliyun/" too.
        web.MapMethods("/aliyun", ["GET", "POST"], Handler(AliyunAsync));
        web.MapPost("/fake/aliyun/replies", async (AliyunReply reply) =>
            await AliyunReplyAsync(reply.AccessKeyId, reply.Phone, reply.Content) ? Results.NoContent() : Results.NotFound());
    }

    private async Task<IResult> AliyunAsync(HttpContext http)
    {
        var p = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (k, v) in http.Request.Query) p[k] = v.ToString();
        if (http.Request.HasFormContentType)
            foreach (var (k, v) in await http.Request.ReadFormAsync(http.RequestAborted)) p[k] = v.ToString();
        var number = p.GetValueOrDefault("PhoneNumbers") ?? "";
        var to = number.Length == 11 && number[0] == '1' ? "+86" + number : "+" + number;
        await BeginSendAsync(to, http.RequestAborted);
        var method = http.Request.Method;

        foreach (var required in new[] { "AccessKeyId", "Action", "Format", "SignatureMethod", "SignatureNonce", "SignatureVersion", "Timestamp", "Version", "Signature" })
            if (!p.ContainsKey(required)) return AliyunError(400, "MissingParameter", $"{required} is mandatory for this action.");
        if (!aliyunKeys.TryGetValue(p["AccessKeyId"], out var secret)) return AliyunError(404, "InvalidAccessKeyId.NotFound", "Specified access key is not found.");
        if (p["SignatureMethod"] != "HMAC-SHA1" || p["SignatureVersion"] != "1.0") return AliyunError(400, "InvalidParameter", "SignatureMethod or SignatureVersion is not supported.");
        if (!DateTimeOffset.TryParseExact(p["Timestamp"], "yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var at)
            || (DateTimeOffset.UtcNow - at).Duration() > TimeSpan.FromMinutes(15))
            return AliyunError(400, "InvalidTimeStamp.Expired", "Specified time stamp or date value is expired.");
        if (!CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(AliyunSign(method, p, secret)), Encoding.ASCII.GetBytes(p["Signature"])))
            return AliyunError(400, "SignatureDoesNotMatch", "Specified signature is not matched with our calculation.");
        if (!aliyunNonces.TryAdd(p["SignatureNonce"], 0)) return AliyunError(400, "SignatureNonceUsed", "Specified signature nonce was used already.");
        if (p["Action"] != "SendSms" || p["Version"] != "2017-05-25") return AliyunError(404, "InvalidAction.NotFound", "Specified api is not found.");

        foreach (var required in new[] { "PhoneNumbers", "SignName", "TemplateCode" })
            if (string.IsNullOrEmpty(p.GetValueOrDefault(required))) return AliyunError(400, "MissingParameter", $"{required} is mandatory for this action.");
        if (!AliyunPhone.IsMatch(number)) return AliyunError(200, "isv.MOBILE_NUMBER_ILLEGAL", "非法手机号");
        if (!aliyunSignNames.IsEmpty && !aliyunSignNames.ContainsKey(p["SignName"])) return AliyunError(200, "isv.SMS_SIGNATURE_ILLEGAL", "该账号下找不到对应签名");
        var templateCode = p["TemplateCode"];
        var variables = new Dictionary<string, string>(StringComparer.Ordinal);
        if (p.GetValueOrDefault("TemplateParam") is { Length: > 0 } json)
        {
            try
            {
                using var doc = JsonDocument.Parse(json);
                if (doc.RootElement.ValueKind != JsonValueKind.Object) return AliyunError(200, "isv.INVALID_JSON_PARAM", "JSON参数不合法,只接受字符串值");
                foreach (var v in doc.RootElement.EnumerateObject())
                {
                    if (v.Value.ValueKind != JsonValueKind.String) return AliyunError(200, "isv.INVALID_JSON_PARAM", "JSON参数不合法,只接受字符串值");
                    variables[v.Name] = v.Value.GetString()!;
                }
            }
            catch (JsonException)
            {
                return AliyunError(200, "isv.INVALID_JSON_PARAM", "JSON参数不合法,只接受字符串值");
            }
        }
        if (!aliyunTemplates.IsEmpty)
        {
            if (!aliyunTemplates.TryGetValue(templateCode, out var content)) return AliyunError(200, "isv.SMS_TEMPLATE_ILLEGAL", "该账号下找不到对应模板");
            if (TemplateVariable.Matches(content).Select(m => m.Groups[1].Value).FirstOrDefault(name => !variables.ContainsKey(name)) is { } missing)
                return AliyunError(200, "isv.TEMPLATE_MISSING_PARAMETERS", $"模板变量缺少对应参数值: {missing}");
        }

        var fault = TakeFault(to);
        if (fault?.Kind == FaultKind.HttpStatus) return AliyunError(fault.Status, fault.Code ?? "isp.SYSTEM_ERROR", fault.Message ?? "scripted failure");

        var outId = p.GetValueOrDefault("OutId");
        var (id, _) = Take(outId is null ? null : $"aliyun\n{p["AccessKeyId"]}\n{outId}",
            messageId => new AcceptedMessage("sms", null, to, templateCode, null, messageId, variables, null, outId, p["SignName"], DateTimeOffset.UtcNow),
            dedupes: false);
        var bizId = $"{id}^0";
        if (aliyunPush.TryGetValue(p["AccessKeyId"], out var push) && push.Report is { } report)
            _ = ReportAsync(report, number, bizId, outId, fault);

        if (fault?.Kind == FaultKind.AcceptThenHang && !await HangAsync(fault, http.RequestAborted)) return Results.Empty;
        return Results.Json(new Dictionary<string, string> { ["Code"] = "OK", ["Message"] = "OK", ["BizId"] = bizId, ["RequestId"] = Guid.NewGuid().ToString().ToUpperInvariant() });
    }

    private async Task ReportAsync(Uri report, string number, string bizId, string? outId, Fault? fault)
    {
        await Task.Delay(ReceiptDelay);
        var failed = fault?.Kind == FaultKind.FailedReceipt;
        var now = DateTimeOffset.UtcNow;
        await PushAsync(report, [new Dictionary<string, object?>
        {
            ["phone_number"] = number, ["send_time"] = ChinaTime(now - ReceiptDelay), ["report_time"] = ChinaTime(now), ["success"] = !failed,
            ["err_code"] = failed ? fault!.Code : "DELIVERED", ["err_msg"] = failed ? fault!.Message : "用户接收成功", ["sms_size"] = "1",
            ["biz_id"] = bizId, ["out_id"] = outId,
        }]);
    }

    /// <summary>One HTTP batch push; Aliyun takes it as received on HTTP 200 with a numeric code 0.</summary>
    private Task<bool> PushAsync(Uri url, IReadOnlyList<Dictionary<string, object?>> items) => ProviderPushAsync(url, items, "code");

    /// <summary>
    /// One push of a provider that does not sign them (Aliyun, Tencent Cloud) to our app: taken when the answer is HTTP 200
    /// with <paramref name="zeroField"/> a number 0 (Aliyun's "code", Tencent's "result"); counted in <see cref="ProviderPushes"/>.
    /// </summary>
    private async Task<bool> ProviderPushAsync(Uri url, object payload, string zeroField)
    {
        try
        {
            using var content = new ByteArrayContent(JsonSerializer.SerializeToUtf8Bytes(payload));
            content.Headers.ContentType = new("application/json");
            using var response = await receiptClient.PostAsync(url, content);
            var ok = response.IsSuccessStatusCode && JsonDocument.Parse(await response.Content.ReadAsByteArrayAsync()).RootElement is { ValueKind: JsonValueKind.Object } r
                     && r.TryGetProperty(zeroField, out var code) && code.ValueKind == JsonValueKind.Number && code.GetInt32() == 0;
            Interlocked.Increment(ref ok ? ref pushesSent : ref pushesRefused);
            return ok;
        }
        catch (Exception e) when (e is HttpRequestException or OperationCanceledException or ObjectDisposedException or JsonException)
        {
            Interlocked.Increment(ref pushesRefused);
            return false;
        }
    }

    private static string ChinaTime(DateTimeOffset t) => t.ToOffset(TimeSpan.FromHours(8)).ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture);

    private static IResult AliyunError(int status, string code, string message) =>
        Results.Json(new Dictionary<string, string> { ["Code"] = code, ["Message"] = message, ["RequestId"] = Guid.NewGuid().ToString().ToUpperInvariant() }, statusCode: status);

    /// <summary>The RPC signature as Aliyun computes it on its side.</summary>
    private static string AliyunSign(string method, IReadOnlyDictionary<string, string> p, string secret)
    {
        static string Encode(string s) => string.Concat(Encoding.UTF8.GetBytes(s).Select(b =>
            char.IsAsciiLetterOrDigit((char)b) || b is (byte)'-' or (byte)'_' or (byte)'.' or (byte)'~' ? ((char)b).ToString() : $"%{b:X2}"));
        var canonical = string.Join("&", p.Where(kv => kv.Key != "Signature").OrderBy(kv => kv.Key, StringComparer.Ordinal)
            .Select(kv => $"{Encode(kv.Key)}={Encode(kv.Value)}"));
        var toSign = $"{method}&{Encode("/")}&{Encode(canonical)}";
        using var hmac = new HMACSHA1(Encoding.UTF8.GetBytes(secret + "&"));
        return Convert.ToBase64String(hmac.ComputeHash(Encoding.UTF8.GetBytes(toSign)));
    }

    public sealed record AliyunReply(string AccessKeyId, string Phone, string Content);
}
