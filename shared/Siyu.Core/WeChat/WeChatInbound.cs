using System.Globalization;

namespace Siyu.Core.WeChat;

/// <summary>The query string of WeChat's URL verification GET.</summary>
public sealed record WeChatUrlQuery(string? Signature, string? Timestamp, string? Nonce, string? EchoStr, string? MsgSignature)
{
    /// <summary>Reads the parameters by their wire names, e.g. <c>WeChatUrlQuery.From(n => request.Query[n])</c>.</summary>
    public static WeChatUrlQuery From(Func<string, string?> get) =>
        new(get("signature"), get("timestamp"), get("nonce"), get("echostr"), get("msg_signature"));
}

/// <summary>The query string of a WeChat push POST.</summary>
public sealed record WeChatPushQuery(string? Signature, string? Timestamp, string? Nonce, string? EncryptType, string? MsgSignature)
{
    public static WeChatPushQuery From(Func<string, string?> get) =>
        new(get("signature"), get("timestamp"), get("nonce"), get("encrypt_type"), get("msg_signature"));

    public bool IsEncrypted => string.Equals(EncryptType, "aes", StringComparison.OrdinalIgnoreCase);
}

/// <summary>
/// Opens what WeChat sends to a message-push URL: checks signatures and timestamp, decrypts, and parses.
/// Pure: the HTTP endpoint passes the query, body and clock in and turns <see cref="WeChatError.HttpStatus"/> into a response.
/// Request input never makes these throw; an app whose EncodingAESKey is invalid does
/// (<see cref="InvalidOperationException"/>: a configuration error, see <see cref="WeChatApp.Validate"/>).
/// </summary>
public static class WeChatInbound
{
    /// <summary>
    /// The URL check done when the push URL is saved in the console. Plain form: <c>signature</c> over
    /// token/timestamp/nonce, echo <c>echostr</c> (official accounts use this in every mode). Safe form, when
    /// <c>msg_signature</c> is present: it covers the encrypted echostr, which is decrypted and echoed.
    /// </summary>
    /// <param name="maxSkew">Largest allowed distance between the signed timestamp and <paramref name="now"/>; zero or less disables the check.</param>
    public static WeChatResult<string> VerifyUrl(WeChatApp app, WeChatUrlQuery query, DateTimeOffset now, TimeSpan maxSkew)
    {
        ArgumentNullException.ThrowIfNull(app);
        ArgumentNullException.ThrowIfNull(query);

        if (string.IsNullOrEmpty(query.EchoStr)) return WeChatResult<string>.Fail(WeChatErrorKind.MissingField, "echostr is missing");

        if (!string.IsNullOrEmpty(query.MsgSignature))
        {
            if (!WeChatSignature.VerifyMessage(app.Token, query.Timestamp, query.Nonce, query.EchoStr, query.MsgSignature))
                return WeChatResult<string>.Fail(SignatureError("msg_signature", query.MsgSignature, query.Timestamp, query.Nonce));
            if (CheckTimestamp(query.Timestamp, now, maxSkew) is { } stale) return WeChatResult<string>.Fail(stale);
            return Decrypt(app, query.EchoStr);
        }

        if (!WeChatSignature.Verify(app.Token, query.Timestamp, query.Nonce, query.Signature))
            return WeChatResult<string>.Fail(SignatureError("signature", query.Signature, query.Timestamp, query.Nonce));
        if (CheckTimestamp(query.Timestamp, now, maxSkew) is { } tooOld) return WeChatResult<string>.Fail(tooOld);
        return WeChatResult<string>.Ok(query.EchoStr);
    }

    /// <summary>
    /// Opens a push. Plaintext mode: <c>signature</c> is checked and the body parsed. Safe mode: <c>encrypt_type=aes</c>
    /// is required, <c>msg_signature</c> is checked over the Encrypt field, which is decrypted with the current key, then
    /// the previous one, and must be addressed to this app; the decrypted XML or JSON is the message. Compatible mode
    /// takes the safe path when <c>encrypt_type=aes</c>, else the plaintext one.
    /// </summary>
    /// <param name="maxSkew">Largest allowed distance between the signed timestamp and <paramref name="now"/>; zero or less disables the check.</param>
    public static WeChatResult<WeChatMessage> OpenPush(WeChatApp app, WeChatPushQuery query, string? body, DateTimeOffset now, TimeSpan maxSkew)
    {
        ArgumentNullException.ThrowIfNull(app);
        ArgumentNullException.ThrowIfNull(query);

        if (app.Mode == WeChatMessageMode.Safe && !query.IsEncrypted)
            return Fail(WeChatErrorKind.PlaintextNotAllowed, string.IsNullOrEmpty(query.EncryptType)
                ? "the app is in safe mode but the push is not encrypted"
                : $"the app is in safe mode and encrypt_type '{Printable(query.EncryptType)}' is not aes");

        return app.Mode == WeChatMessageMode.Plaintext || !query.IsEncrypted
            ? OpenPlain(app, query, body, now, maxSkew)
            : OpenEncrypted(app, query, body, now, maxSkew);
    }

    private static WeChatResult<WeChatMessage> OpenPlain(WeChatApp app, WeChatPushQuery query, string? body, DateTimeOffset now, TimeSpan maxSkew)
    {
        // Checked before the body is even parsed: unauthenticated input gets no further than this.
        if (!WeChatSignature.Verify(app.Token, query.Timestamp, query.Nonce, query.Signature))
            return WeChatResult<WeChatMessage>.Fail(SignatureError("signature", query.Signature, query.Timestamp, query.Nonce));
        if (CheckTimestamp(query.Timestamp, now, maxSkew) is { } stale) return WeChatResult<WeChatMessage>.Fail(stale);
        return WeChatMessage.Parse(body);
    }

    private static WeChatResult<WeChatMessage> OpenEncrypted(WeChatApp app, WeChatPushQuery query, string? body, DateTimeOffset now, TimeSpan maxSkew)
    {
        // msg_signature covers the Encrypt field, so the envelope has to be read first (with the same hardened parser).
        var envelope = WeChatMessage.Parse(body);
        if (!envelope.IsOk) return envelope;
        var encrypt = envelope.Value.Encrypt;
        if (string.IsNullOrEmpty(encrypt)) return Fail(WeChatErrorKind.MissingField, "the encrypted push has no Encrypt field");

        if (!WeChatSignature.VerifyMessage(app.Token, query.Timestamp, query.Nonce, encrypt, query.MsgSignature))
            return WeChatResult<WeChatMessage>.Fail(SignatureError("msg_signature", query.MsgSignature, query.Timestamp, query.Nonce));
        if (CheckTimestamp(query.Timestamp, now, maxSkew) is { } stale) return WeChatResult<WeChatMessage>.Fail(stale);

        var plain = Decrypt(app, encrypt);
        if (!plain.IsOk) return WeChatResult<WeChatMessage>.Fail(plain.Error);

        var message = WeChatMessage.Parse(plain.Value);
        return message.IsOk
            ? message
            : Fail(message.Error.Kind, $"decrypted message: {message.Error.Detail}");
    }

    /// <summary>Tries the current key, then the previous one; the first that opens it for this app wins.</summary>
    private static WeChatResult<string> Decrypt(WeChatApp app, string encrypted)
    {
        string? otherReceiver = null;
        foreach (var cipher in Ciphers(app))
        {
            if (!cipher.TryDecrypt(encrypted, out var message, out var receiveId)) continue;
            if (string.Equals(receiveId, app.AppId, StringComparison.Ordinal)) return WeChatResult<string>.Ok(message);
            otherReceiver ??= receiveId; // keep trying: a wrong key can, rarely, produce valid-looking padding
        }
        return otherReceiver is null
            ? WeChatResult<string>.Fail(WeChatErrorKind.DecryptFailed, "the payload does not decrypt with the current or previous EncodingAESKey")
            : WeChatResult<string>.Fail(WeChatErrorKind.WrongAppId, $"the payload is for '{Printable(otherReceiver)}', not {app.AppId}");
    }

    private static IEnumerable<WeChatCipher> Ciphers(WeChatApp app)
    {
        yield return CipherFor(app, app.EncodingAesKey, nameof(WeChatApp.EncodingAesKey));
        if (app.PreviousEncodingAesKey is { } previous && previous != app.EncodingAesKey)
            yield return CipherFor(app, previous, nameof(WeChatApp.PreviousEncodingAesKey));
    }

    private static WeChatCipher CipherFor(WeChatApp app, string key, string which) =>
        WeChatCipher.IsValidKey(key)
            ? new WeChatCipher(key)
            : throw new InvalidOperationException($"WeChat app {app.AppId} has an invalid {which}.");

    private static WeChatError? CheckTimestamp(string? timestamp, DateTimeOffset now, TimeSpan maxSkew)
    {
        if (maxSkew <= TimeSpan.Zero) return null;
        if (!long.TryParse(timestamp, NumberStyles.None, CultureInfo.InvariantCulture, out var seconds))
            return new(WeChatErrorKind.StaleTimestamp, "timestamp is not a Unix time in seconds");
        var skew = Math.Abs((decimal)now.ToUnixTimeSeconds() - seconds); // decimal: no overflow on absurd values
        return skew > (decimal)maxSkew.TotalSeconds
            ? new(WeChatErrorKind.StaleTimestamp, $"timestamp is {skew}s away from now; at most {maxSkew.TotalSeconds}s is allowed")
            : null;
    }

    private static WeChatError SignatureError(string name, string? given, string? timestamp, string? nonce) =>
        new(WeChatErrorKind.BadSignature,
            string.IsNullOrEmpty(given) ? $"{name} is missing"
            : string.IsNullOrEmpty(timestamp) || string.IsNullOrEmpty(nonce) ? "timestamp or nonce is missing"
            : $"{name} does not match");

    private static WeChatResult<WeChatMessage> Fail(WeChatErrorKind kind, string detail) => WeChatResult<WeChatMessage>.Fail(kind, detail);

    // Values from the request go into error details, which end up in logs: keep them short and printable.
    private static string Printable(string value)
    {
        var clean = new string(value.Select(c => char.IsControl(c) ? '?' : c).Take(64).ToArray());
        return value.Length > 64 ? clean + "…" : clean;
    }
}
