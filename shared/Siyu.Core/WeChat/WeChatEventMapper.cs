using System.Globalization;
using System.Text.Json.Nodes;
using Siyu.Core.Events;
using Siyu.Core.Identities;

namespace Siyu.Core.WeChat;

/// <summary>
/// Turns an opened WeChat push into the <see cref="IncomingEvent"/> every source becomes: a Track event named
/// <c>wechat.*</c>, identified by the sender's openid (and unionid when WeChat includes one).
/// Nothing is dropped: a message or event type not known here becomes <c>wechat.raw</c> with every field.
/// </summary>
public static class WeChatEventMapper
{
    // Valid Unix seconds for DateTimeOffset (years 0001..9999).
    private const long MinUnixSeconds = -62_135_596_800;
    private const long MaxUnixSeconds = 253_402_300_799;

    /// <summary>Maps a push. Throws <see cref="ArgumentException"/> when it cannot name a customer (no or invalid FromUserName).</summary>
    public static IncomingEvent Map(WeChatMessage msg, string appId, DateTimeOffset receivedAt)
    {
        var result = TryMap(msg, appId, receivedAt);
        return result.IsOk ? result.Value : throw new ArgumentException(result.Error.Detail, nameof(msg));
    }

    /// <summary>
    /// Maps a push, or fails with <see cref="WeChatErrorKind.MissingField"/> (no FromUserName),
    /// <see cref="WeChatErrorKind.Malformed"/> (FromUserName is not a usable openid),
    /// <see cref="WeChatErrorKind.FieldTooLong"/> (a field breaks its bound in <see cref="WeChatLimits"/>) or
    /// <see cref="WeChatErrorKind.TooLarge"/> (the event's properties are over <see cref="WeChatLimits.MaxEventBytes"/>).
    /// An invalid UnionId is left out, not fatal. What this maps can be stored: the checks come first, so that a push
    /// is never acknowledged and then refused by storage.
    /// </summary>
    /// <remarks>
    /// Given the app's <paramref name="kind"/>, properties carry <c>appKind</c> ("officialAccount" or "miniProgram").
    /// MessageId, the dedupe key for WeChat's retries: <c>wx:{appId}:msg:{MsgId}</c> for messages;
    /// <c>wx:{appId}:evt:{FromUserName}:{CreateTime}:{Event}</c> for events (and for messages without a MsgId, with MsgType
    /// in place of Event). Without CreateTime the receipt second stands in: retries then may not dedupe, but distinct
    /// events are never merged.
    /// </remarks>
    public static WeChatResult<IncomingEvent> TryMap(WeChatMessage msg, string appId, DateTimeOffset receivedAt, WeChatAppKind? kind = null)
    {
        ArgumentNullException.ThrowIfNull(msg);
        ArgumentException.ThrowIfNullOrWhiteSpace(appId);
        // A bad appId is the caller's mistake, not the push's: say so rather than blame FromUserName.
        if (!IdentityRules.TryCreate(IdentityType.OpenId, "probe", appId, out _, out var appIdError))
            throw new ArgumentException(appIdError, nameof(appId));

        if (WeChatLimits.Check(msg) is { } unbounded) return WeChatResult<IncomingEvent>.Fail(unbounded);

        var from = msg.FromUserName;
        if (string.IsNullOrWhiteSpace(from))
            return WeChatResult<IncomingEvent>.Fail(WeChatErrorKind.MissingField, "FromUserName (the sender's openid) is missing");
        if (!IdentityRules.TryCreate(IdentityType.OpenId, from, appId, out var openId, out var error))
            return WeChatResult<IncomingEvent>.Fail(WeChatErrorKind.Malformed, $"FromUserName is not a usable openid: {error}");

        var identities = new List<Identity> { openId };
        var unionId = msg.Get("UnionId"); // case-insensitive: also "unionid"
        // It keys an identity row too: one that would need escaping there is as unusable as one too long.
        if (!string.IsNullOrWhiteSpace(unionId) && IdentityRules.TryCreate(IdentityType.UnionId, unionId, null, out var union, out _)
            && WeChatLimits.IsKeySafe(union.Value))
            identities.Add(union);

        var createTime = msg.CreateTime is { } t and >= MinUnixSeconds and <= MaxUnixSeconds ? t : (long?)null;
        var (name, properties) = Describe(msg, appId);
        // Which kind of app it came from decides the consent channel of subscribe-message pop-ups.
        if (kind is { } k) properties["appKind"] = k == WeChatAppKind.MiniProgram ? "miniProgram" : "officialAccount";
        // Each field keeps its bound, but a raw event carries them all: the whole must fit an event row too.
        var size = EventJson.Utf8Bytes(properties);
        if (size > WeChatLimits.MaxEventBytes)
            return WeChatResult<IncomingEvent>.Fail(WeChatErrorKind.TooLarge,
                $"the push makes an event of {size} bytes; at most {WeChatLimits.MaxEventBytes} are allowed");

        return WeChatResult<IncomingEvent>.Ok(new IncomingEvent
        {
            MessageId = DedupeKey(msg, appId, openId.Value, createTime ?? receivedAt.ToUnixTimeSeconds()),
            Type = EventType.Track,
            Name = name,
            Identities = identities,
            Properties = properties,
            Timestamp = createTime is { } seconds ? DateTimeOffset.FromUnixTimeSeconds(seconds) : receivedAt,
            ReceivedAt = receivedAt,
            Source = $"wechat:{appId}",
        });
    }

    private static string DedupeKey(WeChatMessage msg, string appId, string from, long createTime)
    {
        var isEvent = Is(msg.MsgType, "event");
        var msgId = msg.MsgId?.Trim();
        if (!isEvent && !string.IsNullOrEmpty(msgId)) return $"wx:{appId}:msg:{msgId}";
        var what = (isEvent ? msg.Event : msg.MsgType)?.Trim(); // trimmed, as checked by WeChatLimits: no escaping in the key
        return $"wx:{appId}:evt:{from}:{createTime.ToString(CultureInfo.InvariantCulture)}:{what}";
    }

    private static (string Name, JsonObject Properties) Describe(WeChatMessage msg, string appId)
    {
        var p = new JsonObject { ["appId"] = appId, ["toUserName"] = msg.ToUserName };
        var msgType = msg.MsgType?.Trim().ToLowerInvariant();

        if (msgType == "event")
        {
            switch (msg.Event?.Trim().ToLowerInvariant())
            {
                case "subscribe":
                    // Following through a parametric QR code: EventKey is "qrscene_" + the scene value.
                    var key = msg.Get("EventKey");
                    if (key is not null && key.StartsWith("qrscene_", StringComparison.Ordinal)) p["scene"] = key["qrscene_".Length..];
                    else if (!string.IsNullOrEmpty(key)) p["eventKey"] = key;
                    Put(p, "ticket", msg, "Ticket");
                    return ("wechat.subscribe", p);
                case "unsubscribe":
                    return ("wechat.unsubscribe", p);
                case "scan":
                    Put(p, "scene", msg, "EventKey");
                    Put(p, "ticket", msg, "Ticket");
                    return ("wechat.scan", p);
                case "click":
                    Put(p, "eventKey", msg, "EventKey");
                    return ("wechat.menu_click", p);
                case "view":
                    Put(p, "url", msg, "EventKey");
                    Put(p, "menuId", msg, "MenuId");
                    return ("wechat.menu_view", p);
                case "location":
                    PutNumber(p, "latitude", msg, "Latitude");
                    PutNumber(p, "longitude", msg, "Longitude");
                    PutNumber(p, "precision", msg, "Precision");
                    return ("wechat.location", p);
                case "templatesendjobfinish":
                    Put(p, "msgId", msg, "MsgId");
                    Put(p, "status", msg, "Status");
                    return ("wechat.template_send_finished", p);
                case "subscribe_msg_popup_event":
                    p["items"] = SubscribeItems(msg);
                    return ("wechat.subscribe_msg_popup", p);
                case "subscribe_msg_change_event":
                    p["items"] = SubscribeItems(msg);
                    return ("wechat.subscribe_msg_change", p);
                case "subscribe_msg_sent_event":
                    p["items"] = SubscribeItems(msg);
                    return ("wechat.subscribe_msg_sent", p);
            }
            return Raw(msg, p);
        }

        switch (msgType)
        {
            case "text":
                Put(p, "content", msg, "Content");
                break;
            case "image":
                Put(p, "picUrl", msg, "PicUrl");
                Put(p, "mediaId", msg, "MediaId");
                break;
            case "voice":
                Put(p, "mediaId", msg, "MediaId");
                Put(p, "format", msg, "Format");
                Put(p, "recognition", msg, "Recognition");
                break;
            case "video":
            case "shortvideo":
                Put(p, "mediaId", msg, "MediaId");
                Put(p, "thumbMediaId", msg, "ThumbMediaId");
                break;
            case "location":
                PutNumber(p, "latitude", msg, "Location_X");
                PutNumber(p, "longitude", msg, "Location_Y");
                PutNumber(p, "scale", msg, "Scale");
                Put(p, "label", msg, "Label");
                break;
            case "link":
                Put(p, "title", msg, "Title");
                Put(p, "description", msg, "Description");
                Put(p, "url", msg, "Url");
                break;
            default:
                return Raw(msg, p);
        }
        Put(p, "msgId", msg, "MsgId");
        return ($"wechat.message.{msgType}", p);
    }

    private static (string, JsonObject) Raw(WeChatMessage msg, JsonObject p)
    {
        p["msgType"] = msg.MsgType;
        p["event"] = msg.Event;
        p["fields"] = ToJson(msg.Fields);
        if (msg.Items.Count > 0) p["items"] = new JsonArray(msg.Items.Select(i => (JsonNode)ToJson(i)).ToArray());
        return ("wechat.raw", p);
    }

    private static readonly (string Field, string Property)[] ItemFields =
    [
        ("TemplateId", "templateId"),
        ("SubscribeStatusString", "subscribeStatus"),
        ("PopupScene", "popupScene"),
        ("MsgId", "msgId"), // WeChat writes MsgID; item lookups are case-insensitive
        ("ErrorCode", "errorCode"),
        ("ErrorStatus", "errorStatus"),
    ];

    private static JsonArray SubscribeItems(WeChatMessage msg)
    {
        var array = new JsonArray();
        foreach (var item in msg.Items)
        {
            var o = new JsonObject();
            foreach (var (field, property) in ItemFields)
                if (item.TryGetValue(field, out var value)) o[property] = value;
            array.Add(o);
        }
        return array;
    }

    private static JsonObject ToJson(IReadOnlyDictionary<string, string> fields)
    {
        var o = new JsonObject();
        foreach (var (name, value) in fields) o[name] = value;
        return o;
    }

    private static void Put(JsonObject p, string property, WeChatMessage msg, string field)
    {
        if (msg.Get(field) is { } value) p[property] = value;
    }

    // Coordinates as numbers, so they can be compared and ranged. decimal keeps WeChat's digits exactly;
    // a value that is not a number is left out rather than stored with a different type.
    private static void PutNumber(JsonObject p, string property, WeChatMessage msg, string field)
    {
        if (decimal.TryParse(msg.Get(field)?.Trim(), NumberStyles.Float, CultureInfo.InvariantCulture, out var number))
            p[property] = number;
    }

    private static bool Is(string? value, string expected) =>
        string.Equals(value?.Trim(), expected, StringComparison.OrdinalIgnoreCase);
}
