using Siyu.Channels.Sending;

namespace Siyu.Channels.WeCom;

/// <summary>
/// What a WeCom (企业微信) errcode means for a send: <c>{"errcode","errmsg"}</c> on HTTP 200, as WeChat answers. Busy
/// and frequency codes are not now; token codes have the token replaced; credential and permission codes, a customer
/// or member WeCom cannot reach, and every other code are refusals. Pure.
/// </summary>
public static class WeComErrors
{
    private static readonly HashSet<int> TokenErrors = [40014, 42001, 41001];

    /// <summary>A wrong corpid or secret, an app without the right, a server IP not on the corp's list.</summary>
    private static readonly HashSet<int> Unauthorized = [40001, 40013, 40091, 41004, 48002, 60011, 60020, 301002];

    /// <summary>The customer or member is not one WeCom can send to from here.</summary>
    private static readonly HashSet<int> BadRecipient = [40003, 40031, 40096, 41048, 82001, 84061];

    public static bool IsTokenError(int errcode) => TokenErrors.Contains(errcode);

    public static string Code(int errcode) => $"wecom_{errcode}";

    internal static Attempt Interpret(int errcode, string? errmsg, string api)
    {
        var detail = $"{api}: {errcode} {errmsg}";
        return errcode switch
        {
            -1 => Attempt.Again(Code(errcode), detail, maybeDelivered: false),
            45009 => Attempt.Again("rate_limited", detail, maybeDelivered: false, TimeSpan.FromMinutes(1)),
            45033 => Attempt.Again("rate_limited", detail, maybeDelivered: false, TimeSpan.FromSeconds(1)),
            _ when TokenErrors.Contains(errcode) => Attempt.Again(Code(errcode), detail, maybeDelivered: false),
            _ when Unauthorized.Contains(errcode) => Attempt.Final(SendResult.Rejected("unauthorized", detail)),
            _ when BadRecipient.Contains(errcode) => Attempt.Final(SendResult.Rejected("invalid_recipient", detail)),
            _ => Attempt.Final(SendResult.Rejected(Code(errcode), detail)),
        };
    }

    /// <summary>The result an errcode comes to, for the table in the channels README and its test.</summary>
    public static SendResult Outcome(int errcode) => Interpret(errcode, null, "test").Result;
}
