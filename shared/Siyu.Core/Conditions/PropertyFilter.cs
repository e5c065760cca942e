using System.Text.Json.Nodes;

namespace Siyu.Core.Conditions;

/// <summary>One test of an event property. <see cref="Property"/> may be a dotted path into nested objects.</summary>
public sealed class PropertyCondition
{
    internal PropertyCondition(string property, string[] steps, Comparison comparison)
    {
        Property = property;
        _steps = steps;
        Comparison = comparison;
    }

    /// <summary>The path split once, so evaluation only walks it.</summary>
    private readonly string[] _steps;

    public string Property { get; }
    public IReadOnlyList<string> Steps => _steps;
    public Comparison Comparison { get; }

    public bool Matches(JsonObject? properties, DateTimeOffset now) => Comparison.Matches(Lookup(properties), now);

    private JsonNode? Lookup(JsonObject? properties)
    {
        JsonNode? current = properties;
        foreach (var step in _steps)
            if (current is not JsonObject o || !o.TryGetPropertyValue(step, out current)) return null;
        return current;
    }
}

/// <summary>
/// A filter over an event's properties: <c>[{"property": "category", "type": "string", "op": "eq", "value": "milk_powder"}]</c>.
/// Every entry must match. Used by tag rules, and by anything else that reacts to one kind of event.
/// </summary>
public sealed class PropertyFilter
{
    public const int MaxConditions = 20;
    /// <summary>"a.b.c.d" at most: event properties deeper than this are not something a marketer picks from.</summary>
    public const int MaxDepth = 4;

    private static readonly string[] EntryKeys = ["property", "type", "op", "value"];

    private readonly PropertyCondition[] _conditions;

    private PropertyFilter(PropertyCondition[] conditions) => _conditions = conditions;

    public IReadOnlyList<PropertyCondition> Conditions => _conditions;

    /// <summary>
    /// Reads a filter array. Every problem goes to <paramref name="errors"/> with its path under <paramref name="path"/>
    /// (e.g. <c>where[1].op</c>); the result is null when there was any.
    /// </summary>
    public static PropertyFilter? Parse(JsonNode? node, string path, List<string> errors)
    {
        if (ConditionJson.HasDuplicateKeys(node))
        {
            errors.Add($"{path}: names the same key twice in one object");
            return null;
        }
        if (node is not JsonArray entries || entries.Count is 0 or > MaxConditions)
        {
            errors.Add($"{path}: must be an array of 1 to {MaxConditions} conditions, e.g. [{{\"property\": \"category\", \"op\": \"eq\", \"value\": \"milk_powder\"}}]");
            return null;
        }

        var before = errors.Count;
        var conditions = new List<PropertyCondition>(entries.Count);
        for (var i = 0; i < entries.Count; i++)
        {
            var entryPath = ConditionJson.Index(path, i);
            if (entries[i] is not JsonObject entry)
            {
                errors.Add($"{entryPath}: must be an object with property, op and value");
                continue;
            }
            ConditionJson.RejectUnknownKeys(entry, entryPath, EntryKeys, "a property condition", errors);
            var steps = ParseProperty(entry, entryPath, errors);
            var comparison = Comparison.Parse(entry, entryPath, errors);
            if (steps is not null && comparison is not null)
                conditions.Add(new PropertyCondition(string.Join('.', steps), steps, comparison));
        }
        return errors.Count > before ? null : new PropertyFilter([.. conditions]);
    }

    private static string[]? ParseProperty(JsonObject entry, string entryPath, List<string> errors)
    {
        var path = ConditionJson.Path(entryPath, "property");
        entry.TryGetPropertyValue("property", out var node);
        if (node is null) { errors.Add($"{path}: is required"); return null; }
        if (!ConditionJson.TryString(node, out var property)) { errors.Add($"{path}: must be a string, not {ConditionJson.KindOf(node)}"); return null; }
        var steps = property.Split('.');
        if (steps.Length > MaxDepth) { errors.Add($"{path}: at most {MaxDepth} levels deep (like a.b.c.d)"); return null; }
        if (!steps.All(s => ConditionJson.IsName(s, ConditionJson.MaxNameLength)))
        {
            errors.Add($"{path}: each part of a property path must be 1-{ConditionJson.MaxNameLength} characters without control characters");
            return null;
        }
        return steps;
    }

    /// <summary>True when every condition matches. No properties at all is a missing value for each of them.</summary>
    public bool Matches(JsonObject? properties, DateTimeOffset now)
    {
        foreach (var condition in _conditions)
            if (!condition.Matches(properties, now)) return false;
        return true;
    }
}
