using System.Text.Json;
using System.Text.Json.Nodes;
using Siyu.Core.Events;
using Siyu.Core.Validation;

namespace Siyu.Functions.Api;

/// <summary>
/// The one way a request body is read: within a size limit (an oversized body is refused before it is buffered), as
/// JSON no deeper than <see cref="MaxDepth"/>, with every string checked to be text once, here. What the body holds is
/// then checked against what the endpoint expects, and every problem is answered 400 with its path
/// (<c>errors: [{path, code, message}]</c>), never an exception. A batch is read item by item: an item that is not
/// text, or not what is expected, gets its own error and its neighbours go on.
/// </summary>
public static class RequestBody
{
    public const int MaxDepth = 32;
    /// <summary>How many problems one answer lists at most.</summary>
    public const int MaxErrors = 50;

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

    /// <summary>A JSON body whose every string is text; a 400 <c>invalid_json</c> or <c>invalid_text</c> otherwise.</summary>
    public static async Task<(JsonDocument? Json, IResult? Problem)> ReadJsonAsync(HttpRequest request, int maxBytes, CancellationToken ct)
    {
        var body = await ReadAsync(request, maxBytes, ["application/json"], ct);
        return body.Problem is not null ? (null, body.Problem) : ParseJson(body.Body!);
    }

    /// <summary>Bytes read by <see cref="ReadAsync"/> as JSON whose every string is text, or the 400 that says why not.</summary>
    public static (JsonDocument? Json, IResult? Problem) ParseJson(byte[] body)
    {
        var (doc, problem) = Parse(body);
        if (problem is not null) return (null, problem);
        var errors = new List<FieldError>();
        JsonText.Check(doc!.RootElement, "", errors, MaxErrors);
        if (errors.Count == 0) return (doc, null);
        doc.Dispose();
        return (null, Problems.Invalid(JsonText.Code, "the body", errors));
    }

    /// <summary>A JSON body as a node tree, for documents validated field by field (journeys, campaigns, templates).</summary>
    public static async Task<(JsonNode? Node, IResult? Problem)> ReadNodeAsync(HttpRequest request, int maxBytes, CancellationToken ct)
    {
        var (json, problem) = await ReadJsonAsync(request, maxBytes, ct);
        if (problem is not null) return (null, problem);
        using (json) return (JsonNode.Parse(json!.RootElement.GetRawText(), documentOptions: new JsonDocumentOptions { MaxDepth = MaxDepth }), null);
    }

    /// <summary>
    /// A JSON object body read as <typeparamref name="T"/>. Anything else (not JSON, not an object, a field of the wrong
    /// type, null where a value is required) is a 400 with <paramref name="invalidCode"/> listing every problem with its
    /// path; <paramref name="expected"/> says what was expected. Exactly one of the two is set.
    /// </summary>
    public static async Task<(T? Value, IResult? Problem)> ReadObjectAsync<T>(HttpRequest request, int maxBytes, JsonSerializerOptions options,
        string invalidCode, string expected, CancellationToken ct) where T : class
    {
        var (json, problem) = await ReadJsonAsync(request, maxBytes, ct);
        if (problem is not null) return (null, problem);
        using (json) return Read<T>(json!.RootElement, options, invalidCode, expected);
    }

    /// <summary>A parsed, text-checked object as <typeparamref name="T"/>, or the 400 that lists every problem.</summary>
    public static (T? Value, IResult? Problem) Read<T>(JsonElement root, JsonSerializerOptions options, string invalidCode, string expected) where T : class
    {
        if (root.ValueKind != JsonValueKind.Object)
            return (null, Problems.Invalid(invalidCode, "the body", [new FieldError("", JsonShape.WrongType, $"the body must be {expected}")]));
        var errors = new List<FieldError>();
        var value = JsonShape.Read<T>(root, options, "", errors);
        return value is not null ? (value, null) : (null, Problems.Invalid(invalidCode, "the body", errors));
    }

    /// <summary>
    /// A batch body: a bare array, or an object holding the array under <paramref name="field"/> (<c>{"batch": [...]}</c>).
    /// A problem when it is not JSON, neither shape, empty, or longer than <paramref name="maxItems"/>; the items
    /// themselves are not judged here but by <see cref="Batch.Each"/>, one by one.
    /// </summary>
    public static async Task<(Batch? Batch, IResult? Problem)> ReadBatchAsync(HttpRequest request, int maxBytes, string field, string what, int maxItems,
        CancellationToken ct, BatchOptions? options = null)
    {
        var (doc, problem) = await ParseAsync(request, maxBytes, ct);
        if (problem is not null) return (null, problem);
        var root = doc!.RootElement;
        // One pass over every string first (even looking a name up reads it): a problem inside an item is that item's,
        // one beside the batch is the body's.
        var path = root.ValueKind == JsonValueKind.Array ? "" : field;
        var textErrors = new List<FieldError>();
        JsonText.Check(root, "", textErrors, int.MaxValue);
        var itemErrors = new Dictionary<int, FieldError>();
        var outside = new List<FieldError>();
        foreach (var e in textErrors)
        {
            if (ItemIndex(e.Path, path) is { } i) itemErrors.TryAdd(i, e);
            else outside.Add(e);
        }
        var single = options?.OrSingle == true && root.ValueKind == JsonValueKind.Object && outside.Count == 0 && !root.TryGetProperty(field, out _);
        if (single)
        {
            // One object, not a batch: all its problems are the body's.
            outside.AddRange(itemErrors.Values);
            itemErrors.Clear();
        }
        IResult? refused = null;
        var items = root.ValueKind switch
        {
            _ when single || outside.Count > 0 => default,
            JsonValueKind.Array => root,
            JsonValueKind.Object when root.TryGetProperty(field, out var b) && b.ValueKind == JsonValueKind.Array => b,
            _ => default,
        };
        var count = items.ValueKind == JsonValueKind.Array ? items.GetArrayLength() : 0;
        if (outside.Count > 0) refused = Problems.Invalid(options?.Code ?? JsonText.Code, "the body", outside.Take(MaxErrors).ToList());
        else if (single) { }
        else if (items.ValueKind != JsonValueKind.Array)
            refused = Problems.BadRequest(options?.Code ?? "invalid_batch", $"the body must be {{\"{field}\": [{what}]}}{(options?.OrSingle == true ? " or one object" : $" or an array of {what}")}");
        else if (count == 0) refused = Problems.BadRequest(options?.Code ?? "empty_batch", $"the batch has no {what}");
        else if (count > maxItems)
            refused = Problems.BadRequest(options?.Code ?? "batch_too_large", $"at most {maxItems} {what} per request; this one has {count}");
        if (refused is null)
            return (single ? new Batch(doc, [root], "", itemErrors, true) : new Batch(doc, items.EnumerateArray().ToList(), path, itemErrors, false), null);
        doc.Dispose();
        return (null, refused);
    }

    /// <summary>
    /// How a batch endpoint differs: <see cref="OrSingle"/> takes one object without the batch field as the only item
    /// (journey entry: one person, or many under "people"); <see cref="Code"/> replaces the codes of a body that is no batch.
    /// </summary>
    public sealed record BatchOptions(bool OrSingle = false, string? Code = null);

    /// <summary>The index of the batch item a path is in (<c>batch[3].name</c> is in item 3), or null outside the items.</summary>
    private static int? ItemIndex(string errorPath, string batchPath)
    {
        var prefix = batchPath + "[";
        if (!errorPath.StartsWith(prefix, StringComparison.Ordinal)) return null;
        var close = errorPath.IndexOf(']', prefix.Length);
        return close > 0 && int.TryParse(errorPath.AsSpan(prefix.Length, close - prefix.Length), out var i) ? i : null;
    }

    /// <summary>The items of a batch body, each judged on its own.</summary>
    public sealed class Batch(JsonDocument document, IReadOnlyList<JsonElement> items, string path, IReadOnlyDictionary<int, FieldError> notText, bool single)
        : IDisposable
    {
        public int Count => items.Count;

        /// <summary>The body was one object, not a batch: its problems are the body's, a 400.</summary>
        public bool Single => single;

        /// <summary>
        /// Each item with its index, and the error of an item whose strings are not all text (it is refused before it is
        /// validated: nothing after this reads such a string).
        /// </summary>
        public IEnumerable<(int Index, JsonElement Item, ItemError? Refused)> Each()
        {
            for (var index = 0; index < items.Count; index++)
                yield return (index, items[index], notText.TryGetValue(index, out var bad)
                    ? new ItemError(index, null, bad.Code, bad.Message) { Path = bad.Path[path.Length..] }
                    : null);
        }

        /// <summary>An item's error with its path under the batch's field (<c>[3].timestamp</c> becomes <c>batch[3].timestamp</c>).</summary>
        public ItemError Place(ItemError error) => error with
        {
            Path = !single ? path + error.Path : error.Path == "[0]" ? "" : error.Path.StartsWith("[0].", StringComparison.Ordinal) ? error.Path[4..] : error.Path,
        };

        public void Dispose() => document.Dispose();
    }

    private static async Task<(JsonDocument? Json, IResult? Problem)> ParseAsync(HttpRequest request, int maxBytes, CancellationToken ct)
    {
        var body = await ReadAsync(request, maxBytes, ["application/json"], ct);
        return body.Problem is not null ? (null, body.Problem) : Parse(body.Body!);
    }

    private static (JsonDocument? Json, IResult? Problem) Parse(byte[] body)
    {
        try
        {
            return (JsonDocument.Parse(body, new JsonDocumentOptions { MaxDepth = MaxDepth }), null);
        }
        catch (JsonException e)
        {
            var path = e.Path is { } p ? p.TrimStart('$').TrimStart('.') : "";
            return (null, Problems.Invalid("invalid_json", "the body", [new FieldError(path, "invalid_json", $"not valid JSON (at most {MaxDepth} levels deep): {e.Message}")]));
        }
    }

    private static IResult TooLarge(int maxBytes) =>
        Problems.Create(StatusCodes.Status413PayloadTooLarge, "body_too_large", "The body is too large", $"the limit is {maxBytes} bytes");
}
