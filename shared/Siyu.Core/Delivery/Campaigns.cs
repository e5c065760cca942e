using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using Siyu.Core.Identities;

namespace Siyu.Core.Delivery;

/// <summary>A single message a campaign sends: a template and the variables it fills in.</summary>
public sealed record CampaignMessage(string Template, IReadOnlyDictionary<string, string> Variables);

/// <summary>
/// A campaign: who (a segment, or an uploaded list of identities), what (enter a journey, or send one message),
/// when (now, or at <see cref="StartAt"/>), and how many to hold out as a control group.
/// </summary>
public sealed record CampaignDefinition(
    string Name,
    string? Segment,
    IReadOnlyList<string>? Identities,
    string? Journey,
    CampaignMessage? Message,
    JsonObject? Context,
    DateTimeOffset? StartAt,
    int HoldoutPercent);

/// <summary>
/// A campaign's counters, summed over partitions. Every recipient is counted once as targeted and, when settled,
/// once under exactly one outcome; what is not settled yet is <see cref="Pending"/>.
/// </summary>
public sealed class CampaignProgress
{
    public long Targeted { get; set; }
    /// <summary>Entered the campaign's journey.</summary>
    public long Entered { get; set; }
    /// <summary>Already in the journey, and its re-entry policy kept them from entering again.</summary>
    public long AlreadyIn { get; set; }
    /// <summary>Accepted by the provider.</summary>
    public long Sent { get; set; }
    /// <summary>Of those sent, confirmed delivered by a receipt.</summary>
    public long Delivered { get; set; }
    /// <summary>Refused by the provider for good, or failed after every retry.</summary>
    public long Failed { get; set; }
    public long Holdout { get; set; }
    public long Cancelled { get; set; }
    /// <summary>Identities in an uploaded list that no known (or no longer erased) person has.</summary>
    public long NotFound { get; set; }
    /// <summary>Refused by the delivery policy, by reason (no_consent, withdrawn, cap_reached…).</summary>
    public SortedDictionary<string, long> Suppressed { get; set; } = new(StringComparer.Ordinal);
    /// <summary>Of <see cref="Failed"/>, by the provider's or our reason (wechat_43004, outcome_unknown, gave up…).</summary>
    public SortedDictionary<string, long> FailedBy { get; set; } = new(StringComparer.Ordinal);
    /// <summary>Times a send was held for later, by reason (quiet_hours, a cap's window, a provider's retry): not an outcome, each hold counted.</summary>
    public SortedDictionary<string, long> DeferredBy { get; set; } = new(StringComparer.Ordinal);

    public long SuppressedTotal => Suppressed.Values.Sum();
    public long Settled => Entered + AlreadyIn + Sent + Failed + Holdout + Cancelled + SuppressedTotal;
    public long Pending => Math.Max(0, Targeted - Settled);

    public void Add(CampaignProgress other)
    {
        Targeted += other.Targeted;
        Entered += other.Entered;
        AlreadyIn += other.AlreadyIn;
        Sent += other.Sent;
        Delivered += other.Delivered;
        Failed += other.Failed;
        Holdout += other.Holdout;
        Cancelled += other.Cancelled;
        NotFound += other.NotFound;
        foreach (var (reason, n) in other.Suppressed) Suppressed[reason] = Suppressed.GetValueOrDefault(reason) + n;
        foreach (var (reason, n) in other.FailedBy) FailedBy[reason] = FailedBy.GetValueOrDefault(reason) + n;
        foreach (var (reason, n) in other.DeferredBy) DeferredBy[reason] = DeferredBy.GetValueOrDefault(reason) + n;
    }

    /// <summary>A failure for <paramref name="reason"/>: counted as failed and under its reason.</summary>
    public static CampaignProgress DeferredFor(string reason) => new() { DeferredBy = new(StringComparer.Ordinal) { [reason] = 1 } };

    public static CampaignProgress FailedFor(string reason) => new() { Failed = 1, FailedBy = new(StringComparer.Ordinal) { [reason] = 1 } };

    /// <summary>No counter moves (field by field: a receipt that turns a sent message into a failed one moves two that cancel out in <see cref="Settled"/>).</summary>
    public bool IsEmpty => Targeted == 0 && Entered == 0 && AlreadyIn == 0 && Sent == 0 && Delivered == 0 && Failed == 0 && Holdout == 0 && Cancelled == 0
                           && NotFound == 0 && Suppressed.Values.All(n => n == 0) && FailedBy.Values.All(n => n == 0) && DeferredBy.Values.All(n => n == 0);
}

/// <summary>Reading campaigns and the rules they follow. Pure.</summary>
public static class CampaignRules
{
    public const int MaxIdentities = 100_000;
    public const int MaxNameLength = 200;
    public static readonly TimeSpan MaxScheduleAhead = TimeSpan.FromDays(90);

    private static readonly string[] Known = ["name", "audience", "journey", "message", "context", "startAt", "holdoutPercent"];

    /// <summary>
    /// Reads a campaign's document; every problem is added to <paramref name="errors"/> as (field, message). It takes no
    /// clock on purpose: a stored campaign is read back with this same method, and what was valid when it was accepted
    /// must read back whenever it is read. What depends on the time of the request is <see cref="CheckSchedule"/>.
    /// </summary>
    public static CampaignDefinition? Parse(JsonObject? doc, List<(string Field, string Message)> errors)
    {
        if (doc is null) { errors.Add(("", "a campaign is a JSON object")); return null; }
        foreach (var (k, _) in doc)
            if (!Known.Contains(k)) errors.Add((k, $"unknown field '{k}'; a campaign has {string.Join(", ", Known)}"));

        var name = Text(doc["name"]);
        if (string.IsNullOrWhiteSpace(name) || name.Length > MaxNameLength || name.Any(char.IsControl))
            errors.Add(("name", $"name is 1-{MaxNameLength} characters"));

        string? segment = null;
        List<string>? identities = null;
        if (doc["audience"] is JsonObject audience)
        {
            foreach (var (k, _) in audience)
                if (k is not ("segment" or "identities")) errors.Add(($"audience.{k}", "an audience is a segment or a list of identities"));
            segment = Text(audience["segment"]);
            if (audience["segment"] is not null && string.IsNullOrWhiteSpace(segment)) errors.Add(("audience.segment", "must be a segment id"));
            if (audience["identities"] is JsonArray list)
            {
                identities = new List<string>(list.Count);
                if (list.Count is 0 or > MaxIdentities) errors.Add(("audience.identities", $"1 to {MaxIdentities:N0} identities"));
                for (var i = 0; i < list.Count && errors.Count < 50; i++)
                {
                    var key = Text(list[i]) is { } t ? IdentityRules.NormaliseKey(t) : null;
                    if (key is null) errors.Add(($"audience.identities[{i}]", $"'{list[i]?.ToJsonString()}' is not an identity such as phone:13800138000"));
                    else identities.Add(key);
                }
                identities = identities.Distinct(StringComparer.Ordinal).ToList();
            }
            else if (audience["identities"] is not null) errors.Add(("audience.identities", "must be a list of identities"));
            if ((segment is null) == (identities is null)) errors.Add(("audience", "name a segment or give identities (one of the two)"));
        }
        else errors.Add(("audience", "audience is required: {\"segment\": \"…\"} or {\"identities\": [\"phone:…\", …]}"));

        var journey = Text(doc["journey"]);
        if (doc["journey"] is not null && string.IsNullOrWhiteSpace(journey)) errors.Add(("journey", "must be a journey id"));
        CampaignMessage? message = null;
        if (doc["message"] is JsonObject m)
        {
            foreach (var (k, _) in m)
                if (k is not ("template" or "variables")) errors.Add(($"message.{k}", "a message has template and variables"));
            var template = Text(m["template"]);
            if (string.IsNullOrWhiteSpace(template)) errors.Add(("message.template", "template is required"));
            var variables = new Dictionary<string, string>(StringComparer.Ordinal);
            if (m["variables"] is JsonObject vs)
            {
                foreach (var (k, v) in vs)
                {
                    if (Text(v) is { } s) variables[k] = s;
                    else errors.Add(($"message.variables.{k}", "must be text (placeholders such as {{attributes.nickname}} are filled in per person)"));
                }
            }
            else if (m["variables"] is not null) errors.Add(("message.variables", "must be an object"));
            if (template is not null) message = new CampaignMessage(template, variables);
        }
        else if (doc["message"] is not null) errors.Add(("message", "must be an object: {\"template\": \"…\", \"variables\": {…}}"));
        if ((journey is null) == (doc["message"] is null)) errors.Add(("journey", "a campaign enters a journey or sends a message (one of the two)"));

        JsonObject? context = null;
        if (doc["context"] is JsonObject c) context = (JsonObject)c.DeepClone();
        else if (doc["context"] is not null) errors.Add(("context", "must be an object"));
        if (context is not null && context.ToJsonString().Length > 16 * 1024) errors.Add(("context", "at most 16 KiB"));

        DateTimeOffset? startAt = null;
        if (doc["startAt"] is not null)
        {
            if (Text(doc["startAt"]) is { } t && DateTimeOffset.TryParse(t, System.Globalization.CultureInfo.InvariantCulture, System.Globalization.DateTimeStyles.None, out var at)
                && t.Length >= 19 && (t.EndsWith('Z') || t[^6] is '+' or '-'))
                startAt = at;
            else errors.Add(("startAt", "an ISO 8601 time with its offset, e.g. 2026-11-23T10:00:00+08:00"));
        }

        var holdout = 0;
        if (doc["holdoutPercent"] is { } h)
        {
            if (h is JsonValue hv && hv.TryGetValue<int>(out var p) && p is >= 0 and <= 50) holdout = p;
            else errors.Add(("holdoutPercent", "a whole number from 0 to 50"));
        }

        if (errors.Count > 0) return null;
        return new CampaignDefinition(name!.Trim(), segment, identities, journey, message, context, startAt, holdout);
    }

    /// <summary>The checks that depend on when a campaign is asked for: made once, when it is accepted, never on read-back.</summary>
    public static void CheckSchedule(CampaignDefinition definition, DateTimeOffset now, List<(string Field, string Message)> errors)
    {
        if (definition.StartAt is { } at && at > now + MaxScheduleAhead)
            errors.Add(("startAt", $"at most {MaxScheduleAhead.TotalDays:0} days ahead"));
    }

    /// <summary>Whether a person is in the campaign's control group: a stable hash of campaign and person, so a replay agrees.</summary>
    public static bool IsHeldOut(string campaignId, string profileId, int percent)
    {
        if (percent <= 0) return false;
        var hash = SHA256.HashData(Encoding.UTF8.GetBytes($"{campaignId}/{profileId}"));
        return BitConverter.ToUInt32(hash, 0) % 10_000 < percent * 100;
    }

    /// <summary>The id of a campaign started with an idempotency key: the same key in the same tenant is the same campaign.</summary>
    public static string IdFor(string tenantId, string idempotencyKey)
    {
        var hash = SHA256.HashData(Encoding.UTF8.GetBytes($"{tenantId}\n{idempotencyKey}"));
        return "c" + Convert.ToHexStringLower(hash)[..19];
    }

    private static string? Text(JsonNode? node) => node is JsonValue v && v.TryGetValue<string>(out var s) ? s : null;
}
