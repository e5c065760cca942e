using System.Text.Json;

namespace Siyu.Functions.Api;

/// <summary>Reads a request body within a size limit, so an oversized body is refused before it is buffered.</summary>
public static class RequestBody
{
    public sealed record Result(byte[]? Body, IResult? Problem);

    public static async Task<Result> ReadAsync(HttpRequest request, int maxBytes, string[] mediaTypes, CancellationToken ct)
    {
        var contentType = request.ContentType?.Split(';')[0].Trim().ToLowerInvariant();
        if (contentType is null || !mediaTypes.Contains(contentType))
            return new(null, Problems.Create(StatusCodes.Status415UnsupportedMediaType, "unsupported_media_type", "Unsupported content type",
                $"send the body as {string.Join(" or ", mediaTypes)}"));
        if (request.ContentLength > maxBytes) return new(null, TooLarge(maxBytes));

        using var buffer = new MemoryStream();
        var chunk = new byte[16 * 1024];
        int read;
        while ((read = await request.Body.ReadAsync(chunk, ct)) > 0)
        {
            if (buffer.Length + read > maxBytes) return new(null, TooLarge(maxBytes));
            buffer.Write(chunk, 0, read);
        }
        return new(buffer.ToArray(), null);
    }

    public static async Task<(JsonDocument? Json, IResult? Problem)> ReadJsonAsync(HttpRequest request, int maxBytes, CancellationToken ct)
    {
        var body = await ReadAsync(request, maxBytes, ["application/json"], ct);
        if (body.Problem is not null) return (null, body.Problem);
        try
        {
            return (JsonDocument.Parse(body.Body, new JsonDocumentOptions { MaxDepth = 32 }), null);
        }
        catch (JsonException e)
        {
            return (null, Problems.BadRequest("invalid_json", $"the body is not valid JSON: {e.Message}"));
        }
    }

    /// <summary>A JSON body as a node tree, for documents validated field by field (journeys, campaigns, templates).</summary>
    public static async Task<(System.Text.Json.Nodes.JsonNode? Node, IResult? Problem)> ReadNodeAsync(HttpRequest request, int maxBytes, CancellationToken ct)
    {
        var (json, problem) = await ReadJsonAsync(request, maxBytes, ct);
        if (problem is not null) return (null, problem);
        using (json) return (System.Text.Json.Nodes.JsonNode.Parse(json!.RootElement.GetRawText()), null);
    }

    /// <summary>
    /// A JSON object body read as <typeparamref name="T"/>. Anything else (not JSON, not an object, fields of the wrong
    /// type) is a 400 with <paramref name="invalidCode"/>: <paramref name="expected"/> says what was expected. Exactly one
    /// of the two is set.
    /// </summary>
    public static async Task<(T? Value, IResult? Problem)> ReadObjectAsync<T>(HttpRequest request, int maxBytes, JsonSerializerOptions options,
        string invalidCode, string expected, CancellationToken ct) where T : class
    {
        var (json, problem) = await ReadJsonAsync(request, maxBytes, ct);
        if (problem is not null) return (null, problem);
        using (json)
        {
            if (json!.RootElement.ValueKind != JsonValueKind.Object) return (null, Problems.BadRequest(invalidCode, $"the body must be {expected}"));
            try
            {
                return json.RootElement.Deserialize<T>(options) is { } value
                    ? (value, null)
                    : (null, Problems.BadRequest(invalidCode, $"the body must be {expected}"));
            }
            catch (JsonException e) { return (null, Problems.BadRequest(invalidCode, $"the body must be {expected}: {e.Message}")); }
        }
    }

    /// <summary>
    /// The items of a batch body: a bare array, or an object holding the array under <paramref name="field"/>
    /// (<c>{"batch": [...]}</c>). A problem when it is neither, empty, or longer than <paramref name="maxItems"/>.
    /// </summary>
    public static (JsonElement Items, IResult? Problem) BatchItems(JsonDocument doc, string field, string what, int maxItems)
    {
        var items = doc.RootElement.ValueKind switch
        {
            JsonValueKind.Array => doc.RootElement,
            JsonValueKind.Object when doc.RootElement.TryGetProperty(field, out var b) && b.ValueKind == JsonValueKind.Array => b,
            _ => default,
        };
        if (items.ValueKind != JsonValueKind.Array)
            return (default, Problems.BadRequest("invalid_batch", $"the body must be {{\"{field}\": [{what}]}} or an array of {what}"));
        var count = items.GetArrayLength();
        if (count == 0) return (default, Problems.BadRequest("empty_batch", $"the batch has no {what}"));
        if (count > maxItems)
            return (default, Problems.BadRequest("batch_too_large", $"at most {maxItems} {what} per request; this one has {count}"));
        return (items, null);
    }

    private static IResult TooLarge(int maxBytes) =>
        Problems.Create(StatusCodes.Status413PayloadTooLarge, "body_too_large", "The body is too large", $"the limit is {maxBytes} bytes");
}
