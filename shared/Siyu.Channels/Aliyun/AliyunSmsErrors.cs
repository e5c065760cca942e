using Siyu.Channels.Sending;

namespace Siyu.Channels.Aliyun;

/// <summary>
/// What an answer of Dysmsapi <c>SendSms</c> means. Every answer is JSON with <c>Code</c> ("OK" when taken, with the
/// <c>BizId</c>); an error also comes with an HTTP 4xx/5xx, but the code decides. Pure.
/// </summary>
public static class AliyunSmsErrors
{
    /// <summary>The number, the template, the signature name or the parameters are wrong: sending again will not help.</summary>
    private static readonly HashSet<string> BadRequest = new(StringComparer.Ordinal)
    {
        "isv.SMS_TEMPLATE_ILLEGAL", "isv.SMS_SIGNATURE_ILLEGAL", "isv.SMS_SIGN_ILLEGAL", "isv.TEMPLATE_MISSING_PARAMETERS",
        "isv.INVALID_PARAMETERS", "isv.INVALID_JSON_PARAM", "isv.PARAM_LENGTH_LIMIT", "isv.PARAM_NOT_SUPPORT_URL",
        "isv.TEMPLATE_PARAMS_ILLEGAL", "isv.BLACK_KEY_CONTROL_LIMIT", "isv.SMS_CONTENT_ILLEGAL", "isv.SMS_SIGNATURE_SCENE_ILLEGAL",
        "isv.EXTEND_CODE_ERROR", "isv.DOMESTIC_NUMBER_NOT_SUPPORTED", "isv.SMS_OVER_LIMIT", "MissingParameter", "InvalidParameter",
    };

    /// <summary>The number itself is refused.</summary>
    private static readonly HashSet<string> BadRecipient = new(StringComparer.Ordinal)
    {
        "isv.MOBILE_NUMBER_ILLEGAL", "isv.MOBILE_COUNT_OVER_LIMIT", "isv.BLACK_NUMBER", "isv.PHONE_NUMBER_ILLEGAL",
    };

    /// <summary>The credentials do not hold: a wrong or disabled AccessKey, a signature that does not match, a RAM user without the right.</summary>
    private static readonly HashSet<string> Unauthorized = new(StringComparer.Ordinal)
    {
        "InvalidAccessKeyId.NotFound", "InvalidAccessKeyId.Inactive", "SignatureDoesNotMatch", "IncompleteSignature", "Forbidden.RAM",
        "isp.RAM_PERMISSION_DENY", "isv.ACCOUNT_NOT_EXISTS", "isv.ACCOUNT_ABNORMAL", "InvalidTimeStamp.Expired",
    };

    /// <summary>Frequency control: per number (a minute, an hour, a day) or per account. Not now; later.</summary>
    private static readonly Dictionary<string, TimeSpan> Throttled = new(StringComparer.Ordinal)
    {
        ["isv.BUSINESS_LIMIT_CONTROL"] = TimeSpan.FromMinutes(1),
        ["isv.DAY_LIMIT_CONTROL"] = TimeSpan.FromHours(1),
        ["Throttling.User"] = TimeSpan.FromSeconds(1),
        ["Throttling"] = TimeSpan.FromSeconds(1),
        ["Throttling.Api"] = TimeSpan.FromSeconds(1),
    };

    /// <summary>The account cannot send until its owner acts (tops up, reopens it): later, not soon.</summary>
    private static readonly HashSet<string> AccountHeld = new(StringComparer.Ordinal) { "isv.AMOUNT_NOT_ENOUGH", "isv.OUT_OF_SERVICE" };

    /// <summary>Aliyun's own trouble: the message may or may not have been taken.</summary>
    private static readonly HashSet<string> ProviderTrouble = new(StringComparer.Ordinal)
    {
        "isp.SYSTEM_ERROR", "isp.GATEWAY_ERROR", "InternalError", "ServiceUnavailable", "ServiceUnavailableTemporary",
    };

    /// <summary>The outcome of one answer: its HTTP status and, when it had one, its Code, Message and BizId.</summary>
    internal static Attempt Interpret(int status, string? code, string? message, string? bizId)
    {
        var detail = message is null ? $"HTTP {status}" : $"HTTP {status}: {code}: {message}";
        if (code == "OK") return Attempt.Final(SendResult.Accepted(bizId));
        if (code is null)
            // A 2xx we cannot read may well have been taken: as unknown as a timeout.
            return status is 408 or >= 500 or (>= 200 and < 300) ? Attempt.Again(status < 300 ? "invalid_answer" : $"http_{status}", detail, maybeDelivered: true)
                : status is 401 or 403 ? Attempt.Final(SendResult.Rejected("unauthorized", detail))
                : Attempt.Final(SendResult.Rejected($"http_{status}", detail));
        if (Throttled.TryGetValue(code, out var wait)) return Attempt.Again("rate_limited", detail, maybeDelivered: false, wait);
        // A nonce seen before (a repeat inside Aliyun's window) never carried the message; a fresh signature will do.
        if (code == "SignatureNonceUsed") return Attempt.Again("aliyun_SignatureNonceUsed", detail, maybeDelivered: false);
        if (ProviderTrouble.Contains(code)) return Attempt.Again($"aliyun_{code}", detail, maybeDelivered: true);
        if (AccountHeld.Contains(code)) return Attempt.Final(SendResult.Retry($"aliyun_{code}", detail, TimeSpan.FromHours(1)));
        if (Unauthorized.Contains(code)) return Attempt.Final(SendResult.Rejected("unauthorized", detail));
        if (BadRecipient.Contains(code)) return Attempt.Final(SendResult.Rejected("invalid_recipient", detail));
        if (BadRequest.Contains(code)) return Attempt.Final(SendResult.Rejected($"aliyun_{code}", detail));
        // A code not listed: an answer with a code is a refusal of this request, not a lost one.
        return Attempt.Final(SendResult.Rejected($"aliyun_{code}", detail));
    }

    /// <summary>The result a code comes to, for the table in the channels README and its test.</summary>
    public static SendResult Outcome(int status, string? code, string? message = null) => Interpret(status, code, message, null).Result;
}
