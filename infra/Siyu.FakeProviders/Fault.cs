namespace Siyu.FakeProviders;

/// <summary>What a scripted fault does to the next request for a recipient.</summary>
public enum FaultKind
{
    /// <summary>Answer with an HTTP status (WeChat endpoints: empty body; the others: <c>{"code","message"}</c>).</summary>
    HttpStatus,
    /// <summary>Answer HTTP 200 with a WeChat <c>{"errcode","errmsg"}</c> (other endpoints: 422 with code wechat_N).</summary>
    WeChatError,
    /// <summary>Take the message as accepted, then hold the answer for Delay (the client times out first).</summary>
    AcceptThenHang,
    /// <summary>Take the message as accepted, then send a "failed" receipt with Code and Message.</summary>
    FailedReceipt,
}

/// <summary>One scripted misbehaviour of the fake, consumed by the next request for its recipient.</summary>
public sealed record Fault(FaultKind Kind, int Status = 0, int ErrCode = 0, string? Code = null, string? Message = null, TimeSpan? Delay = null)
{
    public static Fault Http(int status, string? code = null, string? message = null) =>
        new(FaultKind.HttpStatus, Status: status, Code: code, Message: message);

    /// <summary>HTTP 429 with a Retry-After header of whole seconds.</summary>
    public static Fault TooManyRequests(TimeSpan retryAfter) =>
        new(FaultKind.HttpStatus, Status: 429, Code: "rate_limited", Delay: retryAfter);

    public static Fault WeChat(int errcode, string? errmsg = null) =>
        new(FaultKind.WeChatError, ErrCode: errcode, Message: errmsg ?? $"scripted error {errcode}");

    public static Fault AcceptThenHang(TimeSpan? hang = null) =>
        new(FaultKind.AcceptThenHang, Delay: hang ?? TimeSpan.FromSeconds(30));

    public static Fault ReceiptFails(string code, string message) =>
        new(FaultKind.FailedReceipt, Code: code, Message: message);
}

/// <summary>A message the fake took and "delivered" to a person: each one once, whatever the repeats.</summary>
/// <param name="IdempotencyKey">WeChat client_msg_id or the Idempotency-Key header; null when the API has none.</param>
/// <param name="Link">WeChat template url or subscribe page.</param>
public sealed record AcceptedMessage(
    string Channel,
    string? AppId,
    string Recipient,
    string Template,
    string? IdempotencyKey,
    string ProviderMessageId,
    IReadOnlyDictionary<string, string> Fields,
    string? Link,
    string? Reference,
    string? Sender,
    DateTimeOffset At);

/// <summary>A receipt that arrived at the fake's own receipt sink (<c>POST /fake/receipts</c>): the raw body and
/// the signature header, for a test to check as our app would.</summary>
public sealed record ReceivedReceipt(byte[] Body, string? Signature);
