using Siyu.Core.Events;
using Siyu.Core.Identities;
using Siyu.Core.Storage;

namespace Siyu.Core.WeChat;

/// <summary>
/// Bounds on what a push may carry, checked before it is acknowledged. WeChat never sends again a push it was told
/// succeeded, so whatever is answered "success" must be storable: a push over a bound is refused (400) instead.
/// Real pushes are far inside them (ids of a few dozen characters, texts of a few hundred).
/// </summary>
public static class WeChatLimits
{
    /// <summary>Any field without a tighter bound below: texts, URLs, event keys, tickets, the fields of list items.</summary>
    public const int MaxFieldLength = 4_096;
    /// <summary>Field names, nested ones included (<c>ScanCodeInfo.ScanType</c>).</summary>
    public const int MaxFieldNameLength = 128;
    /// <summary>The <c>nonce</c> of the query string: it keys the replay guard's row. WeChat's are about ten digits.</summary>
    public const int MaxNonceLength = 64;
    /// <summary>The event a push becomes, as stored: the same bound as an API event's properties.</summary>
    public const int MaxEventBytes = EventValidator.MaxPayloadBytes;

    // These make the dedupe key and the openid's identity key, so besides their bound they must need no escaping
    // in a table key (escaping makes a character five): then every key stays far inside Table Storage's 512.
    private static readonly string[] KeyFields = ["FromUserName", "MsgType", "Event", "MsgId"];

    /// <summary>The longest value a top-level field may have.</summary>
    public static int BoundOf(string field) => field.ToLowerInvariant() switch
    {
        "fromusername" => IdentityRules.MaxValueLength,
        "tousername" => 64,
        "msgtype" => 32,
        "event" or "msgid" => 64,
        "createtime" => 20,
        _ => MaxFieldLength,
    };

    /// <summary>The first field of the message that breaks a bound, or null when all keep them.</summary>
    public static WeChatError? Check(WeChatMessage message)
    {
        ArgumentNullException.ThrowIfNull(message);
        foreach (var (name, value) in message.Fields)
        {
            if (CheckField(name, value, BoundOf(name)) is { } error) return error;
            if (KeyFields.Contains(name, StringComparer.OrdinalIgnoreCase) && !IsKeySafe(value.Trim()))
                return new(WeChatErrorKind.Malformed, $"{name} holds a character WeChat never puts there (/ \\ # ? % ~ or a control character)");
        }
        foreach (var item in message.Items)
            foreach (var (name, value) in item)
                if (CheckField(name, value, MaxFieldLength) is { } error) return error;
        return null;
    }

    /// <summary>The query's nonce, checked once the signature over it holds.</summary>
    public static WeChatError? CheckNonce(string nonce) =>
        nonce.Length > MaxNonceLength ? TooLong("nonce", nonce.Length, MaxNonceLength) : null;

    /// <summary>True when the text goes into a table key as it is.</summary>
    public static bool IsKeySafe(string text) => string.Equals(KeyEncoding.Escape(text), text, StringComparison.Ordinal);

    private static WeChatError? CheckField(string name, string value, int bound)
    {
        if (name.Length > MaxFieldNameLength)
            return new(WeChatErrorKind.FieldTooLong, $"a field name is {name.Length} characters; at most {MaxFieldNameLength} are allowed");
        return value.Length > bound ? TooLong(name, value.Length, bound) : null;
    }

    private static WeChatError TooLong(string name, int length, int bound) =>
        new(WeChatErrorKind.FieldTooLong, $"{name} is {length} characters; at most {bound} are allowed");
}
