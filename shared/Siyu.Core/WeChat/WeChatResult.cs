using System.Diagnostics.CodeAnalysis;

namespace Siyu.Core.WeChat;

/// <summary>Why a WeChat push, URL check or message could not be accepted.</summary>
public enum WeChatErrorKind
{
    /// <summary>The body is not well-formed XML or JSON, or has the wrong shape.</summary>
    Malformed,
    /// <summary>The XML carries a DTD or entity declaration: refused outright (XXE, entity expansion).</summary>
    DtdNotAllowed,
    /// <summary>A field the protocol needs is absent (Encrypt in safe mode, echostr, FromUserName).</summary>
    MissingField,
    /// <summary>signature / msg_signature is missing or does not match.</summary>
    BadSignature,
    /// <summary>The signed timestamp is too far from now: a replay, or a badly wrong clock.</summary>
    StaleTimestamp,
    /// <summary>The ciphertext does not decrypt with the current or previous EncodingAESKey.</summary>
    DecryptFailed,
    /// <summary>The ciphertext decrypts, but was encrypted for another app.</summary>
    WrongAppId,
    /// <summary>The app is in safe mode and the push was not encrypted.</summary>
    PlaintextNotAllowed,
    /// <summary>A field (or the nonce) is longer than its bound in <see cref="WeChatLimits"/>.</summary>
    FieldTooLong,
    /// <summary>The event the push would become is larger than an event may be.</summary>
    TooLarge,
    /// <summary>The signed nonce was already used for another body: a replay.</summary>
    Replayed,
}

/// <summary>A failure with its kind (what the HTTP layer branches on) and a short human-readable detail.</summary>
public sealed record WeChatError(WeChatErrorKind Kind, string Detail)
{
    /// <summary>
    /// The HTTP status to answer with: 400 for a request that is broken whoever sent it,
    /// 401 for one that cannot be shown to come from WeChat for this app.
    /// </summary>
    public int HttpStatus => Kind switch
    {
        WeChatErrorKind.Malformed or WeChatErrorKind.DtdNotAllowed or WeChatErrorKind.MissingField
            or WeChatErrorKind.FieldTooLong or WeChatErrorKind.TooLarge => 400,
        _ => 401,
    };

    public override string ToString() => $"{Kind}: {Detail}";
}

/// <summary>Either a value or a <see cref="WeChatError"/>; nothing on the WeChat path throws for bad input.</summary>
public sealed class WeChatResult<T> where T : class
{
    private WeChatResult(T? value, WeChatError? error) { Value = value; Error = error; }

    public T? Value { get; }
    public WeChatError? Error { get; }

    [MemberNotNullWhen(true, nameof(Value))]
    [MemberNotNullWhen(false, nameof(Error))]
    public bool IsOk => Error is null;

    public static WeChatResult<T> Ok(T value) => new(value ?? throw new ArgumentNullException(nameof(value)), null);
    public static WeChatResult<T> Fail(WeChatErrorKind kind, string detail) => new(null, new WeChatError(kind, detail));
    public static WeChatResult<T> Fail(WeChatError error) => new(null, error);

    public override string ToString() => IsOk ? $"Ok({Value})" : $"Fail({Error})";
}
