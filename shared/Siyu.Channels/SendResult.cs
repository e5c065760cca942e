namespace Siyu.Channels;

/// <summary>What became of one send, as the delivery pipeline needs to act on it.</summary>
public enum SendOutcome
{
    /// <summary>The provider took the message (or had already taken it under the same idempotency key).</summary>
    Accepted,
    /// <summary>Not sent now, worth trying again later (after RetryAfter when given).</summary>
    Retry,
    /// <summary>Definitely refused: resending the same message will not help.</summary>
    Rejected,
    /// <summary>The person's permission to be messaged is gone (e.g. WeChat 43101: subscription refused or used up).</summary>
    EntitlementLost,
}

/// <summary>
/// The answer to one send. Code is short and stable ("ok", "http_500", "timeout", "wechat_43101", "rate_limited",
/// "invalid_recipient", ...); Detail is the provider's own words, for people.
/// </summary>
public sealed record SendResult(
    SendOutcome Outcome, string? ProviderMessageId, string Code, string? Detail = null, TimeSpan? RetryAfter = null)
{
    /// <summary>A Retry whose last request may have reached the provider (a timeout, a 5xx, a connection lost
    /// mid-request): from a provider that does not dedupe, the message may already be with the person.</summary>
    public bool MaybeDelivered { get; init; }

    public static SendResult Accepted(string? providerMessageId) => new(SendOutcome.Accepted, providerMessageId, "ok");

    public static SendResult Rejected(string code, string? detail = null) => new(SendOutcome.Rejected, null, code, detail);

    public static SendResult Retry(string code, string? detail = null, TimeSpan? retryAfter = null) =>
        new(SendOutcome.Retry, null, code, detail, retryAfter);
}
