using System.Diagnostics.CodeAnalysis;
using System.Text.Json;

namespace Siyu.Channels;

/// <summary>
/// A delivery receipt a provider POSTs to our callback: <c>{"id","reference","status":"delivered"|"failed",
/// "error"?:{"code","message"},"at"?}</c>. Check its <see cref="ReceiptSignature"/> over the raw body first.
/// </summary>
public sealed record ProviderReceipt(string Id, string Reference, string Status, string? ErrorCode, string? ErrorMessage, DateTimeOffset? At)
{
    public const string Delivered = "delivered";
    public const string Failed = "failed";

    public static bool TryParse(ReadOnlySpan<byte> json, [MaybeNullWhen(false)] out ProviderReceipt receipt, out string? error)
    {
        receipt = null;
        try
        {
            var reader = new Utf8JsonReader(json);
            using var doc = JsonDocument.ParseValue(ref reader);
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object) return Fail("the receipt is not a JSON object", out error);
            var id = Text(root, "id");
            var reference = Text(root, "reference");
            var status = Text(root, "status");
            if (string.IsNullOrEmpty(id)) return Fail("id is required", out error);
            if (reference is null) return Fail("reference is required", out error);
            if (status is not (Delivered or Failed)) return Fail("status must be \"delivered\" or \"failed\"", out error);

            string? errorCode = null, errorMessage = null;
            if (root.TryGetProperty("error", out var e) && e.ValueKind == JsonValueKind.Object)
            {
                errorCode = Text(e, "code");
                errorMessage = Text(e, "message");
            }
            DateTimeOffset? at = null;
            if (root.TryGetProperty("at", out var a) && a.ValueKind != JsonValueKind.Null)
            {
                if (a.ValueKind != JsonValueKind.String || !a.TryGetDateTimeOffset(out var parsed))
                    return Fail("at must be an ISO 8601 timestamp", out error);
                at = parsed;
            }
            receipt = new ProviderReceipt(id, reference, status, errorCode, errorMessage, at);
            error = null;
            return true;
        }
        catch (JsonException)
        {
            return Fail("the receipt is not valid JSON", out error);
        }
    }

    private static string? Text(JsonElement obj, string name) =>
        obj.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;

    private static bool Fail(string message, out string? error)
    {
        error = message;
        return false;
    }
}
