using System.Text.Json.Nodes;
using Siyu.Core.Conditions;
using Siyu.Core.Consent;
using Siyu.Core.Privacy;
using Siyu.Core.Profiles;

namespace Siyu.Core.Segments;

/// <summary>A saved segment: who is in it is decided by <see cref="Rule"/>; <see cref="RuleJson"/> is what was saved.</summary>
public sealed record SegmentDefinition(string Id, string Name, string? Description, SegmentCondition Rule, JsonNode RuleJson);

/// <summary>What a rule is checked against: the tenant's tag taxonomy and its other segments.</summary>
public interface ISegmentCatalog
{
    bool TagExists(string tag);

    /// <summary>The saved rule JSON of another segment, or null when there is none: for references and cycle checks.</summary>
    JsonNode? RuleOf(string segmentId);
}

/// <summary>
/// Parses and validates segment rules. A rule is a tree of JSON objects, each of exactly one kind:
/// <c>and</c>, <c>or</c>, <c>not</c>, <c>attribute</c>, <c>trait</c>, <c>tag</c>, <c>consent</c>, <c>event</c>,
/// <c>segment</c>. Validation reports every problem in one pass, each with its path (<c>rule.and[2].withinDays</c>),
/// so a marketer fixes a rule in one round instead of five.
/// </summary>
public static class SegmentRules
{
    public const int MaxDepth = 8;
    public const int MaxNodes = 100;
    public const int MaxChildren = 20;
    public const int MaxNameLength = 100;
    public const int MaxDescriptionLength = 500;
    /// <summary>Bounds for event counts; far above anything a person does, low enough to catch a typo.</summary>
    public const long MaxEventCount = 1_000_000;

    public static readonly IReadOnlyList<string> Kinds = ["and", "or", "not", "attribute", "trait", "tag", "consent", "event", "segment"];

    /// <summary>"none" asks for people who never decided either way.</summary>
    public static readonly IReadOnlyList<string> ConsentStatuses = ["granted", "denied", "withdrawn", "none"];

    private static readonly Dictionary<string, string[]> KeysOfKind = new(StringComparer.Ordinal)
    {
        ["and"] = ["and"],
        ["or"] = ["or"],
        ["not"] = ["not"],
        ["attribute"] = ["attribute", "type", "op", "value"],
        ["trait"] = ["trait", "op", "value"],
        ["tag"] = ["tag"],
        ["consent"] = ["consent", "status"],
        ["event"] = ["event", "atLeast", "atMost", "withinDays"],
        ["segment"] = ["segment"],
    };

    private static readonly string[] ConsentKeys = ["purpose", "channel"];

    public static bool IsValidId(string? id) => ConditionJson.IsId(id);

    /// <summary>
    /// Parses and validates the rule of segment <paramref name="segmentId"/>; returns null and fills
    /// <paramref name="errors"/> when it is invalid. Never throws on bad input.
    /// </summary>
    public static SegmentCondition? Parse(string segmentId, JsonNode? rule, ISegmentCatalog catalog, List<string> errors)
    {
        var before = errors.Count;
        if (!IsValidId(segmentId)) errors.Add($"id: {ConditionJson.IdRule}");
        if (rule is null)
        {
            errors.Add("rule: is required, e.g. {\"tag\": \"core-fan\"}");
            return null;
        }
        if (ConditionJson.HasDuplicateKeys(rule))
        {
            errors.Add("rule: names the same key twice in one object");
            return null;
        }
        var parser = new Parser(segmentId, catalog, errors);
        var condition = parser.Node(rule, "rule", 1);
        parser.CheckCycles();
        return errors.Count > before ? null : condition;
    }

    /// <summary>
    /// A condition outside any segment (a journey's <c>condition</c> node): the same language, checked against the
    /// same catalog, with problems reported under <paramref name="path"/>.
    /// </summary>
    public static SegmentCondition? ParseCondition(JsonNode? rule, string path, ISegmentCatalog catalog, List<string> errors)
    {
        var before = errors.Count;
        if (rule is null)
        {
            errors.Add($"{path}: is required, e.g. {{\"tag\": \"core-fan\"}}");
            return null;
        }
        if (ConditionJson.HasDuplicateKeys(rule))
        {
            errors.Add($"{path}: names the same key twice in one object");
            return null;
        }
        // No segment has the empty id, so references made here can never cycle back to it.
        var condition = new Parser("", catalog, errors).Node(rule, path, 1);
        return errors.Count > before ? null : condition;
    }

    /// <summary>A whole definition: id, name, optional description and rule, every problem reported.</summary>
    public static SegmentDefinition? Define(string segmentId, string? name, string? description, JsonNode? rule, ISegmentCatalog catalog, List<string> errors)
    {
        var before = errors.Count;
        if (!ConditionJson.IsName(name, MaxNameLength) || name!.Trim().Length == 0)
            errors.Add($"name: must be 1-{MaxNameLength} characters without control characters");
        if (description is { Length: > MaxDescriptionLength }) errors.Add($"description: at most {MaxDescriptionLength} characters");
        var condition = Parse(segmentId, rule, catalog, errors);
        return errors.Count > before || condition is null ? null : new SegmentDefinition(segmentId, name!, description, condition, rule!.DeepClone());
    }

    private sealed class Parser(string segmentId, ISegmentCatalog catalog, List<string> errors)
    {
        private int _nodes;
        private readonly List<(string Id, string Path)> _refs = new();

        public SegmentCondition? Node(JsonNode? node, string path, int depth)
        {
            if (++_nodes == MaxNodes + 1) errors.Add($"rule: more than {MaxNodes} conditions");
            if (node is not JsonObject o)
            {
                errors.Add($"{path}: must be an object, not {ConditionJson.KindOf(node)}");
                return null;
            }

            string? kind = null;
            foreach (var (key, _) in o)
            {
                if (!KeysOfKind.ContainsKey(key)) continue;
                if (kind is not null)
                {
                    errors.Add($"{path}: has both '{kind}' and '{key}': a condition is exactly one of {ConditionJson.List(Kinds)}");
                    return null;
                }
                kind = key;
            }
            if (kind is null)
            {
                var problem = o.Count == 0 ? "is empty" : $"has no condition key (found: {ConditionJson.List(o.Select(p => p.Key))})";
                errors.Add($"{path}: {problem}; a condition is exactly one of {ConditionJson.List(Kinds)}");
                return null;
            }
            ConditionJson.RejectUnknownKeys(o, path, KeysOfKind[kind], $"{Article(kind)} {kind} condition", errors);

            return kind switch
            {
                "and" or "or" => Group(o, kind, path, depth),
                "not" => Not(o, path, depth),
                "attribute" => Attribute(o, path),
                "trait" => Trait(o, path),
                "tag" => Tag(o, path),
                "consent" => ConsentOf(o, path),
                "event" => Event(o, path),
                _ => Segment(o, path),
            };
        }

        private static string Article(string kind) => kind is "and" or "or" or "attribute" or "event" ? "an" : "a";

        /// <summary>Reported once where the nesting goes too deep, not once per condition below.</summary>
        private bool TooDeep(int depth, string path)
        {
            if (depth < MaxDepth) return false;
            errors.Add($"{path}: nested deeper than {MaxDepth} levels");
            return true;
        }

        private SegmentCondition? Not(JsonObject o, string path, int depth)
        {
            var innerPath = ConditionJson.Path(path, "not");
            if (TooDeep(depth, innerPath)) return null;
            return Node(o["not"], innerPath, depth + 1) is { } inner ? new NotCondition(inner) : null;
        }

        private SegmentCondition? Group(JsonObject o, string kind, string path, int depth)
        {
            var listPath = ConditionJson.Path(path, kind);
            if (TooDeep(depth, listPath)) return null;
            if (o[kind] is not JsonArray items || items.Count is 0 or > MaxChildren)
            {
                errors.Add($"{listPath}: must be an array of 1 to {MaxChildren} conditions");
                return null;
            }
            var children = new SegmentCondition?[items.Count];
            for (var i = 0; i < items.Count; i++) children[i] = Node(items[i], ConditionJson.Index(listPath, i), depth + 1);
            if (children.Any(c => c is null)) return null;
            var all = children.Select(c => c!).ToArray();
            return kind == "and" ? new AllCondition(all) : new AnyCondition(all);
        }

        private SegmentCondition? Attribute(JsonObject o, string path)
        {
            var namePath = ConditionJson.Path(path, "attribute");
            string? name = null;
            if (!ConditionJson.TryString(o["attribute"], out var text)) errors.Add($"{namePath}: must be a string, not {ConditionJson.KindOf(o["attribute"])}");
            else if (!ConditionJson.IsName(text, ConditionJson.MaxNameLength)) errors.Add($"{namePath}: must be 1-{ConditionJson.MaxNameLength} characters without control characters");
            else name = text;
            var comparison = Comparison.Parse(o, path, errors);
            return name is not null && comparison is not null ? new AttributeCondition(name, comparison) : null;
        }

        private SegmentCondition? Trait(JsonObject o, string path)
        {
            var namePath = ConditionJson.Path(path, "trait");
            if (!ConditionJson.TryString(o["trait"], out var name))
            {
                errors.Add($"{namePath}: must be a string (known: {ConditionJson.List(SegmentTraits.Names)})");
                return null;
            }
            if (!SegmentTraits.TryParse(name, out var trait))
            {
                errors.Add($"{namePath}: unknown trait '{name}' (known: {ConditionJson.List(SegmentTraits.Names)})");
                return null;
            }

            var vocabulary = SegmentTraits.VocabularyOf(trait);
            if (vocabulary is not null && ConditionJson.TryString(o["op"], out var opText) && Comparison.TryParseOp(opText, out var op)
                && !SegmentTraits.VocabularyOps.Contains(op))
            {
                errors.Add($"{ConditionJson.Path(path, "op")}: '{opText}' does not apply to {name} (allowed: {ConditionJson.List(SegmentTraits.VocabularyOps.Select(Comparison.NameOf))})");
                return null;
            }
            var comparison = Comparison.Parse(o, path, errors, SegmentTraits.TypeOf(trait));
            if (comparison is null) return null;

            var before = errors.Count;
            var valuePath = ConditionJson.Path(path, "value");
            var value = o["value"];
            if (value is JsonArray items)
                for (var i = 0; i < items.Count; i++) CheckTraitValue(trait, name, vocabulary, items[i], ConditionJson.Index(valuePath, i));
            else if (value is not null) CheckTraitValue(trait, name, vocabulary, value, valuePath);
            return errors.Count > before ? null : new TraitCondition(trait, comparison);
        }

        private void CheckTraitValue(SegmentTrait trait, string name, IReadOnlyList<string>? vocabulary, JsonNode? value, string path)
        {
            if (vocabulary is not null && ConditionJson.TryString(value, out var text) && !vocabulary.Contains(text))
                errors.Add($"{path}: unknown {name} '{text}' (known: {ConditionJson.List(vocabulary)})");
            if (SegmentTraits.IsScore(trait) && ConditionJson.TryNumber(value, out var score) && score is < SegmentTraits.MinScore or > SegmentTraits.MaxScore)
                errors.Add($"{path}: {name} is a score from {SegmentTraits.MinScore} to {SegmentTraits.MaxScore}");
        }

        private SegmentCondition? Tag(JsonObject o, string path)
        {
            var tagPath = ConditionJson.Path(path, "tag");
            if (!ConditionJson.TryString(o["tag"], out var tag))
            {
                errors.Add($"{tagPath}: must be a string, not {ConditionJson.KindOf(o["tag"])}");
                return null;
            }
            if (!TagDefinition.IsValidName(tag))
            {
                errors.Add($"{tagPath}: not a valid tag name (1-{TagDefinition.MaxNameLength} characters, no control characters, '/', '\\', '#' or '?', no surrounding spaces)");
                return null;
            }
            if (!catalog.TagExists(tag))
            {
                errors.Add($"{tagPath}: no tag '{tag}' in the taxonomy");
                return null;
            }
            return new TagCondition(tag);
        }

        private SegmentCondition? ConsentOf(JsonObject o, string path)
        {
            var consentPath = ConditionJson.Path(path, "consent");
            var before = errors.Count;
            string? purpose = null, channel = null;
            if (o["consent"] is not JsonObject consent)
                errors.Add($"{consentPath}: must be an object like {{\"purpose\": \"marketing\", \"channel\": \"sms\"}}");
            else
            {
                ConditionJson.RejectUnknownKeys(consent, consentPath, ConsentKeys, "a consent", errors);
                purpose = Word(consent["purpose"], ConditionJson.Path(consentPath, "purpose"), "purpose", ConsentVocabulary.Purposes);
                channel = Word(consent["channel"], ConditionJson.Path(consentPath, "channel"), "channel", ConsentVocabulary.Channels);
            }

            ConsentStatus? status = ConsentStatus.Granted;
            if (o.TryGetPropertyValue("status", out var statusNode))
            {
                var statusText = Word(statusNode, ConditionJson.Path(path, "status"), "status", ConsentStatuses);
                status = statusText == "none" ? null : ConsentVocabulary.TryParseStatus(statusText, out var s) ? s : ConsentStatus.Granted;
            }
            return errors.Count > before ? null : new ConsentCondition(purpose!, channel!, status);
        }

        /// <summary>A string from a fixed vocabulary, or an error naming the vocabulary.</summary>
        private string? Word(JsonNode? node, string path, string what, IReadOnlyList<string> known)
        {
            if (node is null) errors.Add($"{path}: is required (one of {ConditionJson.List(known)})");
            else if (!ConditionJson.TryString(node, out var text)) errors.Add($"{path}: must be a string (one of {ConditionJson.List(known)})");
            else if (!known.Contains(text)) errors.Add($"{path}: unknown {what} '{text}' (known: {ConditionJson.List(known)})");
            else return text;
            return null;
        }

        private SegmentCondition? Event(JsonObject o, string path)
        {
            var before = errors.Count;
            var namePath = ConditionJson.Path(path, "event");
            if (!ConditionJson.TryString(o["event"], out var name)) errors.Add($"{namePath}: must be a string, not {ConditionJson.KindOf(o["event"])}");
            else if (!ConditionJson.IsName(name, ConditionJson.MaxEventNameLength))
                errors.Add($"{namePath}: must be 1-{ConditionJson.MaxEventNameLength} characters without control characters");

            var atLeast = Count(o, "atLeast", path, 1);
            var atMost = Count(o, "atMost", path, 0);
            var withinDays = ConditionJson.WithinDays(o, path, errors);
            if (atLeast is { } least && atMost is { } most && least > most)
                errors.Add($"{path}: atLeast ({least}) is more than atMost ({most}): nobody can match");
            return errors.Count > before
                ? null
                : new EventCondition(name!, atLeast ?? (atMost is null ? 1 : 0), atMost, withinDays);
        }

        private long? Count(JsonObject o, string key, string path, long min)
        {
            if (!o.TryGetPropertyValue(key, out var node)) return null;
            if (!ConditionJson.TryWhole(node, out var n) || n < min || n > MaxEventCount)
            {
                errors.Add($"{ConditionJson.Path(path, key)}: must be a whole number from {min} to {MaxEventCount}");
                return null;
            }
            return n;
        }

        private SegmentCondition? Segment(JsonObject o, string path)
        {
            var refPath = ConditionJson.Path(path, "segment");
            if (!ConditionJson.TryString(o["segment"], out var id) || !IsValidId(id))
            {
                errors.Add($"{refPath}: must be a segment id ({ConditionJson.IdRule})");
                return null;
            }
            if (id == segmentId)
            {
                errors.Add($"{refPath}: a segment cannot refer to itself");
                return null;
            }
            if (catalog.RuleOf(id) is null)
            {
                errors.Add($"{refPath}: unknown segment '{id}'");
                return null;
            }
            _refs.Add((id, refPath));
            return new SegmentRefCondition(id);
        }

        /// <summary>
        /// Follows each reference through the other segments' saved rules; a path that comes back here would make
        /// membership depend on itself. Reported once per reference, with the ids along the way.
        /// </summary>
        public void CheckCycles()
        {
            var rulesRead = new Dictionary<string, IEnumerable<string>>(StringComparer.Ordinal);
            IEnumerable<string> RefsOf(string id)
            {
                if (!rulesRead.TryGetValue(id, out var refs)) rulesRead[id] = refs = SegmentJson.RefsIn(catalog.RuleOf(id));
                return refs;
            }

            foreach (var (id, refPath) in _refs)
            {
                var trail = new List<string> { segmentId };
                var visited = new HashSet<string>(StringComparer.Ordinal);
                if (Leads(id)) errors.Add($"{refPath}: reference cycle {string.Join(" -> ", trail)}");

                bool Leads(string at)
                {
                    if (!visited.Add(at)) return false;
                    trail.Add(at);
                    foreach (var next in RefsOf(at))
                    {
                        if (next == segmentId) { trail.Add(next); return true; }
                        if (Leads(next)) return true;
                    }
                    trail.RemoveAt(trail.Count - 1);
                    return false;
                }
            }
        }
    }
}
