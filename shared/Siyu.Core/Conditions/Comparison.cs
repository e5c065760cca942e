using System.Globalization;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Siyu.Core.Profiles;

namespace Siyu.Core.Conditions;

/// <summary>What a comparison reads a value as.</summary>
public enum ComparisonType
{
    String,
    Number,
    Boolean,
    /// <summary>An ISO 8601 date-time with offset, compared as an instant.</summary>
    Date,
}

public enum ComparisonOp
{
    Eq, Ne, In, NotIn, Gt, Gte, Lt, Lte, Contains, StartsWith, Exists, NotExists, WithinLastDays, MoreThanDaysAgo,
}

/// <summary>
/// One test of a JSON value: <c>{"type": "number", "op": "gte", "value": 3}</c>. Shared by segment attribute
/// conditions, event property filters and journeys, so that the same words mean the same thing everywhere.
/// <para>
/// A value of another type than the comparison's (a string where a number is expected) is not equal to, not in,
/// not greater than anything. <c>ne</c> and <c>notIn</c> are the exact negations of <c>eq</c> and <c>in</c>, so they
/// match such a value, and a missing one: "city ne 上海" includes people whose city we do not know. Apart from those
/// two, a missing value (absent or JSON null) matches only <c>notExists</c>. <c>exists</c> asks only whether there
/// is a value, of any type.
/// </para>
/// <para>
/// Days are calendar days in China time, as in <see cref="ActivityWindow"/>: <c>withinLastDays 30</c> is today and
/// the 29 days before (up to now), and <c>moreThanDaysAgo 30</c> is every day before those, so the two split the past
/// without gap or overlap, and agree with event conditions over the same window.
/// </para>
/// </summary>
public sealed partial class Comparison
{
    public const int MaxListValues = 100;
    public const int MaxDays = 3650;
    public const int MaxTextLength = 1000;

    public static readonly IReadOnlyList<string> TypeNames = ["string", "number", "boolean", "date"];

    public static readonly IReadOnlyList<string> OpNames =
        ["eq", "ne", "in", "notIn", "gt", "gte", "lt", "lte", "contains", "startsWith", "exists", "notExists", "withinLastDays", "moreThanDaysAgo"];

    private static readonly ComparisonOp[] StringOps =
        [ComparisonOp.Eq, ComparisonOp.Ne, ComparisonOp.In, ComparisonOp.NotIn, ComparisonOp.Contains, ComparisonOp.StartsWith, ComparisonOp.Exists, ComparisonOp.NotExists];
    private static readonly ComparisonOp[] NumberOps =
        [ComparisonOp.Eq, ComparisonOp.Ne, ComparisonOp.In, ComparisonOp.NotIn, ComparisonOp.Gt, ComparisonOp.Gte, ComparisonOp.Lt, ComparisonOp.Lte, ComparisonOp.Exists, ComparisonOp.NotExists];
    private static readonly ComparisonOp[] BooleanOps =
        [ComparisonOp.Eq, ComparisonOp.Ne, ComparisonOp.In, ComparisonOp.NotIn, ComparisonOp.Exists, ComparisonOp.NotExists];
    private static readonly ComparisonOp[] DateOps =
        [.. NumberOps, ComparisonOp.WithinLastDays, ComparisonOp.MoreThanDaysAgo];

    /// <summary>The type values are read as; null for <c>exists</c>/<c>notExists</c> without a type (any value counts).</summary>
    public ComparisonType? Type { get; }
    public ComparisonOp Op { get; }

    // The operand, parsed once; which field is set depends on Type and Op.
    private readonly string? _text;
    private readonly decimal _number;
    private readonly bool _flag;
    private readonly DateTimeOffset _date;
    private readonly int _days;
    private readonly HashSet<string>? _texts;
    private readonly HashSet<decimal>? _numbers;
    private readonly HashSet<DateTimeOffset>? _dates;
    private readonly bool _inTrue, _inFalse;

    private Comparison(ComparisonType? type, ComparisonOp op, List<object>? operands, int days)
    {
        Type = type;
        Op = op;
        _days = days;
        if (operands is null) return;
        if (op is ComparisonOp.In or ComparisonOp.NotIn)
        {
            switch (type)
            {
                case ComparisonType.String: _texts = new(operands.Cast<string>(), StringComparer.Ordinal); break;
                case ComparisonType.Number: _numbers = new(operands.Cast<decimal>()); break;
                case ComparisonType.Date: _dates = new(operands.Cast<DateTimeOffset>()); break;
                case ComparisonType.Boolean:
                    _inTrue = operands.Contains(true);
                    _inFalse = operands.Contains(false);
                    break;
            }
            return;
        }
        switch (operands[0])
        {
            case string s: _text = s; break;
            case decimal n: _number = n; break;
            case bool b: _flag = b; break;
            case DateTimeOffset d: _date = d; break;
        }
    }

    public static string NameOf(ComparisonOp op) => OpNames[(int)op];

    public static string NameOf(ComparisonType type) => TypeNames[(int)type];

    public static bool TryParseOp(string? text, out ComparisonOp op)
    {
        var i = text is null ? -1 : IndexOf(OpNames, text);
        op = (ComparisonOp)Math.Max(i, 0);
        return i >= 0;
    }

    public static bool TryParseType(string? text, out ComparisonType type)
    {
        var i = text is null ? -1 : IndexOf(TypeNames, text);
        type = (ComparisonType)Math.Max(i, 0);
        return i >= 0;
    }

    /// <summary>The operators that apply to values of a type.</summary>
    public static IReadOnlyList<ComparisonOp> OpsFor(ComparisonType type) => type switch
    {
        ComparisonType.String => StringOps,
        ComparisonType.Number => NumberOps,
        ComparisonType.Boolean => BooleanOps,
        _ => DateOps,
    };

    /// <summary>
    /// Reads <c>type</c>, <c>op</c> and <c>value</c> of <paramref name="node"/>. Every problem goes to
    /// <paramref name="errors"/> under <paramref name="path"/>; the result is null when there was any. With
    /// <paramref name="fixedType"/> (a trait whose type is known) the node's own <c>type</c> is not read. Without a
    /// type the operand decides: a string, number or boolean (dates must say so, since a date is written as a string).
    /// </summary>
    public static Comparison? Parse(JsonObject node, string path, List<string> errors, ComparisonType? fixedType = null)
    {
        var before = errors.Count;
        var opPath = ConditionJson.Path(path, "op");
        var typePath = ConditionJson.Path(path, "type");
        var valuePath = ConditionJson.Path(path, "value");

        ComparisonOp? op = null;
        node.TryGetPropertyValue("op", out var opNode);
        if (opNode is null) errors.Add($"{opPath}: is required (allowed: {ConditionJson.List(OpNames)})");
        else if (!ConditionJson.TryString(opNode, out var opText)) errors.Add($"{opPath}: must be a string (allowed: {ConditionJson.List(OpNames)})");
        else if (!TryParseOp(opText, out var parsedOp)) errors.Add($"{opPath}: unknown operator '{opText}' (allowed: {ConditionJson.List(OpNames)})");
        else op = parsedOp;

        var type = fixedType;
        if (fixedType is null && node.TryGetPropertyValue("type", out var typeNode) && typeNode is not null)
        {
            if (!ConditionJson.TryString(typeNode, out var typeText)) errors.Add($"{typePath}: must be a string (allowed: {ConditionJson.List(TypeNames)})");
            else if (!TryParseType(typeText, out var parsedType)) errors.Add($"{typePath}: unknown type '{typeText}' (allowed: {ConditionJson.List(TypeNames)})");
            else type = parsedType;
        }

        node.TryGetPropertyValue("value", out var value);
        if (op is not { } o) return null;

        if (o is ComparisonOp.Exists or ComparisonOp.NotExists)
        {
            if (value is not null) errors.Add($"{valuePath}: '{NameOf(o)}' takes no value");
            return errors.Count > before ? null : new Comparison(type, o, null, 0);
        }
        if (value is null)
        {
            errors.Add($"{valuePath}: is required for '{NameOf(o)}'");
            return null;
        }
        if (errors.Count > before) return null;

        if (type is null)
        {
            if (o is ComparisonOp.WithinLastDays or ComparisonOp.MoreThanDaysAgo)
            {
                errors.Add($"{typePath}: '{NameOf(o)}' compares dates: add \"type\": \"date\"");
                return null;
            }
            var sample = o is ComparisonOp.In or ComparisonOp.NotIn && value is JsonArray { Count: > 0 } list ? list[0] : value;
            type = Infer(sample);
            if (type is null)
            {
                errors.Add($"{valuePath}: must be a string, number or boolean{(o is ComparisonOp.In or ComparisonOp.NotIn ? " (in an array)" : "")}, or name the type");
                return null;
            }
        }
        var t = type.Value;

        if (!OpsFor(t).Contains(o))
        {
            var hint = t == ComparisonType.String && o is ComparisonOp.Gt or ComparisonOp.Gte or ComparisonOp.Lt or ComparisonOp.Lte ? "; for dates add \"type\": \"date\"" : "";
            errors.Add($"{opPath}: '{NameOf(o)}' does not apply to {NameOf(t)} values (allowed for {NameOf(t)}: {ConditionJson.List(OpsFor(t).Select(NameOf))}){hint}");
            return null;
        }

        if (o is ComparisonOp.WithinLastDays or ComparisonOp.MoreThanDaysAgo)
        {
            if (!ConditionJson.TryWhole(value, out var days) || days is < 1 or > MaxDays)
            {
                errors.Add($"{valuePath}: must be a whole number of days from 1 to {MaxDays}");
                return null;
            }
            return new Comparison(t, o, null, (int)days);
        }

        var operands = new List<object>();
        if (o is ComparisonOp.In or ComparisonOp.NotIn)
        {
            if (value is not JsonArray items || items.Count is 0 or > MaxListValues)
            {
                errors.Add($"{valuePath}: '{NameOf(o)}' needs an array of 1 to {MaxListValues} {NameOf(t)} values");
                return null;
            }
            for (var i = 0; i < items.Count; i++)
                if (ReadOperand(t, o, items[i], ConditionJson.Index(valuePath, i), errors) is { } operand) operands.Add(operand);
        }
        else if (ReadOperand(t, o, value, valuePath, errors) is { } operand) operands.Add(operand);

        return errors.Count > before ? null : new Comparison(t, o, operands, 0);
    }

    private static ComparisonType? Infer(JsonNode? sample)
    {
        if (ConditionJson.TryString(sample, out _)) return ComparisonType.String;
        if (ConditionJson.TryBool(sample, out _)) return ComparisonType.Boolean;
        if (sample is JsonValue v && v.GetValueKind() == System.Text.Json.JsonValueKind.Number) return ComparisonType.Number;
        return null;
    }

    private static object? ReadOperand(ComparisonType type, ComparisonOp op, JsonNode? node, string path, List<string> errors)
    {
        switch (type)
        {
            case ComparisonType.String:
                if (!ConditionJson.TryString(node, out var s)) break;
                if (s.Length > MaxTextLength) { errors.Add($"{path}: at most {MaxTextLength} characters"); return null; }
                if (s.Length == 0 && op is ComparisonOp.Contains or ComparisonOp.StartsWith)
                { errors.Add($"{path}: '{NameOf(op)}' needs some text: an empty string matches everything"); return null; }
                return s;
            case ComparisonType.Number:
                if (ConditionJson.TryNumber(node, out var n)) return n;
                if (node is JsonValue v && v.GetValueKind() == System.Text.Json.JsonValueKind.Number) { errors.Add($"{path}: number out of range"); return null; }
                break;
            case ComparisonType.Boolean:
                if (ConditionJson.TryBool(node, out var b)) return b;
                break;
            case ComparisonType.Date:
                if (ConditionJson.TryString(node, out var text) && TryParseDate(text, out var d)) return d;
                errors.Add($"{path}: must be an ISO 8601 date-time with offset, e.g. \"2026-05-01T00:00:00+08:00\"");
                return null;
        }
        errors.Add($"{path}: must be {(type == ComparisonType.Boolean ? "true or false" : "a " + NameOf(type))}, not {ConditionJson.KindOf(node)}");
        return null;
    }

    /// <summary>An ISO 8601 date-time that says its offset ("Z" or "+08:00"): without one, the instant is a guess.</summary>
    public static bool TryParseDate(string? text, out DateTimeOffset at)
    {
        at = default;
        return text is not null && IsoDateTimeWithOffset().IsMatch(text) &&
               DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.None, out at);
    }

    /// <summary>Does <paramref name="value"/> pass? <paramref name="now"/> anchors the day-based operators.</summary>
    public bool Matches(JsonNode? value, DateTimeOffset now)
    {
        switch (Op)
        {
            case ComparisonOp.Exists: return IsPresent(value);
            case ComparisonOp.NotExists: return !IsPresent(value);
        }
        var matched = Type switch
        {
            ComparisonType.String => ConditionJson.TryString(value, out var s) && Test(s),
            ComparisonType.Number => ConditionJson.TryNumber(value, out var n) && Test(n),
            ComparisonType.Boolean => ConditionJson.TryBool(value, out var b) && Test(b),
            ComparisonType.Date => ConditionJson.TryString(value, out var text) && TryParseDate(text, out var d) && Test(d, now),
            _ => false,
        };
        return IsNegation ? !matched : matched;
    }

    /// <summary>Like <see cref="Matches(JsonNode?, DateTimeOffset)"/> for a value we compute (a trait): null is missing.</summary>
    internal bool MatchesText(string? value) => Op switch
    {
        ComparisonOp.Exists => value is not null,
        ComparisonOp.NotExists => value is null,
        _ => (value is not null && Type == ComparisonType.String && Test(value)) != IsNegation,
    };

    /// <inheritdoc cref="MatchesText"/>
    internal bool MatchesNumber(decimal? value) => Op switch
    {
        ComparisonOp.Exists => value is not null,
        ComparisonOp.NotExists => value is null,
        _ => (value is { } n && Type == ComparisonType.Number && Test(n)) != IsNegation,
    };

    private bool IsNegation => Op is ComparisonOp.Ne or ComparisonOp.NotIn;

    private static bool IsPresent(JsonNode? value) => value is not null && value.GetValueKind() != System.Text.Json.JsonValueKind.Null;

    // The positive tests: ne and notIn run as eq and in, and Matches negates.
    private bool Test(string s) => Op switch
    {
        ComparisonOp.Eq or ComparisonOp.Ne => string.Equals(s, _text, StringComparison.Ordinal),
        ComparisonOp.In or ComparisonOp.NotIn => _texts!.Contains(s),
        ComparisonOp.Contains => s.Contains(_text!, StringComparison.Ordinal),
        ComparisonOp.StartsWith => s.StartsWith(_text!, StringComparison.Ordinal),
        _ => false,
    };

    private bool Test(decimal n) => Op switch
    {
        ComparisonOp.Eq or ComparisonOp.Ne => n == _number,
        ComparisonOp.In or ComparisonOp.NotIn => _numbers!.Contains(n),
        ComparisonOp.Gt => n > _number,
        ComparisonOp.Gte => n >= _number,
        ComparisonOp.Lt => n < _number,
        ComparisonOp.Lte => n <= _number,
        _ => false,
    };

    private bool Test(bool b) => Op switch
    {
        ComparisonOp.Eq or ComparisonOp.Ne => b == _flag,
        ComparisonOp.In or ComparisonOp.NotIn => b ? _inTrue : _inFalse,
        _ => false,
    };

    private bool Test(DateTimeOffset d, DateTimeOffset now) => Op switch
    {
        ComparisonOp.Eq or ComparisonOp.Ne => d == _date,
        ComparisonOp.In or ComparisonOp.NotIn => _dates!.Contains(d),
        ComparisonOp.Gt => d > _date,
        ComparisonOp.Gte => d >= _date,
        ComparisonOp.Lt => d < _date,
        ComparisonOp.Lte => d <= _date,
        ComparisonOp.WithinLastDays => d <= now && ActivityWindow.Day(now) - ActivityWindow.Day(d) < _days,
        ComparisonOp.MoreThanDaysAgo => ActivityWindow.Day(now) - ActivityWindow.Day(d) >= _days,
        _ => false,
    };

    private static int IndexOf(IReadOnlyList<string> names, string text)
    {
        for (var i = 0; i < names.Count; i++)
            if (string.Equals(names[i], text, StringComparison.Ordinal)) return i;
        return -1;
    }

    [GeneratedRegex(@"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,7})?)?(Z|[+-]\d{2}:\d{2})\z")]
    private static partial Regex IsoDateTimeWithOffset();
}
