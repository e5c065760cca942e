using System.Globalization;
using System.Text.Json.Nodes;
using Siyu.Core.Conditions;
using Siyu.Core.Consent;
using Siyu.Core.Privacy;
using Siyu.Core.Segments;

namespace Siyu.Core.Journeys;

/// <summary>
/// Reads a journey document (the format is described in README.md beside this file) and checks it the way publishing must: every problem at once,
/// each with its path (<c>nodes.wait_pay.timeout</c>), so a marketer fixes a journey in one round. Beyond the shape of
/// each node it checks the graph: branches that lead nowhere or are missing, nodes no one can reach, cycles in which
/// no time passes, split weights that do not add up to 100.
/// </summary>
public static class JourneyParser
{
    public const int MaxNodes = 200;
    public const int MaxExitEvents = 10;
    public const int MaxVariables = 30;
    public const int MaxNameLength = 100;
    public const int MaxTextLength = 2000;
    public const int MaxSplitBranches = 10;

    public static readonly IReadOnlyList<string> NodeTypes =
        ["delay", "waitForEvent", "condition", "split", "send", "tag", "untag", "setAttribute", "webhook", "exit"];

    /// <summary>Channels a send may name: every consent channel but the "all" wildcard.</summary>
    public static readonly IReadOnlyList<string> Channels = ConsentVocabulary.Channels.Where(c => c != ConsentVocabulary.AllChannels).ToList();

    private static readonly string[] RootKeys = ["name", "description", "entry", "exitOn", "goal", "start", "nodes"];
    private static readonly string[] EntryKeys = ["on", "event", "where", "segment", "reentry", "dedupeKey"];
    private static readonly string[] TriggerKeys = ["event", "where"];
    private static readonly string[] GoalKeys = ["event", "where", "within"];
    private static readonly string[] BranchKeys = ["name", "weight", "next", "control"];

    private static readonly Dictionary<string, string[]> NodeKeys = new(StringComparer.Ordinal)
    {
        ["delay"] = ["type", "for", "at", "untilAttribute", "offset", "next"],
        ["waitForEvent"] = ["type", "event", "where", "timeout", "arrived", "timedOut"],
        ["condition"] = ["type", "if", "context", "then", "else"],
        ["split"] = ["type", "branches"],
        ["send"] = ["type", "channel", "template", "variables", "next"],
        ["tag"] = ["type", "tag", "next"],
        ["untag"] = ["type", "tag", "next"],
        ["setAttribute"] = ["type", "attribute", "value", "next"],
        ["webhook"] = ["type", "url", "body", "next"],
        ["exit"] = ["type"],
    };

    public static bool IsValidId(string? id) => ConditionJson.IsId(id);

    public const string IdRule = ConditionJson.IdRule;

    public static bool IsValidName(string? name) => ConditionJson.IsName(name, MaxNameLength) && name!.Trim().Length > 0;

    public static JourneyDefinition? Parse(JsonNode? document, ISegmentCatalog catalog, List<string> errors)
    {
        var before = errors.Count;
        if (document is not JsonObject root)
        {
            errors.Add("journey: must be a JSON object with entry, start and nodes");
            return null;
        }
        if (ConditionJson.HasDuplicateKeys(root))
        {
            errors.Add("journey: names the same key twice in one object");
            return null;
        }
        ConditionJson.RejectUnknownKeys(root, "journey", RootKeys, "a journey", errors);

        var name = Text(root, "name", "", errors, required: true, MaxNameLength);
        if (root["description"] is { } d && (!ConditionJson.TryString(d, out var desc) || desc.Length > MaxTextLength))
            errors.Add($"description: at most {MaxTextLength} characters of text");
        var entry = Entry(root["entry"], catalog, errors);
        var exits = ExitEvents(root["exitOn"], errors);
        var goal = Goal(root["goal"], errors);
        var nodes = Nodes(root["nodes"], catalog, errors);
        var start = Text(root, "start", "", errors, required: true, 64);
        if (start is not null && nodes is not null && !nodes.ContainsKey(start))
            errors.Add($"start: no node is called '{start}'");
        if (nodes is not null && start is not null && nodes.ContainsKey(start)) CheckGraph(start, nodes, errors);

        return errors.Count > before ? null : new JourneyDefinition(name!, entry!, exits!, goal, start!, nodes!);
    }

    private static JourneyEntry? Entry(JsonNode? node, ISegmentCatalog catalog, List<string> errors)
    {
        const string path = "entry";
        if (node is not JsonObject o)
        {
            errors.Add($"{path}: is required, e.g. {{\"on\": \"event\", \"event\": \"add_to_cart\", \"reentry\": \"once\"}}");
            return null;
        }
        ConditionJson.RejectUnknownKeys(o, path, EntryKeys, "an entry", errors);
        var on = Text(o, "on", path, errors, required: true, 16) switch
        {
            "event" => EntryKind.Event,
            "segment" => EntryKind.Segment,
            "api" => EntryKind.Api,
            null => (EntryKind?)null,
            var other => Fail<EntryKind>(errors, $"{path}.on: '{other}' is not a way in; use event, segment or api"),
        };
        var reentry = (o["reentry"] is null ? "once" : Text(o, "reentry", path, errors, required: true, 16)) switch
        {
            "once" => ReentryPolicy.Once,
            "afterExit" => ReentryPolicy.AfterExit,
            "everyTime" => ReentryPolicy.EveryTime,
            null => (ReentryPolicy?)null,
            var other => Fail<ReentryPolicy>(errors, $"{path}.reentry: '{other}' is not a re-entry policy; use once, afterExit or everyTime"),
        };

        EventTrigger? trigger = null;
        string? segment = null;
        if (on == EntryKind.Event) trigger = Trigger(o, path, errors);
        else if (o["event"] is not null || o["where"] is not null)
            errors.Add($"{path}: event and where belong to an entry on an event");
        if (on == EntryKind.Segment)
        {
            segment = Text(o, "segment", path, errors, required: true, 64);
            if (segment is not null && !SegmentRules.IsValidId(segment)) errors.Add($"{path}.segment: {ConditionJson.IdRule}");
            else if (segment is not null && catalog.RuleOf(segment) is null) errors.Add($"{path}.segment: unknown segment '{segment}'");
        }
        else if (o["segment"] is not null) errors.Add($"{path}.segment: belongs to an entry on a segment");

        string? dedupe = null;
        if (o["dedupeKey"] is not null)
        {
            dedupe = Text(o, "dedupeKey", path, errors, required: true, 100);
            if (reentry != ReentryPolicy.EveryTime) errors.Add($"{path}.dedupeKey: only an everyTime entry has a dedupe key");
            else if (on != EntryKind.Event) errors.Add($"{path}.dedupeKey: names a property of the entering event, so the entry must be on an event");
        }
        return on is null || reentry is null ? null : new JourneyEntry(on.Value, trigger, segment, reentry.Value, dedupe);
    }

    private static IReadOnlyList<EventTrigger>? ExitEvents(JsonNode? node, List<string> errors)
    {
        if (node is null) return [];
        if (node is not JsonArray a || a.Count > MaxExitEvents)
        {
            errors.Add($"exitOn: must be an array of at most {MaxExitEvents} events, e.g. [{{\"event\": \"unsubscribe\"}}]");
            return null;
        }
        var list = new List<EventTrigger>();
        for (var i = 0; i < a.Count; i++)
        {
            var path = ConditionJson.Index("exitOn", i);
            if (a[i] is not JsonObject o) { errors.Add($"{path}: must be an object with event"); continue; }
            ConditionJson.RejectUnknownKeys(o, path, TriggerKeys, "an exit event", errors);
            if (Trigger(o, path, errors) is { } t) list.Add(t);
        }
        return list;
    }

    private static JourneyGoal? Goal(JsonNode? node, List<string> errors)
    {
        if (node is null) return null;
        if (node is not JsonObject o)
        {
            errors.Add("goal: must be an object, e.g. {\"event\": \"order_paid\", \"within\": \"7d\"}");
            return null;
        }
        ConditionJson.RejectUnknownKeys(o, "goal", GoalKeys, "a goal", errors);
        var trigger = Trigger(o, "goal", errors);
        var within = Duration(o, "within", "goal", errors, required: true);
        return trigger is null || within is null ? null : new JourneyGoal(trigger, within.Value);
    }

    private static EventTrigger? Trigger(JsonObject o, string path, List<string> errors)
    {
        var name = Text(o, "event", path, errors, required: true, ConditionJson.MaxEventNameLength);
        PropertyFilter? where = null;
        if (o["where"] is { } w) where = PropertyFilter.Parse(w, ConditionJson.Path(path, "where"), errors);
        return name is null ? null : new EventTrigger(name, where);
    }

    private static Dictionary<string, JourneyNode>? Nodes(JsonNode? node, ISegmentCatalog catalog, List<string> errors)
    {
        if (node is not JsonObject o || o.Count == 0 || o.Count > MaxNodes)
        {
            errors.Add($"nodes: must be an object of 1 to {MaxNodes} nodes by id, e.g. {{\"done\": {{\"type\": \"exit\"}}}}");
            return null;
        }
        var nodes = new Dictionary<string, JourneyNode>(StringComparer.Ordinal);
        foreach (var (id, value) in o)
        {
            var path = "nodes." + id;
            if (!ConditionJson.IsId(id)) errors.Add($"{path}: a node id {ConditionJson.IdRule}");
            if (Node(id, value, path, catalog, errors) is { } n) nodes[id] = n;
        }
        // Graph checks need every node; a node that did not parse still has its branches checked by name.
        foreach (var (id, value) in o)
            if (!nodes.ContainsKey(id)) nodes[id] = Placeholder(id, value as JsonObject ?? []);
        return nodes;
    }

    /// <summary>
    /// Stands in for a node that did not parse, keeping the branch names it gives, so one bad node does not hide
    /// the graph's other problems (or invent "unreachable" ones).
    /// </summary>
    private static JourneyNode Placeholder(string id, JsonObject raw)
    {
        var targets = new List<(string, string?)>();
        foreach (var key in new[] { "next", "arrived", "timedOut", "then", "else" })
            if (raw[key] is JsonValue v && v.TryGetValue<string>(out var t)) targets.Add((key, t));
        if (raw["branches"] is JsonArray branches)
            foreach (var b in branches.OfType<JsonObject>())
                if (b["next"] is JsonValue v && v.TryGetValue<string>(out var t)) targets.Add(("branch", t));
        return new UnparsedNode(id, targets);
    }

    private sealed record UnparsedNode(string Id, IReadOnlyList<(string, string?)> Targets) : JourneyNode(Id)
    {
        public override string Type => "unparsed";
        public override IEnumerable<(string, string?)> Exits => Targets;
        // Unknown: assume time may pass, so no spurious cycle is reported on a node that has other errors.
        public override bool Pauses => true;
    }

    private static JourneyNode? Node(string id, JsonNode? value, string path, ISegmentCatalog catalog, List<string> errors)
    {
        if (value is not JsonObject o)
        {
            errors.Add($"{path}: must be an object with a type");
            return null;
        }
        var type = Text(o, "type", path, errors, required: true, 32);
        if (type is null) return null;
        if (!NodeKeys.TryGetValue(type, out var keys))
        {
            errors.Add($"{path}.type: unknown node type '{type}'; use one of {ConditionJson.List(NodeTypes)}");
            return null;
        }
        ConditionJson.RejectUnknownKeys(o, path, keys, $"{(type is "exit" or "untag" ? "an" : "a")} {type} node", errors);
        var before = errors.Count;
        JourneyNode? node = type switch
        {
            "delay" => Delay(id, o, path, errors),
            "waitForEvent" => Wait(id, o, path, errors),
            "condition" => Condition(id, o, path, catalog, errors),
            "split" => Split(id, o, path, errors),
            "send" => Send(id, o, path, errors),
            "tag" or "untag" => Tag(id, o, path, type == "tag", catalog, errors),
            "setAttribute" => SetAttribute(id, o, path, errors),
            "webhook" => Webhook(id, o, path, errors),
            _ => new ExitNode(id),
        };
        return errors.Count > before ? null : node;
    }

    private static DelayNode? Delay(string id, JsonObject o, string path, List<string> errors)
    {
        var next = Branch(o, "next", path, errors);
        var given = new[] { "for", "at", "untilAttribute" }.Count(k => o[k] is not null);
        if (given != 1)
        {
            errors.Add($"{path}: give exactly one of for (\"2h\"), at (a local time of day, \"10:00\") or untilAttribute (a date attribute)");
            return null;
        }
        TimeSpan? duration = null;
        TimeOnly? at = null;
        string? attribute = null;
        var offset = TimeSpan.Zero;
        if (o["for"] is not null)
        {
            duration = Duration(o, "for", path, errors, required: true);
        }
        else if (o["at"] is not null)
        {
            var text = Text(o, "at", path, errors, required: true, 5);
            if (text is not null)
            {
                if (TimeOnly.TryParseExact(text, "HH:mm", CultureInfo.InvariantCulture, DateTimeStyles.None, out var t)) at = t;
                else errors.Add($"{path}.at: '{text}' is not a time of day HH:mm");
            }
        }
        else
        {
            attribute = Text(o, "untilAttribute", path, errors, required: true, ConditionJson.MaxNameLength);
        }
        if (o["offset"] is not null)
        {
            if (attribute is null && o["untilAttribute"] is null) errors.Add($"{path}.offset: only a delay untilAttribute takes an offset");
            else if (o["offset"] is JsonValue v && v.TryGetValue<string>(out var s) && Durations.TryParse(s, out var off) && off.Duration() <= Durations.Longest) offset = off;
            else errors.Add($"{path}.offset: must be a signed duration such as \"-1d\" or \"9h\", at most {Durations.Longest.Days}d");
        }
        return next is null ? null : new DelayNode(id, duration, at, attribute, offset, next);
    }

    private static WaitNode? Wait(string id, JsonObject o, string path, List<string> errors)
    {
        var trigger = Trigger(o, path, errors);
        TimeSpan? timeout = null;
        if (o["timeout"] is null) errors.Add($"{path}.timeout: a wait needs a timeout (e.g. \"2h\"), or people would wait forever");
        else timeout = Duration(o, "timeout", path, errors, required: true);
        var arrived = Branch(o, "arrived", path, errors);
        var timedOut = Branch(o, "timedOut", path, errors);
        return trigger is null || timeout is null || arrived is null || timedOut is null ? null
            : new WaitNode(id, trigger, timeout.Value, arrived, timedOut);
    }

    private static ConditionNode? Condition(string id, JsonObject o, string path, ISegmentCatalog catalog, List<string> errors)
    {
        SegmentCondition? rule = null;
        PropertyFilter? context = null;
        if (o["if"] is null && o["context"] is null)
            errors.Add($"{path}: give if (a rule on the person, e.g. {{\"tag\": \"vip\"}}) and/or context (conditions on the run's variables)");
        if (o["if"] is { } r) rule = SegmentRules.ParseCondition(r, path + ".if", catalog, errors);
        if (o["context"] is { } c) context = PropertyFilter.Parse(c, path + ".context", errors);
        var then = Branch(o, "then", path, errors);
        var @else = Branch(o, "else", path, errors);
        return then is null || @else is null ? null : new ConditionNode(id, rule, context, then, @else);
    }

    private static SplitNode? Split(string id, JsonObject o, string path, List<string> errors)
    {
        if (o["branches"] is not JsonArray a || a.Count < 2 || a.Count > MaxSplitBranches)
        {
            errors.Add($"{path}.branches: must be an array of 2 to {MaxSplitBranches} branches, e.g. [{{\"name\": \"coupon\", \"weight\": 50, \"next\": \"give\"}}, {{\"name\": \"control\", \"weight\": 50, \"control\": true}}]");
            return null;
        }
        var branches = new List<SplitBranch>();
        var total = 0L;
        var complete = true;
        for (var i = 0; i < a.Count; i++)
        {
            var bp = ConditionJson.Index(path + ".branches", i);
            if (a[i] is not JsonObject b) { errors.Add($"{bp}: must be an object with name, weight and next"); complete = false; continue; }
            ConditionJson.RejectUnknownKeys(b, bp, BranchKeys, "a split branch", errors);
            var name = Text(b, "name", bp, errors, required: true, 64);
            if (name is not null && !ConditionJson.IsId(name)) errors.Add($"{bp}.name: {ConditionJson.IdRule}");
            var control = false;
            if (b["control"] is { } c && !ConditionJson.TryBool(c, out control)) errors.Add($"{bp}.control: must be true or false");
            if (!ConditionJson.TryWhole(b["weight"], out var weight) || weight is < 0 or > 100)
            {
                errors.Add($"{bp}.weight: must be a whole number from 0 to 100");
                complete = false;
            }
            else total += weight;
            string? next = null;
            if (control)
            {
                if (b["next"] is not null) errors.Add($"{bp}.next: a control branch does nothing, so it has no next");
            }
            else next = Branch(b, "next", bp, errors);
            if (name is not null) branches.Add(new SplitBranch(name, (int)Math.Clamp(weight, 0, 100), next, control));
        }
        if (complete && total != 100) errors.Add($"{path}.branches: weights add up to {total}, not 100");
        foreach (var dup in branches.GroupBy(b => b.Name).Where(g => g.Count() > 1))
            errors.Add($"{path}.branches: two branches are called '{dup.Key}'");
        if (branches.Count(b => b.Control) > 1) errors.Add($"{path}.branches: at most one control branch");
        return new SplitNode(id, branches);
    }

    private static SendNode? Send(string id, JsonObject o, string path, List<string> errors)
    {
        var channel = Text(o, "channel", path, errors, required: true, 32);
        if (channel is not null && !Channels.Contains(channel))
            errors.Add($"{path}.channel: unknown channel '{channel}'; use one of {ConditionJson.List(Channels)}");
        var template = Text(o, "template", path, errors, required: true, 64);
        if (template is not null && !ConditionJson.IsId(template)) errors.Add($"{path}.template: a template id {ConditionJson.IdRule}");
        var variables = new Dictionary<string, string>(StringComparer.Ordinal);
        if (o["variables"] is { } v)
        {
            if (v is not JsonObject vo || vo.Count > MaxVariables)
                errors.Add($"{path}.variables: must be an object of at most {MaxVariables} names to text, e.g. {{\"product\": \"{{{{context.event.name}}}}\"}}");
            else
                foreach (var (k, value) in vo)
                {
                    var vp = $"{path}.variables.{k}";
                    if (!ConditionJson.IsName(k, 64)) errors.Add($"{vp}: a variable name is 1-64 characters");
                    if (!ConditionJson.TryString(value, out var text) || text.Length > MaxTextLength) { errors.Add($"{vp}: must be text of at most {MaxTextLength} characters"); continue; }
                    CheckPlaceholders(text, vp, errors);
                    variables[k] = text;
                }
        }
        var next = Branch(o, "next", path, errors);
        return channel is null || template is null || next is null ? null : new SendNode(id, channel, template, variables, next);
    }

    private static TagNode? Tag(string id, JsonObject o, string path, bool add, ISegmentCatalog catalog, List<string> errors)
    {
        var tag = Text(o, "tag", path, errors, required: true, ConditionJson.MaxNameLength);
        // As everywhere tags are used: a valid name, in the tenant's taxonomy.
        if (tag is not null && !TagDefinition.IsValidName(tag))
        {
            errors.Add($"{path}.tag: not a valid tag name (1-{TagDefinition.MaxNameLength} characters, no control characters, '/', '\\', '#' or '?', no surrounding spaces)");
            tag = null;
        }
        else if (tag is not null && !catalog.TagExists(tag))
        {
            errors.Add($"{path}.tag: no tag '{tag}' in the taxonomy");
            tag = null;
        }
        var next = Branch(o, "next", path, errors);
        return tag is null || next is null ? null : new TagNode(id, tag, add, next);
    }

    private static SetAttributeNode? SetAttribute(string id, JsonObject o, string path, List<string> errors)
    {
        var attribute = Text(o, "attribute", path, errors, required: true, ConditionJson.MaxNameLength);
        if (!o.ContainsKey("value")) errors.Add($"{path}.value: is required (null clears the attribute)");
        var value = o["value"];
        if (value is JsonObject or JsonArray) errors.Add($"{path}.value: must be text, a number, true/false or null");
        else if (value is JsonValue jv && jv.TryGetValue<string>(out var s))
        {
            if (s.Length > MaxTextLength) errors.Add($"{path}.value: at most {MaxTextLength} characters");
            CheckPlaceholders(s, path + ".value", errors);
        }
        var next = Branch(o, "next", path, errors);
        return attribute is null || next is null ? null : new SetAttributeNode(id, attribute, value?.DeepClone(), next);
    }

    private static WebhookNode? Webhook(string id, JsonObject o, string path, List<string> errors)
    {
        var url = Text(o, "url", path, errors, required: true, MaxTextLength);
        Uri? uri = null;
        if (url is not null && (!Uri.TryCreate(url, UriKind.Absolute, out uri) || uri.Scheme is not ("https" or "http") || !string.IsNullOrEmpty(uri.UserInfo)))
        {
            errors.Add($"{path}.url: must be an absolute http(s) URL without credentials");
            uri = null;
        }
        var body = o["body"];
        if (body is not null)
        {
            if (body.ToJsonString().Length > 16 * 1024) errors.Add($"{path}.body: at most 16 KB");
            foreach (var text in Strings(body)) CheckPlaceholders(text, path + ".body", errors);
        }
        var next = Branch(o, "next", path, errors);
        return uri is null || next is null ? null : new WebhookNode(id, uri, body?.DeepClone(), next);
    }

    private static IEnumerable<string> Strings(JsonNode? node) => node switch
    {
        JsonValue v when v.TryGetValue<string>(out var s) => [s],
        JsonObject o => o.SelectMany(p => Strings(p.Value)),
        JsonArray a => a.SelectMany(Strings),
        _ => [],
    };

    private static void CheckPlaceholders(string text, string path, List<string> errors)
    {
        foreach (var reference in Templates.References(text))
            if (Templates.Problem(reference) is { } problem) errors.Add($"{path}: {problem}");
    }

    /// <summary>
    /// The graph: every branch names a node; every node can be reached from the start; every cycle passes a node
    /// where time passes (a delay or a wait), so no one can spin in it.
    /// </summary>
    private static void CheckGraph(string start, Dictionary<string, JourneyNode> nodes, List<string> errors)
    {
        foreach (var node in nodes.Values)
            foreach (var (branch, target) in node.Exits)
                if (target is not null && !nodes.ContainsKey(target))
                    errors.Add($"nodes.{node.Id}.{(node is SplitNode ? "branches" : branch)}: leads to '{target}', which is not a node");

        var reached = new HashSet<string>(StringComparer.Ordinal);
        var stack = new Stack<string>([start]);
        while (stack.Count > 0)
        {
            var id = stack.Pop();
            if (!reached.Add(id)) continue;
            foreach (var (_, target) in nodes[id].Exits)
                if (target is not null && nodes.ContainsKey(target)) stack.Push(target);
        }
        foreach (var id in nodes.Keys.Where(id => !reached.Contains(id)).Order(StringComparer.Ordinal))
            errors.Add($"nodes.{id}: cannot be reached from start '{start}'");

        // Cycles among nodes where no time passes: depth-first search for a back edge, each cycle reported once.
        var state = new Dictionary<string, int>(StringComparer.Ordinal); // 1 on the path, 2 done
        var path = new List<string>();
        var reported = new HashSet<string>(StringComparer.Ordinal);
        void Visit(string id)
        {
            state[id] = 1;
            path.Add(id);
            foreach (var (_, target) in nodes[id].Exits)
            {
                if (target is null || !nodes.TryGetValue(target, out var next) || next.Pauses) continue;
                if (state.GetValueOrDefault(target) == 1)
                {
                    var cycle = path.Skip(path.IndexOf(target)).Append(target).ToList();
                    if (reported.Add(string.Join(",", cycle.Skip(1).Order(StringComparer.Ordinal))))
                        errors.Add($"nodes.{target}: a cycle with no delay or wait in it ({string.Join(" -> ", cycle)}) would run forever");
                }
                else if (state.GetValueOrDefault(target) == 0) Visit(target);
            }
            path.RemoveAt(path.Count - 1);
            state[id] = 2;
        }
        foreach (var id in nodes.Keys.Order(StringComparer.Ordinal))
            if (!nodes[id].Pauses && state.GetValueOrDefault(id) == 0) Visit(id);
    }

    private static string? Branch(JsonObject o, string key, string path, List<string> errors)
    {
        if (o[key] is null)
        {
            errors.Add($"{path}.{key}: is missing; name the node this branch leads to");
            return null;
        }
        if (!ConditionJson.TryString(o[key], out var target) || !ConditionJson.IsId(target))
        {
            errors.Add($"{path}.{key}: must be a node id");
            return null;
        }
        return target;
    }

    private static TimeSpan? Duration(JsonObject o, string key, string path, List<string> errors, bool required)
    {
        var p = ConditionJson.Path(path, key);
        if (o[key] is null)
        {
            if (required) errors.Add($"{p}: is required, e.g. \"2h\"");
            return null;
        }
        if (!ConditionJson.TryString(o[key], out var text) || !Durations.TryParse(text, out var d) || d <= TimeSpan.Zero || d > Durations.Longest)
        {
            errors.Add($"{p}: must be a duration from 1s to {Durations.Longest.Days}d, such as \"30m\", \"2h\" or \"1d12h\"");
            return null;
        }
        return d;
    }

    private static string? Text(JsonObject o, string key, string path, List<string> errors, bool required, int max)
    {
        var p = ConditionJson.Path(path, key);
        if (o[key] is null)
        {
            if (required) errors.Add($"{p}: is required");
            return null;
        }
        if (!ConditionJson.TryString(o[key], out var text) || text.Trim().Length == 0 || !ConditionJson.IsName(text, max))
        {
            errors.Add($"{p}: must be 1-{max} characters of text without control characters");
            return null;
        }
        return text;
    }

    private static T? Fail<T>(List<string> errors, string message) where T : struct
    {
        errors.Add(message);
        return null;
    }
}
