using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Siyu.Core.Profiles;

namespace Siyu.Core.Journeys;

/// <summary>
/// Placeholders in send variables, attribute values and webhook bodies: <c>{{attributes.nickname}}</c>,
/// <c>{{context.cartId}}</c> (the run's context variables, the entering event's properties under
/// <c>context.event</c>), <c>{{profile.id}}</c>. A missing value renders as empty text.
/// </summary>
public static partial class Templates
{
    public static readonly IReadOnlyList<string> Roots = ["attributes", "context", "profile"];

    [GeneratedRegex(@"\{\{\s*([^{}]*?)\s*\}\}")]
    private static partial Regex Placeholder();

    /// <summary>The placeholders in <paramref name="text"/>, as written between the braces.</summary>
    public static IEnumerable<string> References(string text) => Placeholder().Matches(text).Select(m => m.Groups[1].Value);

    /// <summary>Why a placeholder cannot be filled, or null.</summary>
    public static string? Problem(string reference)
    {
        var parts = reference.Split('.');
        if (parts.Length < 2 || parts.Any(p => p.Length == 0)) return $"'{{{{{reference}}}}}' must name a root and a field, e.g. {{{{attributes.nickname}}}}";
        if (!Roots.Contains(parts[0])) return $"'{{{{{reference}}}}}' starts with '{parts[0]}'; use one of {string.Join(", ", Roots)}";
        if (parts[0] == "profile" && (parts.Length != 2 || parts[1] != "id")) return $"'{{{{{reference}}}}}': the profile offers only profile.id";
        return null;
    }

    /// <summary>True when filling the placeholders needs the person's profile (not just the run's context).</summary>
    public static bool NeedsProfile(string text) => References(text).Any(r => r.StartsWith("attributes.", StringComparison.Ordinal));

    public static bool NeedsProfile(JsonNode? node) => node switch
    {
        JsonValue v when v.TryGetValue<string>(out var s) => NeedsProfile(s),
        JsonObject o => o.Any(p => NeedsProfile(p.Value)),
        JsonArray a => a.Any(NeedsProfile),
        _ => false,
    };

    public static string Render(string text, string profileId, ProfileState? profile, JsonObject? context) =>
        Placeholder().Replace(text, m => Lookup(m.Groups[1].Value, profileId, profile, context));

    /// <summary>Renders every string inside a JSON value; a value that is one placeholder keeps the looked-up value's type.</summary>
    public static JsonNode? Render(JsonNode? node, string profileId, ProfileState? profile, JsonObject? context)
    {
        switch (node)
        {
            case JsonValue v when v.TryGetValue<string>(out var s):
                var whole = Placeholder().Match(s);
                if (whole.Success && whole.Length == s.Length) return Value(whole.Groups[1].Value, profileId, profile, context)?.DeepClone();
                return JsonValue.Create(Render(s, profileId, profile, context));
            case JsonObject o:
                var copy = new JsonObject();
                foreach (var (k, v) in o) copy[k] = Render(v, profileId, profile, context);
                return copy;
            case JsonArray a:
                return new JsonArray(a.Select(x => Render(x, profileId, profile, context)).ToArray());
            default:
                return node?.DeepClone();
        }
    }

    private static string Lookup(string reference, string profileId, ProfileState? profile, JsonObject? context) =>
        Value(reference, profileId, profile, context) switch
        {
            null => "",
            JsonValue v when v.TryGetValue<string>(out var s) => s,
            var other => other.ToJsonString(),
        };

    private static JsonNode? Value(string reference, string profileId, ProfileState? profile, JsonObject? context)
    {
        var parts = reference.Split('.');
        if (parts.Length < 2) return null;
        JsonNode? current = parts[0] switch
        {
            "profile" when parts[1] == "id" => JsonValue.Create(profileId),
            "attributes" => profile?.Attributes.GetValueOrDefault(parts[1]),
            "context" => context?[parts[1]],
            _ => null,
        };
        foreach (var step in parts.Skip(2))
            current = current is JsonObject o ? o[step] : null;
        return current;
    }

}
