using System.Collections.Concurrent;
using System.Reflection;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization.Metadata;

namespace Siyu.Core.Validation;

/// <summary>
/// Checks a JSON value against the shape the serializer expects for a .NET type, and lists every place it differs
/// (a string where a number goes, <c>null</c> where an object or a non-nullable string goes, an array item of the
/// wrong type), with its path. The serializer stops at the first difference, with a message about .NET types; this
/// says all of them, in the client's terms. Unknown properties are ignored, as the serializer ignores them.
/// </summary>
public static class JsonShape
{
    public const string WrongType = "wrong_type";
    public const string NullNotAllowed = "null_not_allowed";

    private static readonly NullabilityInfoContext Nullability = new();
    private static readonly ConcurrentDictionary<PropertyInfo, NullabilityInfo> MemberNullability = new();
    // Per type, not per name a client sends: names are the client's, and must not grow a cache.
    private static readonly ConcurrentDictionary<JsonTypeInfo, Dictionary<string, JsonPropertyInfo>> Properties = new();

    /// <summary>Adds an error for every place <paramref name="element"/> does not fit <paramref name="type"/> (at most <paramref name="max"/>).</summary>
    public static void Check(JsonElement element, Type type, JsonSerializerOptions options, string path, List<FieldError> errors, int max = 50)
    {
        // Options not used yet have no resolver to ask for metadata; the serializer would fix them the same way on first use.
        if (!options.IsReadOnly) options.MakeReadOnly(populateMissingResolver: true);
        CheckValue(element, type, null, path, options, errors, max);
    }

    /// <summary>The value as <typeparamref name="T"/>, or null with every problem added to <paramref name="errors"/>.</summary>
    public static T? Read<T>(JsonElement element, JsonSerializerOptions options, string path, List<FieldError> errors) where T : class
    {
        var before = errors.Count;
        Check(element, typeof(T), options, path, errors);
        if (errors.Count > before) return null;
        try
        {
            if (element.Deserialize<T>(options) is { } value) return value;
            errors.Add(new FieldError(path, NullNotAllowed, $"must be {Expected(typeof(T), options)}, not null"));
        }
        catch (JsonException e) { errors.Add(new FieldError(path, WrongType, $"does not fit: {e.Message}")); }
        return null;
    }

    /// <summary>How a value of <paramref name="type"/> is written in JSON, for messages ("a string", "an array").</summary>
    public static string Expected(Type type, JsonSerializerOptions options)
    {
        var t = Nullable.GetUnderlyingType(type) ?? type;
        if (t == typeof(string)) return "a string";
        if (t == typeof(bool)) return "true or false";
        if (t == typeof(int) || t == typeof(long) || t == typeof(short) || t == typeof(byte) || t == typeof(uint) || t == typeof(ulong)) return "a whole number";
        if (t == typeof(double) || t == typeof(float) || t == typeof(decimal)) return "a number";
        if (t == typeof(DateTimeOffset) || t == typeof(DateTime)) return "an ISO 8601 date-time";
        if (t == typeof(TimeSpan)) return "a duration such as \"01:30:00\"";
        if (t.IsEnum) return "one of " + string.Join(", ", Enum.GetNames(t).Select(n => JsonNamingPolicy.CamelCase.ConvertName(n)));
        if (t == typeof(JsonObject)) return "an object";
        if (t == typeof(JsonArray)) return "an array";
        if (t == typeof(JsonElement) || t == typeof(JsonNode) || t == typeof(object)) return "a JSON value";
        return options.GetTypeInfo(t).Kind switch
        {
            JsonTypeInfoKind.Object or JsonTypeInfoKind.Dictionary => "an object",
            JsonTypeInfoKind.Enumerable => "an array",
            _ => "a " + t.Name,
        };
    }

    private static void CheckValue(JsonElement element, Type type, NullabilityInfo? nullability, string path, JsonSerializerOptions options,
        List<FieldError> errors, int max)
    {
        if (errors.Count >= max) return;
        var underlying = Nullable.GetUnderlyingType(type);
        if (element.ValueKind == JsonValueKind.Null)
        {
            // A value type takes null only as Nullable<T>; a reference type when it is annotated nullable. The body's root has no annotation: an object is expected.
            var nullable = underlying is not null || (!type.IsValueType && nullability?.ReadState == NullabilityState.Nullable);
            if (!nullable) errors.Add(new FieldError(path, NullNotAllowed, $"must be {Expected(type, options)}, not null"));
            return;
        }
        var t = underlying ?? type;
        if (t == typeof(JsonElement) || t == typeof(JsonNode) || t == typeof(object)) return;
        if (t == typeof(JsonObject) || t == typeof(JsonArray))
        {
            var kind = t == typeof(JsonObject) ? JsonValueKind.Object : JsonValueKind.Array;
            if (element.ValueKind != kind) errors.Add(Mismatch(path, t, element, options));
            return;
        }

        var info = options.GetTypeInfo(t);
        switch (info.Kind)
        {
            case JsonTypeInfoKind.Object:
                if (element.ValueKind != JsonValueKind.Object) { errors.Add(Mismatch(path, t, element, options)); return; }
                foreach (var member in element.EnumerateObject())
                {
                    if (Find(info, member.Name, options) is not { } property) continue;
                    CheckValue(member.Value, property.PropertyType, NullabilityOf(property), FieldError.Member(path, member.Name), options, errors, max);
                }
                return;
            case JsonTypeInfoKind.Enumerable:
                if (element.ValueKind != JsonValueKind.Array) { errors.Add(Mismatch(path, t, element, options)); return; }
                var itemNullability = nullability?.ElementType ?? (nullability?.GenericTypeArguments is [var only] ? only : null);
                var i = 0;
                foreach (var item in element.EnumerateArray()) CheckValue(item, info.ElementType!, itemNullability, FieldError.Item(path, i++), options, errors, max);
                return;
            case JsonTypeInfoKind.Dictionary:
                if (element.ValueKind != JsonValueKind.Object) { errors.Add(Mismatch(path, t, element, options)); return; }
                var valueNullability = nullability?.GenericTypeArguments is [_, var value] ? value : null;
                foreach (var member in element.EnumerateObject())
                    CheckValue(member.Value, info.ElementType!, valueNullability, FieldError.Member(path, member.Name), options, errors, max);
                return;
            default:
                // A leaf (string, number, date, enum…): the serializer's own converter is the judge.
                try { _ = element.Deserialize(t, options); }
                catch (Exception e) when (e is JsonException or InvalidOperationException or NotSupportedException or FormatException or OverflowException)
                {
                    errors.Add(Mismatch(path, t, element, options));
                }
                return;
        }
    }

    private static FieldError Mismatch(string path, Type type, JsonElement element, JsonSerializerOptions options) =>
        new(path, WrongType, $"must be {Expected(type, options)}, not {KindOf(element)}");

    private static string KindOf(JsonElement e) => e.ValueKind switch
    {
        JsonValueKind.Object => "an object",
        JsonValueKind.Array => "an array",
        JsonValueKind.String => "a string",
        JsonValueKind.Number => e.TryGetInt64(out _) ? "the number " + e.GetRawText() : "a number that does not fit",
        JsonValueKind.True or JsonValueKind.False => e.GetRawText(),
        _ => "null",
    };

    private static JsonPropertyInfo? Find(JsonTypeInfo info, string name, JsonSerializerOptions options) =>
        Properties.GetOrAdd(info, static (i, caseInsensitive) =>
        {
            var byName = new Dictionary<string, JsonPropertyInfo>(caseInsensitive ? StringComparer.OrdinalIgnoreCase : StringComparer.Ordinal);
            foreach (var p in i.Properties) byName.TryAdd(p.Name, p);
            return byName;
        }, options.PropertyNameCaseInsensitive).GetValueOrDefault(name);

    private static NullabilityInfo? NullabilityOf(JsonPropertyInfo property)
    {
        if (property.AttributeProvider is not PropertyInfo member) return null;
        return MemberNullability.GetOrAdd(member, static m => { lock (Nullability) return Nullability.Create(m); });
    }
}
