using System.Text.Json;

namespace Siyu.Channels.Aliyun;

/// <summary>One delivery report of Aliyun's SmsReport push: OutId is our reference.</summary>
public sealed record AliyunReport(string? PhoneNumber, bool Success, string? ErrorCode, string? ErrorMessage, string? BizId, string? OutId);

/// <summary>One upstream reply of Aliyun's SmsUp push: what a person answered.</summary>
public sealed record AliyunReply(string PhoneNumber, string Content, string? SignName, string? SendTime);

/// <summary>
/// Aliyun's HTTP batch push (the console's "HTTP批量推送"): a POST of a JSON array of SmsReport or SmsUp items to a URL
/// the brand sets, answered HTTP 200 <c>{"code":0,"msg":"接收成功"}</c> when taken (a 5xx or no answer, and Aliyun
/// pushes again after 1, 5 and 10 minutes).
/// Aliyun does not sign these pushes, so the URL we give the brand carries a token derived from its AccessKey secret
/// (<see cref="Token"/>): a push without it is refused. Pure.
/// </summary>
public static class AliyunPush
{
    public const int MaxItems = 1000;

    /// <summary>The token of a tenant's push URLs (<see cref="Sending.PushToken"/>, for "aliyun").</summary>
    public static string Token(string accessKeySecret, string tenantId) => Sending.PushToken.Compute(accessKeySecret, "aliyun", tenantId);

    public static bool TokenMatches(string accessKeySecret, string tenantId, string? token) => Sending.PushToken.Matches(accessKeySecret, "aliyun", tenantId, token);

    public static bool TryParseReports(ReadOnlySpan<byte> body, out List<AliyunReport> reports, out string? error)
    {
        reports = [];
        if (!TryItems(body, out var items, out error)) return false;
        foreach (var item in items)
        {
            if (!item.TryGetProperty("success", out var success) || success.ValueKind is not (JsonValueKind.True or JsonValueKind.False))
            { error = "each report has success: true or false"; return false; }
            reports.Add(new AliyunReport(Text(item, "phone_number"), success.GetBoolean(), Text(item, "err_code"), Text(item, "err_msg"), Text(item, "biz_id"), Text(item, "out_id")));
        }
        return true;
    }

    public static bool TryParseReplies(ReadOnlySpan<byte> body, out List<AliyunReply> replies, out string? error)
    {
        replies = [];
        if (!TryItems(body, out var items, out error)) return false;
        foreach (var item in items)
        {
            if (Text(item, "phone_number") is not { Length: > 0 } phone || Text(item, "content") is not { } content)
            { error = "each reply has phone_number and content"; return false; }
            replies.Add(new AliyunReply(phone, content, Text(item, "sign_name"), Text(item, "send_time")));
        }
        return true;
    }

    /// <summary>The answer Aliyun takes as received, and the one that has it push again later.</summary>
    public static object Taken => new Dictionary<string, object> { ["code"] = 0, ["msg"] = "接收成功" };

    public static object Again(string why) => new Dictionary<string, object> { ["code"] = 1, ["msg"] = why };

    private static bool TryItems(ReadOnlySpan<byte> body, out List<JsonElement> items, out string? error)
    {
        items = [];
        error = null;
        try
        {
            var reader = new Utf8JsonReader(body);
            using var doc = JsonDocument.ParseValue(ref reader);
            if (doc.RootElement.ValueKind != JsonValueKind.Array) { error = "the push is a JSON array"; return false; }
            if (doc.RootElement.GetArrayLength() > MaxItems) { error = $"at most {MaxItems} items per push"; return false; }
            foreach (var item in doc.RootElement.EnumerateArray())
            {
                if (item.ValueKind != JsonValueKind.Object) { error = "each item is a JSON object"; return false; }
                items.Add(item.Clone());
            }
            return true;
        }
        catch (JsonException e)
        {
            error = $"not JSON: {e.Message}";
            return false;
        }
    }

    private static string? Text(JsonElement item, string name) => item.TryGetProperty(name, out var v)
        ? v.ValueKind switch { JsonValueKind.String => v.GetString(), JsonValueKind.Number => v.GetRawText(), _ => null }
        : null;
}
