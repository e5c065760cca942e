using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace Siyu.FakeProviders;

/// <summary>
/// The generic provider contract (<c>POST /v1/messages</c>, any channel: bearer key, Idempotency-Key dedupe per key,
/// 202 then 200 with the same id on a repeat, or for a key registered as not deduping a new message every time,
/// signed receipts to ReceiptCallbackUrl) and a webhook receiver
/// (<c>POST /hooks/{anything}</c>: Idempotency-Key dedupe, X-Siyu-Signature checked when WebhookSecret is set).
/// The HMAC here is written independently of Siyu.Channels on purpose: the tests check one against the other.
/// </summary>
public sealed partial class FakeProviderServer
{
    private static readonly Regex E164 = new(@"^\+[1-9][0-9]{6,14}$", RegexOptions.CultureInvariant);

    private void MapProviders(WebApplication web)
    {
        web.MapPost("/v1/messages", Handler(ProviderSendAsync));
        web.MapPost("/hooks/{**path}", Handler(WebhookAsync));
    }

    private async Task<IResult> ProviderSendAsync(HttpContext http)
    {
        using var doc = await ReadJsonAsync(http);
        var root = doc?.RootElement;
        var to = Text(root, "to") ?? "";
        await BeginSendAsync(to, http.RequestAborted);

        var auth = http.Request.Headers.Authorization.ToString();
        var apiKey = auth.StartsWith("Bearer ", StringComparison.Ordinal) ? auth["Bearer ".Length..] : "";
        if (!apiKeys.TryGetValue(apiKey, out var dedupes)) return Problem(401, "unauthorized", "Unknown API key.");
        var idempotencyKey = http.Request.Headers["Idempotency-Key"].ToString();
        if (idempotencyKey.Length == 0) return Problem(400, "missing_idempotency_key", "Idempotency-Key is required.");
        if (root is null) return Problem(400, "invalid_json", "The body is not a JSON object.");
        var channel = Text(root, "channel");
        var template = Text(root, "template");
        var reference = Text(root, "reference");
        if (string.IsNullOrEmpty(channel) || string.IsNullOrEmpty(template) || reference is null)
            return Problem(422, "invalid_request", "channel, to, template and reference are required.");
        if (!ValidRecipient(channel, to)) return Problem(422, "invalid_recipient", $"'{to}' is not a valid {channel} recipient.");

        var fault = TakeFault(to);
        if (Refusal(fault) is { } refusal) return refusal;

        var variables = Variables(root.Value);
        var sender = Text(root, "sender");
        var (id, isNew) = Take(
            $"provider\n{apiKey}\n{idempotencyKey}",
            messageId => new AcceptedMessage(channel, null, to, template, idempotencyKey, messageId, variables, null, reference, sender, DateTimeOffset.UtcNow),
            dedupes);
        if (isNew && ReceiptCallbackUrl is { } callback) _ = SendReceiptAsync(callback, apiKey, id, reference, fault);

        if (fault?.Kind == FaultKind.AcceptThenHang && !await HangAsync(fault, http.RequestAborted)) return Results.Empty;
        return Results.Json(new { id, status = "accepted" }, statusCode: isNew ? 202 : 200);
    }

    private async Task<IResult> WebhookAsync(HttpContext http)
    {
        using var buffer = new MemoryStream();
        await http.Request.Body.CopyToAsync(buffer, http.RequestAborted);
        var body = buffer.ToArray();
        using var doc = ParseOrNull(body);
        var root = doc?.RootElement;
        var to = Text(root, "to") ?? "";
        await BeginSendAsync(to, http.RequestAborted);

        if (WebhookSecret is { } secret && !SignatureMatches(secret, body, http.Request.Headers["X-Siyu-Signature"].ToString()))
            return Problem(401, "bad_signature", "X-Siyu-Signature does not match the body.");
        var idempotencyKey = http.Request.Headers["Idempotency-Key"].ToString();
        if (idempotencyKey.Length == 0) return Problem(400, "missing_idempotency_key", "Idempotency-Key is required.");
        if (root is null) return Problem(400, "invalid_json", "The body is not a JSON object.");

        var fault = TakeFault(to);
        if (Refusal(fault) is { } refusal) return refusal;

        var path = "/hooks/" + (http.Request.RouteValues["path"] as string ?? "");
        var (id, _) = Take(
            $"webhook\n{path}\n{idempotencyKey}",
            messageId => new AcceptedMessage("webhook", null, to, Text(root, "template") ?? "", idempotencyKey, messageId,
                Variables(root.Value), path, Text(root, "reference"), null, DateTimeOffset.UtcNow));

        if (fault?.Kind == FaultKind.AcceptThenHang && !await HangAsync(fault, http.RequestAborted)) return Results.Empty;
        return Results.Json(new { id });
    }

    private static JsonDocument? ParseOrNull(byte[] body)
    {
        try
        {
            return JsonDocument.Parse(body);
        }
        catch (JsonException)
        {
            return null;
        }
    }

    /// <summary>The answer of a fault that refuses the request, or null when the message goes through.</summary>
    private static IResult? Refusal(Fault? fault)
    {
        switch (fault?.Kind)
        {
            case FaultKind.HttpStatus:
                var result = Problem(fault.Status, fault.Code ?? $"http_{fault.Status}", fault.Message ?? "Scripted failure.");
                return fault.Delay is { } retryAfter ? new WithRetryAfter(result, retryAfter) : result;
            case FaultKind.WeChatError:
                return Problem(422, $"wechat_{fault.ErrCode}", fault.Message ?? "Scripted failure.");
            default:
                return null;
        }
    }

    private static IResult Problem(int status, string code, string message) => Results.Json(new { code, message }, statusCode: status);

    private static bool ValidRecipient(string channel, string to) => channel switch
    {
        "sms" => E164.IsMatch(to),
        "email" => to.IndexOf('@') is > 0 and var at && at < to.Length - 1,
        _ => to.Length > 0,
    };

    private static Dictionary<string, string> Variables(JsonElement root)
    {
        var variables = new Dictionary<string, string>(StringComparer.Ordinal);
        if (!root.TryGetProperty("variables", out var v) || v.ValueKind != JsonValueKind.Object) return variables;
        foreach (var p in v.EnumerateObject())
            variables[p.Name] = p.Value.ValueKind == JsonValueKind.String ? p.Value.GetString()! : p.Value.GetRawText();
        return variables;
    }

    private async Task SendReceiptAsync(Uri callback, string apiKey, string id, string reference, Fault? fault)
    {
        try
        {
            await Task.Delay(ReceiptDelay);
            var failed = fault?.Kind == FaultKind.FailedReceipt;
            var body = JsonSerializer.SerializeToUtf8Bytes(new Dictionary<string, object?>
            {
                ["id"] = id,
                ["reference"] = reference,
                ["status"] = failed ? "failed" : "delivered",
                ["error"] = failed ? new Dictionary<string, string?> { ["code"] = fault!.Code, ["message"] = fault.Message } : null,
                ["at"] = DateTimeOffset.UtcNow.ToString("O", CultureInfo.InvariantCulture),
            });
            using var request = new HttpRequestMessage(HttpMethod.Post, callback) { Content = new ByteArrayContent(body) };
            request.Content.Headers.ContentType = new("application/json");
            request.Headers.TryAddWithoutValidation("X-Siyu-Signature", Signature(apiKey, body));
            using var response = await receiptClient.SendAsync(request);
            Interlocked.Increment(ref response.IsSuccessStatusCode ? ref receiptsSent : ref receiptsUndelivered);
        }
        catch (Exception e) when (e is HttpRequestException or OperationCanceledException or ObjectDisposedException)
        {
            Interlocked.Increment(ref receiptsUndelivered);
        }
    }

    private static string Signature(string secret, byte[] body) =>
        "sha256=" + Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), body));

    private static bool SignatureMatches(string secret, byte[] body, string header) =>
        CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(Signature(secret, body)), Encoding.ASCII.GetBytes(header.ToLowerInvariant()));

    /// <summary>A result with a Retry-After header of whole seconds.</summary>
    private sealed class WithRetryAfter(IResult inner, TimeSpan retryAfter) : IResult
    {
        public Task ExecuteAsync(HttpContext http)
        {
            http.Response.Headers.RetryAfter = ((int)Math.Ceiling(retryAfter.TotalSeconds)).ToString(CultureInfo.InvariantCulture);
            return inner.ExecuteAsync(http);
        }
    }
}
