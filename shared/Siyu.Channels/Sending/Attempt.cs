namespace Siyu.Channels.Sending;

/// <summary>
/// The result of one HTTP attempt, before the retry loop decides. Transient: worth another attempt now (5xx,
/// timeout, network, 429, WeChat "system busy"). MaybeDelivered: the request may have reached the provider, so only
/// an idempotent send (one carrying a key the provider dedupes on) may be attempted again.
/// </summary>
internal readonly record struct Attempt(SendResult Result, bool Transient, bool MaybeDelivered)
{
    public static Attempt Final(SendResult result) => new(result, Transient: false, MaybeDelivered: false);

    public static Attempt Again(string code, string? detail, bool maybeDelivered, TimeSpan? retryAfter = null) =>
        new(SendResult.Retry(code, detail, retryAfter), Transient: true, maybeDelivered);
}
