using Siyu.Channels.Sending;

namespace Siyu.Channels.Providers;

/// <summary>
/// What an HTTP answer of a generic provider or a webhook receiver means: 2xx accepted (with the provider's "id"),
/// 401/403 "unauthorized", 408/429/5xx transient (429 with its Retry-After), any other status a rejection coded by
/// the body's "code" when it gives a short one.
/// </summary>
internal static class ProviderReplies
{
    private const int MaxCodeLength = 64;

    public static Attempt Interpret(ProviderAnswer answer)
    {
        var status = answer.Code;
        if (status is >= 200 and < 300)
            return Attempt.Final(SendResult.Accepted(JsonBody.ReadString(answer.Body, "id")));
        if (status == 429)
            return Attempt.Again("rate_limited", Message(answer), maybeDelivered: false, answer.RetryAfter);
        if (status is 408 or >= 500)
            return Attempt.Again($"http_{status}", Message(answer), maybeDelivered: true);
        if (status is 401 or 403)
            return Attempt.Final(SendResult.Rejected("unauthorized", Message(answer)));
        var code = JsonBody.ReadString(answer.Body, "code") is { Length: > 0 and <= MaxCodeLength } c ? c : $"http_{status}";
        return Attempt.Final(SendResult.Rejected(code, Message(answer)));
    }

    private static string Message(ProviderAnswer answer) =>
        JsonBody.ReadString(answer.Body, "message") is { } message ? $"HTTP {answer.Code}: {message}" : $"HTTP {answer.Code}";
}
