using Siyu.Channels.Sending;

namespace Siyu.Channels.Tencent;

/// <summary>
/// What an answer of Tencent Cloud SMS <c>SendSms</c> (2021-01-11) means. Every answer is HTTP 200 with a JSON
/// <c>Response</c>: either <c>Error {Code, Message}</c> (the request as a whole refused) or <c>SendStatusSet</c>, one
/// status per number, <c>Code</c> "Ok" and a <c>SerialNo</c> when taken. The code decides. Pure.
/// </summary>
public static class TencentSmsErrors
{
    /// <summary>The template, the signature, the parameters or the app are wrong: sending again will not help.</summary>
    private static readonly HashSet<string> BadRequest = new(StringComparer.Ordinal)
    {
        "FailedOperation.SignatureIncorrectOrUnapproved", "FailedOperation.TemplateIncorrectOrUnapproved", "FailedOperation.ContainSensitiveWord",
        "FailedOperation.TemplateParamSetNotMatchApprovedTemplate", "FailedOperation.FailResolvePacket", "FailedOperation.JsonParseFail",
        "FailedOperation.TemplateUnapprovedOrNotExist", "InvalidParameterValue.ContentLengthLimit", "InvalidParameterValue.TemplateParameterFormatError",
        "InvalidParameterValue.TemplateParameterLengthLimit", "InvalidParameterValue.ProhibitedUseUrlInTemplateParameter",
        "InvalidParameterValue.SdkAppIdNotExist", "InvalidParameterValue.InvalidTemplateFormat", "InvalidParameter", "InvalidParameterValue",
        "MissingParameter", "MissingParameter.EmptyPhoneNumberSet", "UnsupportedOperation.ContainDomesticAndInternationalPhoneNumber",
        "UnsupportedOperation.UnsupportedRegion", "InternalError.RestApiInterfaceNotExist", "InvalidAction", "NoSuchVersion",
    };

    /// <summary>The number itself is refused; a number on Tencent's do-not-disturb list has unsubscribed there.</summary>
    private static readonly HashSet<string> BadRecipient = new(StringComparer.Ordinal)
    {
        "InvalidParameterValue.IncorrectPhoneNumber", "FailedOperation.PhoneNumberInBlacklist", "FailedOperation.PhoneNumberOnBlacklist",
    };

    /// <summary>The credentials or the app do not hold, or the account may not send marketing SMS.</summary>
    private static readonly HashSet<string> Unauthorized = new(StringComparer.Ordinal)
    {
        "AuthFailure.SignatureFailure", "AuthFailure.SecretIdNotFound", "AuthFailure.InvalidSecretId", "AuthFailure.SignatureExpire",
        "AuthFailure.InvalidAuthorization", "AuthFailure.UnauthorizedOperation", "AuthFailure.TokenFailure", "AuthFailure.MFAFailure",
        "UnauthorizedOperation.SmsSdkAppIdVerifyFail", "UnauthorizedOperation.RequestPermissionDeny", "UnauthorizedOperation.RequestIpNotInWhitelist",
        "UnauthorizedOperation.IndividualUserMarketingSmsPermissionDeny", "UnauthorizedOperation.SerivceSuspendDueToArrears",
        "InternalError.SigVerificationFail", "InternalError.SigFieldMissing", "IpInBlacklist", "IpNotInWhitelist",
    };

    /// <summary>Frequency control, per number or per app: not now, later.</summary>
    private static readonly Dictionary<string, TimeSpan> Throttled = new(StringComparer.Ordinal)
    {
        ["LimitExceeded.PhoneNumberThirtySecondLimit"] = TimeSpan.FromSeconds(30),
        ["LimitExceeded.PhoneNumberOneHourLimit"] = TimeSpan.FromHours(1),
        ["LimitExceeded.PhoneNumberDailyLimit"] = TimeSpan.FromHours(6),
        ["LimitExceeded.PhoneNumberSameContentDailyLimit"] = TimeSpan.FromHours(6),
        ["LimitExceeded.DeliveryFrequencyLimit"] = TimeSpan.FromMinutes(1),
        ["LimitExceeded.AppDailyLimit"] = TimeSpan.FromHours(1),
        ["LimitExceeded.AppMainlandChinaDailyLimit"] = TimeSpan.FromHours(1),
        ["LimitExceeded.AppCountryOrRegionDailyLimit"] = TimeSpan.FromHours(1),
        ["LimitExceeded.AppGlobalDailyLimit"] = TimeSpan.FromHours(1),
        ["RequestLimitExceeded"] = TimeSpan.FromSeconds(1),
        ["RequestLimitExceeded.GlobalRegionUinLimitExceeded"] = TimeSpan.FromSeconds(1),
        ["RequestLimitExceeded.IPLimitExceeded"] = TimeSpan.FromSeconds(1),
        ["RequestLimitExceeded.UinLimitExceeded"] = TimeSpan.FromSeconds(1),
    };

    /// <summary>Not now, and not soon: the package is used up, or marketing SMS may only go between 8:00 and 22:00.</summary>
    private static readonly Dictionary<string, TimeSpan> Held = new(StringComparer.Ordinal)
    {
        ["FailedOperation.InsufficientBalanceInSmsPackage"] = TimeSpan.FromHours(1),
        ["FailedOperation.MarketingSendTimeConstraint"] = TimeSpan.FromHours(1),
    };

    /// <summary>Tencent's own trouble: the message may or may not have been taken.</summary>
    private static readonly HashSet<string> ProviderTrouble = new(StringComparer.Ordinal)
    {
        "InternalError", "InternalError.Timeout", "InternalError.SendAndRecvFail", "InternalError.OtherError", "InternalError.RequestTimeException",
        "FailedOperation", "ResourceUnavailable",
    };

    /// <summary>The outcome of one answer: its HTTP status and, when it had one, the code, message and SerialNo.</summary>
    internal static Attempt Interpret(int status, string? code, string? message, string? serialNo)
    {
        var detail = message is null ? $"HTTP {status}" : $"HTTP {status}: {code}: {message}";
        if (code == "Ok") return Attempt.Final(SendResult.Accepted(serialNo));
        if (code is null)
            // Tencent answers 200 with a Response even to refusals: a 2xx without one may well have been taken.
            return status is 408 or >= 500 or (>= 200 and < 300) ? Attempt.Again(status < 300 ? "invalid_answer" : $"http_{status}", detail, maybeDelivered: true)
                : status is 401 or 403 ? Attempt.Final(SendResult.Rejected("unauthorized", detail))
                : Attempt.Final(SendResult.Rejected($"http_{status}", detail));
        if (Throttled.TryGetValue(code, out var wait)) return Attempt.Again("rate_limited", detail, maybeDelivered: false, wait);
        if (ProviderTrouble.Contains(code)) return Attempt.Again($"tencent_{code}", detail, maybeDelivered: true);
        if (Held.TryGetValue(code, out var later)) return Attempt.Final(SendResult.Retry($"tencent_{code}", detail, later));
        if (Unauthorized.Contains(code)) return Attempt.Final(SendResult.Rejected("unauthorized", detail));
        if (BadRecipient.Contains(code)) return Attempt.Final(SendResult.Rejected("invalid_recipient", detail));
        if (BadRequest.Contains(code)) return Attempt.Final(SendResult.Rejected($"tencent_{code}", detail));
        // A code not listed: an answer with a code is a refusal of this request, not a lost one.
        return Attempt.Final(SendResult.Rejected($"tencent_{code}", detail));
    }

    /// <summary>The result a code comes to, for the table in the channels README and its test.</summary>
    public static SendResult Outcome(string? code, string? message = null, int status = 200) => Interpret(status, code, message, null).Result;
}
