using System.Text.Json;

namespace Siyu.Channels.Tencent;

/// <summary>One delivery status of Tencent's status callback: sid is the SerialNo SendSms answered with.</summary>
public sealed record TencentReport(string Phone, bool Success, string? ErrorCode, string? Description, string SerialNo);

/// <summary>One reply of Tencent's reply callback: what a person answered.</summary>
public sealed record TencentReply(string Phone, string Text, string? Sign, long? Time);

/// <summary>
/// Tencent Cloud SMS callbacks, on the URLs the brand sets in the SMS console: the status callback (短信下发状态通知)
/// POSTs a JSON array of <c>{user_receive_time, nationcode, mobile, report_status SUCCESS|FAIL, errmsg, description,
/// sid}</c>; the reply callback (短信回复) POSTs one object <c>{extend, mobile, nationcode, sign, text, time}</c>. Both
/// are answered <c>{"result":0,"errmsg":"OK"}</c> when taken. Tencent does not sign its callbacks, so the URL we give
/// the brand carries a token derived from its SecretKey (<see cref="Token"/>): a callback without it is refused. Pure.
/// </summary>
public static class TencentPush
{
    public const int MaxItems = 1000;

    /// <summary>The token of a tenant's push URLs (<see cref="Sending.PushToken"/>, for "tencent").</summary>
    public static string Token(string secretKey, string tenantId) => Sending.PushToken.Compute(secretKey, "tencent", tenantId);

    public static bool TokenMatches(string secretKey, string tenantId, string? token) => Sending.PushToken.Matches(secretKey, "tencent", tenantId, token);

    public static bool TryParseReports(ReadOnlySpan<byte> body, out List<TencentReport> reports, out string? error)
    {
        reports = [];
        error = null;
        try
        {
            var reader = new Utf8JsonReader(body);
            using var doc = JsonDocument.ParseValue(ref reader);
            if (doc.RootElement.ValueKind != JsonValueKind.Array) { error = "the status callback is a JSON array"; return false; }
            if (doc.RootElement.GetArrayLength() > MaxItems) { error = $"at most {MaxItems} statuses per callback"; return false; }
            foreach (var item in doc.RootElement.EnumerateArray())
            {
                if (item.ValueKind != JsonValueKind.Object) { error = "each status is a JSON object"; return false; }
                var status = Text(item, "report_status");
                if (status is not ("SUCCESS" or "FAIL")) { error = "each status has report_status SUCCESS or FAIL"; return false; }
                if (Text(item, "sid") is not { Length: > 0 } sid || Text(item, "mobile") is not { Length: > 0 } mobile)
                { error = "each status has sid and mobile"; return false; }
                reports.Add(new TencentReport(Phone(Text(item, "nationcode"), mobile), status == "SUCCESS", Text(item, "errmsg"), Text(item, "description"), sid));
            }
            return true;
        }
        catch (JsonException e)
        {
            error = $"not JSON: {e.Message}";
            return false;
        }
    }

    public static bool TryParseReply(ReadOnlySpan<byte> body, out TencentReply? reply, out string? error)
    {
        reply = null;
        error = null;
        try
        {
            var reader = new Utf8JsonReader(body);
            using var doc = JsonDocument.ParseValue(ref reader);
            var item = doc.RootElement;
            if (item.ValueKind != JsonValueKind.Object) { error = "the reply callback is a JSON object"; return false; }
            if (Text(item, "mobile") is not { Length: > 0 } mobile || Text(item, "text") is not { } text) { error = "a reply has mobile and text"; return false; }
            long? time = item.TryGetProperty("time", out var t) && t.ValueKind == JsonValueKind.Number && t.TryGetInt64(out var seconds) ? seconds : null;
            reply = new TencentReply(Phone(Text(item, "nationcode"), mobile), text, Text(item, "sign"), time);
            return true;
        }
        catch (JsonException e)
        {
            error = $"not JSON: {e.Message}";
            return false;
        }
    }

    /// <summary>The answer Tencent takes as received.</summary>
    public static object Taken => new Dictionary<string, object> { ["result"] = 0, ["errmsg"] = "OK" };

    public static object Again(string why) => new Dictionary<string, object> { ["result"] = 1, ["errmsg"] = why };

    /// <summary>E.164 of a callback's nationcode and mobile (86 when it names none).</summary>
    public static string Phone(string? nationCode, string mobile) =>
        mobile.StartsWith('+') ? mobile : $"+{(string.IsNullOrEmpty(nationCode) ? "86" : nationCode.TrimStart('+'))}{mobile}";

    private static string? Text(JsonElement item, string name) => item.TryGetProperty(name, out var v)
        ? v.ValueKind switch { JsonValueKind.String => v.GetString(), JsonValueKind.Number => v.GetRawText(), _ => null }
        : null;
}
