using System.Text.Json.Nodes;
using Siyu.Core.Conditions;
using Siyu.Core.Events;
using Siyu.Core.Privacy;
using Siyu.Core.Profiles;

namespace Siyu.Core.Tags;

/// <summary>
/// Puts <see cref="Tag"/> on a person when they do <see cref="Event"/>: every time it happens (matching
/// <see cref="Where"/>), or once they have done it <see cref="AtLeast"/> times within <see cref="WithinDays"/> days.
/// </summary>
public sealed record TagRule(string Id, string Tag, string Event, PropertyFilter? Where, int? AtLeast, int? WithinDays);

/// <summary>A tag a rule put on a person.</summary>
public readonly record struct TagAdded(string Tag, string RuleId);

/// <summary>
/// Parses tag rules, and applies them to a person as their events arrive. JSON:
/// <c>{"tag": "milk-buyer", "event": "order_paid", "where": [...]}</c> or
/// <c>{"tag": "loyal", "event": "order_paid", "atLeast": 3, "withinDays": 30}</c>.
/// </summary>
public static class TagRules
{
    /// <summary>Far above anything a person does in the longest window; low enough to catch a typo.</summary>
    public const int MaxAtLeast = 10_000;

    private static readonly string[] Keys = ["tag", "event", "where", "atLeast", "withinDays"];

    public static bool IsValidId(string? id) => ConditionJson.IsId(id);

    /// <summary>
    /// Parses and validates a rule; returns null and fills <paramref name="errors"/> with every problem when it is
    /// invalid. <paramref name="tagExists"/> answers from the tenant's taxonomy. Never throws on bad input.
    /// </summary>
    public static TagRule? Parse(string ruleId, JsonNode? rule, Func<string, bool> tagExists, List<string> errors)
    {
        var before = errors.Count;
        if (!IsValidId(ruleId)) errors.Add($"id: {ConditionJson.IdRule}");
        if (ConditionJson.HasDuplicateKeys(rule))
        {
            errors.Add("rule: names the same key twice in one object");
            return null;
        }
        if (rule is not JsonObject o)
        {
            errors.Add($"rule: must be an object like {{\"tag\": \"milk-buyer\", \"event\": \"order_paid\"}}, not {ConditionJson.KindOf(rule)}");
            return null;
        }
        ConditionJson.RejectUnknownKeys(o, "rule", Keys, "a tag rule", errors);

        string? tag = null;
        if (!ConditionJson.TryString(o["tag"], out var tagText)) errors.Add($"tag: is required: a tag name from the taxonomy");
        else if (!TagDefinition.IsValidName(tagText))
            errors.Add($"tag: not a valid tag name (1-{TagDefinition.MaxNameLength} characters, no control characters, '/', '\\', '#' or '?', no surrounding spaces)");
        else if (!tagExists(tagText)) errors.Add($"tag: no tag '{tagText}' in the taxonomy");
        else tag = tagText;

        if (!ConditionJson.TryString(o["event"], out var eventName)) errors.Add("event: is required: the event name that adds the tag");
        else if (!ConditionJson.IsName(eventName, ConditionJson.MaxEventNameLength))
            errors.Add($"event: must be 1-{ConditionJson.MaxEventNameLength} characters without control characters");

        PropertyFilter? where = null;
        var hasWhere = o.TryGetPropertyValue("where", out var whereNode);
        if (hasWhere) where = PropertyFilter.Parse(whereNode, "where", errors);

        int? atLeast = null;
        var hasAtLeast = o.TryGetPropertyValue("atLeast", out var atLeastNode);
        if (hasAtLeast)
        {
            if (!ConditionJson.TryWhole(atLeastNode, out var n) || n < 1 || n > MaxAtLeast) errors.Add($"atLeast: must be a whole number from 1 to {MaxAtLeast}");
            else atLeast = (int)n;
        }
        var withinDays = ConditionJson.WithinDays(o, "", errors);
        var hasWindow = o.ContainsKey("withinDays");
        if (hasAtLeast && !hasWindow) errors.Add($"withinDays: is required with atLeast (1 to {ActivityWindow.MaxDays} days)");
        if (hasWindow && !hasAtLeast) errors.Add("withinDays: only applies with atLeast; a rule without atLeast tags on each matching event");
        // Per-day counts keep no properties, so "3 times within 30 days" cannot know which of those events matched.
        if (hasWhere && hasAtLeast)
            errors.Add("where: cannot be combined with atLeast: counts over days do not keep event properties; count a more specific event instead, or drop atLeast to tag on each matching event");

        return errors.Count > before ? null : new TagRule(ruleId, tag!, eventName!, where, atLeast, withinDays);
    }

    /// <summary>
    /// Adds the tags <paramref name="rules"/> give for event <paramref name="e"/>. Call after the event has been
    /// folded into <paramref name="profile"/>, so counts include it. A tag the person already carries is left as it
    /// is (its first reason stands); a sensitive tag is added only under its purpose's consent.
    /// </summary>
    public static IReadOnlyList<TagAdded> Apply(ProfileState profile, IncomingEvent e, IReadOnlyCollection<TagRule> rules, DataDefinitions definitions, DateTimeOffset now)
    {
        List<TagAdded>? added = null;
        foreach (var rule in rules)
        {
            if (!string.Equals(rule.Event, e.Name, StringComparison.Ordinal) || profile.Tags.ContainsKey(rule.Tag)) continue;
            if (rule.Where is { } where && !where.Matches(e.Properties, now)) continue;
            if (rule.AtLeast is { } atLeast && ActivityWindow.Count(profile, rule.Event, rule.WithinDays ?? ActivityWindow.MaxDays, now) < atLeast) continue;
            if (!definitions.MayTag(rule.Tag, profile.Consent)) continue;
            profile.Tags[rule.Tag] = new TagMark(now, "rule:" + rule.Id);
            (added ??= new()).Add(new TagAdded(rule.Tag, rule.Id));
        }
        return added ?? (IReadOnlyList<TagAdded>)[];
    }
}
