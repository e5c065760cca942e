using System.Text.Json;
using Siyu.Core.WeChat;

namespace Siyu.Core.Tests.WeChat;

/// <summary>A signed push as WeChat would send it: the query string and the body.</summary>
internal sealed record Push(WeChatPushQuery Query, string Body);

/// <summary>Builds correctly signed plaintext and encrypted pushes (and URL checks) for one app, to be broken on purpose by tests.</summary>
internal sealed class WeChatPushBuilder(WeChatApp app)
{
    public const string DefaultTimestamp = "1700000000";
    public static readonly DateTimeOffset At = DateTimeOffset.FromUnixTimeSeconds(1_700_000_000);

    public string Timestamp { get; init; } = DefaultTimestamp;
    public string Nonce { get; init; } = "1320562132";

    /// <summary>A plaintext push: <c>signature</c> over token/timestamp/nonce, the body in the clear.</summary>
    public Push Plain(string body) =>
        new(new WeChatPushQuery(WeChatSignature.Compute(app.Token, Timestamp, Nonce), Timestamp, Nonce, null, null), body);

    /// <summary>
    /// An encrypted push (safe mode, or compatible mode with encrypt_type=aes): <paramref name="inner"/> encrypted for
    /// <paramref name="receiveId"/> (default: the app) with <paramref name="key"/> (default: the app's current key).
    /// </summary>
    public Push Encrypted(string inner, string? receiveId = null, string? key = null, bool jsonEnvelope = false) =>
        EncryptedRaw(new WeChatCipher(key ?? app.EncodingAesKey).Encrypt(inner, receiveId ?? app.AppId), jsonEnvelope);

    /// <summary>An encrypted push around an exact Encrypt value, correctly signed whatever it contains.</summary>
    public Push EncryptedRaw(string encrypt, bool jsonEnvelope = false)
    {
        var body = jsonEnvelope
            ? JsonSerializer.Serialize(new { ToUserName = "gh_envelope", Encrypt = encrypt })
            : $"<xml><ToUserName><![CDATA[gh_envelope]]></ToUserName><Encrypt><![CDATA[{encrypt}]]></Encrypt></xml>";
        var query = new WeChatPushQuery(
            WeChatSignature.Compute(app.Token, Timestamp, Nonce), Timestamp, Nonce, "aes",
            WeChatSignature.Compute(app.Token, Timestamp, Nonce, encrypt));
        return new Push(query, body);
    }

    public WeChatUrlQuery PlainUrlCheck(string echo) =>
        new(WeChatSignature.Compute(app.Token, Timestamp, Nonce), Timestamp, Nonce, echo, null);

    public WeChatUrlQuery SafeUrlCheck(string echo, string? receiveId = null, string? key = null)
    {
        var encrypted = new WeChatCipher(key ?? app.EncodingAesKey).Encrypt(echo, receiveId ?? app.AppId);
        return new(WeChatSignature.Compute(app.Token, Timestamp, Nonce), Timestamp, Nonce, encrypted,
            WeChatSignature.Compute(app.Token, Timestamp, Nonce, encrypted));
    }

    /// <summary>A WeChat XML message from name/value pairs, every value in CDATA as WeChat writes them.</summary>
    public static string Xml(params (string Name, string Value)[] fields) =>
        "<xml>" + string.Concat(fields.Select(f => $"<{f.Name}><![CDATA[{f.Value}]]></{f.Name}>")) + "</xml>";
}

internal static class TestApps
{
    public const string Key = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG";
    public const string OldKey = "ZYXWVUTSRQPONMLKJIHGFEDCBA9876543210zyxwvut";
    public const string OtherKey = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFG";

    public static WeChatApp Official(WeChatMessageMode mode, string? previousKey = null) =>
        new("wx2c2769f8efd9abc2", WeChatAppKind.OfficialAccount, "spamtest", Key, previousKey, mode);

    public static WeChatApp MiniProgram(WeChatMessageMode mode) =>
        new("wxa1b2c3d4e5f60789", WeChatAppKind.MiniProgram, "minitoken", OtherKey, null, mode);
}
