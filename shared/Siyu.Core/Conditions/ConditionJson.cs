using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Siyu.Core.Profiles;

namespace Siyu.Core.Conditions;

/// <summary>
/// Reading rule JSON without trusting it: every reader answers false instead of throwing, so a parser can report a
/// mistake and carry on to find the next one.
/// </summary>
internal static class ConditionJson
{
    /// <summary>Longest name of an attribute or property step, as event traits allow.</summary>
    public const int MaxNameLength = 100;

    /// <summary>Event names a rule may count: 1-64 characters, no control characters.</summary>
    public const int MaxEventNameLength = 64;

    public static bool TryString(JsonNode? node, [NotNullWhen(true)] out string? text)
    {
        text = null;
        return node is JsonValue v && v.GetValueKind() == JsonValueKind.String && v.TryGetValue(out text);
    }

    public static bool TryBool(JsonNode? node, out bool flag)
    {
        flag = false;
        if (node is not JsonValue v) return false;
        var kind = v.GetValueKind();
        if (kind is not (JsonValueKind.True or JsonValueKind.False)) return false;
        flag = kind == JsonValueKind.True;
        return true;
    }

    /// <summary>
    /// A JSON number as a decimal: exact for money and counts. Values parsed from text and values built in code
    /// (int, long, double) both read; numbers beyond decimal's range do not.
    /// </summary>
    public static bool TryNumber(JsonNode? node, out decimal number)
    {
        number = 0;
        if (node is not JsonValue v || v.GetValueKind() != JsonValueKind.Number) return false;
        if (v.TryGetValue(out number)) return true;
        if (v.TryGetValue(out long l)) { number = l; return true; }
        if (v.TryGetValue(out int i)) { number = i; return true; }
        double d;
        if (v.TryGetValue(out double dd)) d = dd;
        else if (v.TryGetValue(out float f)) d = f;
        else return false;
        if (!double.IsFinite(d) || Math.Abs(d) >= 7.9e28) return false;
        number = (decimal)d;
        return true;
    }

    /// <summary>A whole JSON number (7, not 7.5 or "7").</summary>
    public static bool TryWhole(JsonNode? node, out long whole)
    {
        whole = 0;
        if (!TryNumber(node, out var n) || n != decimal.Truncate(n) || n < long.MinValue || n > long.MaxValue) return false;
        whole = (long)n;
        return true;
    }

    /// <summary>What a node is, for messages ("must be a string, not an array").</summary>
    public static string KindOf(JsonNode? node) => node switch
    {
        null => "null",
        JsonObject => "an object",
        JsonArray => "an array",
        JsonValue v => v.GetValueKind() switch
        {
            JsonValueKind.String => "a string",
            JsonValueKind.Number => "a number",
            JsonValueKind.True or JsonValueKind.False => "a boolean",
            _ => "null",
        },
        _ => "unknown",
    };

    /// <summary>A name of 1-<paramref name="max"/> characters without control characters.</summary>
    public static bool IsName(string? text, int max) =>
        text is { Length: > 0 } && text.Length <= max && !text.Any(char.IsControl);

    /// <summary>Ids of segments and rules: 1-64 characters of a-z, 0-9, '-' and '_', safe in keys and URLs.</summary>
    public static bool IsId(string? id) => id is { Length: > 0 and <= 64 } && id.All(c => c is (>= 'a' and <= 'z') or (>= '0' and <= '9') or '-' or '_');

    public const string IdRule = "must be 1-64 characters of a-z, 0-9, '-' and '_'";

    public static string List(IEnumerable<string> names) => string.Join(", ", names);

    /// <summary>Reports each key of <paramref name="node"/> that is not allowed, naming the allowed ones.</summary>
    public static void RejectUnknownKeys(JsonObject node, string path, IReadOnlyCollection<string> allowed, string what, List<string> errors)
    {
        foreach (var (key, _) in node)
            if (!allowed.Contains(key)) errors.Add($"{path}: unknown key '{key}' (allowed in {what}: {List(allowed)})");
    }

    /// <summary>
    /// True when some object in the tree names a key twice. Such an object throws when first read, so this is
    /// checked before anything else reads the tree.
    /// </summary>
    public static bool HasDuplicateKeys(JsonNode? node)
    {
        try
        {
            Touch(node, 0);
            return false;
        }
        catch (ArgumentException)
        {
            return true;
        }

        static void Touch(JsonNode? node, int depth)
        {
            if (depth > 64) return;
            if (node is JsonObject o)
                foreach (var (_, child) in o) Touch(child, depth + 1);
            else if (node is JsonArray a)
                foreach (var child in a) Touch(child, depth + 1);
        }
    }

    /// <summary>
    /// The optional <c>withinDays</c> of a counting rule: 1 to <see cref="ActivityWindow.MaxDays"/>, the days a
    /// profile keeps per-day counts for. Null when absent or wrong (then reported).
    /// </summary>
    public static int? WithinDays(JsonObject o, string path, List<string> errors)
    {
        if (!o.TryGetPropertyValue("withinDays", out var node)) return null;
        var windowPath = Path(path, "withinDays");
        if (!TryWhole(node, out var days)) errors.Add($"{windowPath}: must be a whole number of days from 1 to {ActivityWindow.MaxDays}");
        else if (days > ActivityWindow.MaxDays) errors.Add($"{windowPath}: at most {ActivityWindow.MaxDays} days");
        else if (days < 1) errors.Add($"{windowPath}: at least 1 day");
        else return (int)days;
        return null;
    }

    public static string Path(string path, string key) => path.Length == 0 ? key : path + "." + key;

    public static string Index(string path, int index) => path + "[" + index.ToString(CultureInfo.InvariantCulture) + "]";
}
