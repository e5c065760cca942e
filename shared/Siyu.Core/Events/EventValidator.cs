using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Siyu.Core.Identities;

namespace Siyu.Core.Events;

/// <summary>
/// Why one item of a batch was refused: an error of the API's one shape (<see cref="Path"/>, <see cref="Code"/>,
/// <see cref="Message"/>) with the item's index and messageId. <see cref="Code"/> is stable; the message is for people.
/// </summary>
public sealed record ItemError(int Index, string? MessageId, string Code, string Message)
{
    /// <summary>Where in the body: the item (<c>[3]</c>) or its field (<c>[3].timestamp</c>); the endpoint puts the batch's own field in front.</summary>
    public string Path { get; init; } = Validation.FieldError.Item("", Index);

    /// <summary>The error about <paramref name="field"/> of item <paramref name="index"/> (empty: the item itself).</summary>
    public static ItemError At(int index, string? messageId, string field, string code, string message) =>
        new(index, messageId, code, message) { Path = field.Length == 0 ? Validation.FieldError.Item("", index) : Validation.FieldError.Item("", index) + "." + field };
}

/// <summary>
/// Turns one JSON item of <c>POST /api/events</c> into an <see cref="IncomingEvent"/>, or says precisely why not.
/// Each item is judged on its own, so one bad item never rejects its neighbours.
/// </summary>
public sealed partial class EventValidator(TimeSpan maxFutureSkew)
{
    public const int MaxMessageIdLength = 128;
    public const int MaxEventNameLength = 100;
    /// <summary>
    /// Properties or traits of one event, in UTF-8 bytes as stored. Keeps every stored row far below Table Storage's
    /// 32K-character property limit and every event well inside one 64 KiB queue message.
    /// </summary>
    public const int MaxPayloadBytes = 16 * 1024;
    public const int MaxTraits = 100;
    /// <summary>No event or decision of ours happened before this.</summary>
    public static readonly DateTimeOffset Earliest = new(2000, 1, 1, 0, 0, 0, TimeSpan.Zero);

    public bool TryValidate(JsonElement item, int index, DateTimeOffset now, out IncomingEvent? evt, out ItemError? error)
    {
        evt = null;
        error = null;
        string? messageId = null;
        ItemError Fail(string code, string message, string field = "") => ItemError.At(index, messageId, field, code, message);

        if (item.ValueKind != JsonValueKind.Object) { error = Fail("invalid_item", "each item must be a JSON object"); return false; }
        if (EventJson.HasDuplicateNames(item)) { error = Fail("duplicate_property", "the item names the same property twice in one object"); return false; }

        messageId = GetString(item, "messageId");
        if (string.IsNullOrWhiteSpace(messageId)) { error = Fail("missing_message_id", "messageId is required (it makes retries safe)", "messageId"); return false; }
        if (messageId.Length > MaxMessageIdLength || messageId.Any(char.IsControl))
        { error = Fail("invalid_message_id", $"messageId must be 1-{MaxMessageIdLength} characters without control characters", "messageId"); return false; }

        var typeText = GetString(item, "type");
        EventType type;
        switch (typeText)
        {
            case "track": type = EventType.Track; break;
            case "identify": type = EventType.Identify; break;
            case "order": type = EventType.Order; break;
            case "consent": type = EventType.Consent; break;
            case null: error = Fail("missing_type", "type is required: track, identify, order or consent", "type"); return false;
            default: error = Fail("unknown_type", $"unknown event type '{typeText}': expected track, identify, order or consent", "type"); return false;
        }

        var name = type switch
        {
            EventType.Identify => "identify",
            EventType.Order => GetString(item, "event") ?? "order",
            EventType.Consent => Consent.ConsentFacts.EventName,
            _ => GetString(item, "event"),
        };
        if (string.IsNullOrWhiteSpace(name)) { error = Fail("missing_event", $"a {typeText} event needs an event name", "event"); return false; }
        if (name.Length > MaxEventNameLength || name.Any(char.IsControl))
        { error = Fail("invalid_event", $"event name must be 1-{MaxEventNameLength} characters without control characters", "event"); return false; }

        if (!TryIdentities(item, out var identities, out var idError)) { error = Fail(identities.Count == 0 && idError is null ? "missing_identity" : "invalid_identity", idError ?? "at least one identity is required: anonymousId, userId, memberId, phone, unionid or openid (with appId)", "identities"); return false; }

        var timestamp = now;
        var hasTimestamp = item.TryGetProperty("timestamp", out var ts) && ts.ValueKind != JsonValueKind.Null;
        if (type == EventType.Consent && !hasTimestamp)
        { error = Fail("missing_timestamp", "a consent event needs its timestamp: when the person decided", "timestamp"); return false; }
        if (hasTimestamp)
        {
            if (ts.ValueKind != JsonValueKind.String || !TryParseTime(ts.GetString(), out timestamp))
            { error = Fail("invalid_timestamp", "timestamp must be an ISO 8601 date-time", "timestamp"); return false; }
            if (timestamp > now + maxFutureSkew)
            { error = Fail("timestamp_in_future", $"timestamp is more than {maxFutureSkew.TotalMinutes:0} minutes in the future", "timestamp"); return false; }
            if (timestamp < Earliest) { error = Fail("invalid_timestamp", "timestamp is before the year 2000", "timestamp"); return false; }
        }

        if (!TryObject(item, "properties", out var properties, out var propError)) { error = Fail("invalid_properties", propError!, "properties"); return false; }
        if (!TryObject(item, "traits", out var traits, out var traitError)) { error = Fail("invalid_traits", traitError!, "traits"); return false; }
        if (type == EventType.Identify)
        {
            if (traits is null || traits.Count == 0) { error = Fail("missing_traits", "an identify event needs traits", "traits"); return false; }
            if (traits.Count > MaxTraits) { error = Fail("invalid_traits", $"at most {MaxTraits} traits per event", "traits"); return false; }
            var badKey = traits.Select(t => t.Key).FirstOrDefault(k => k.Length is 0 or > 100 || k.Any(char.IsControl));
            if (badKey is not null) { error = Fail("invalid_traits", $"trait name '{badKey}' must be 1-100 characters without control characters", "traits"); return false; }
        }
        if (type == EventType.Order && !OrderFacts.TryRead(properties, out _, out var orderError))
        { error = Fail("invalid_order", orderError!, "properties"); return false; }
        if (type == EventType.Consent && !Consent.ConsentRules.TryRead(properties, out _, out var consentError))
        { error = Fail(consentError.Code, consentError.Message, Consent.ConsentRules.FieldOf(consentError.Code) is { Length: > 0 } f ? "properties." + f : "properties"); return false; }

        evt = new IncomingEvent
        {
            MessageId = messageId,
            Type = type,
            Name = name,
            Identities = identities,
            Properties = properties,
            Traits = type == EventType.Identify ? traits : null,
            Timestamp = timestamp.ToUniversalTime(),
            ReceivedAt = now,
            Source = "api",
        };
        return true;
    }

    /// <summary>Reads the <c>identities</c> object of an item: false with a null error when there is none.</summary>
    public static bool TryIdentities(JsonElement item, out List<Identity> identities, out string? error)
    {
        identities = new List<Identity>();
        error = null;
        if (!item.TryGetProperty("identities", out var ids) || ids.ValueKind == JsonValueKind.Null) return false;
        if (ids.ValueKind != JsonValueKind.Object) { error = "identities must be an object, e.g. {\"phone\": \"13800138000\"}"; return false; }

        var appId = GetString(ids, "appId");
        foreach (var prop in ids.EnumerateObject())
        {
            if (prop.NameEquals("appId")) continue;
            if (!IdentityRules.TryParseType(prop.Name, out var type))
            { error = $"unknown identity '{prop.Name}': expected anonymousId, userId, memberId, phone, unionid or openid"; return false; }
            if (prop.Value.ValueKind != JsonValueKind.String) { error = $"{prop.Name} must be a string"; return false; }
            if (!IdentityRules.TryCreate(type, prop.Value.GetString(), appId, out var identity, out error)) return false;
            if (!identities.Contains(identity)) identities.Add(identity);
        }
        if (appId is not null && !identities.Any(i => i.Type == IdentityType.OpenId))
        { error = "appId is only meaningful with an openid"; return false; }
        return identities.Count > 0;
    }

    private static bool TryObject(JsonElement item, string name, out JsonObject? value, out string? error)
    {
        value = null;
        error = null;
        if (!item.TryGetProperty(name, out var el) || el.ValueKind == JsonValueKind.Null) return true;
        if (el.ValueKind != JsonValueKind.Object) { error = $"{name} must be a JSON object"; return false; }
        value = JsonNode.Parse(el.GetRawText())!.AsObject();
        if (EventJson.Utf8Bytes(value) > MaxPayloadBytes) { error = $"{name} is larger than {MaxPayloadBytes / 1024} KiB"; value = null; return false; }
        return true;
    }

    /// <summary>An ISO 8601 date-time (UTC when it has no offset), and nothing looser.</summary>
    public static bool TryParseTime(string? text, out DateTimeOffset at)
    {
        at = default;
        return text is not null && IsoDateTime().IsMatch(text) &&
               DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out at);
    }

    private static string? GetString(JsonElement obj, string name) =>
        obj.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;

    [System.Text.RegularExpressions.GeneratedRegex(@"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,7})?)?(Z|[+-]\d{2}:\d{2})?$")]
    private static partial System.Text.RegularExpressions.Regex IsoDateTime();
}
