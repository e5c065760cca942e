namespace Siyu.Channels;

/// <summary>
/// What a WeChat errcode means for the delivery pipeline. WeChat answers HTTP 200 with
/// <c>{"errcode":..,"errmsg":..}</c>; this table is the one place that maps the code. Unknown codes are rejections:
/// resending a message WeChat refused for a reason we do not know would only repeat the refusal.
/// </summary>
public static class WeChatErrors
{
    /// <summary>WeChat's day starts at midnight China Standard Time (UTC+8, no daylight saving).</summary>
    private static readonly TimeSpan ChinaOffset = TimeSpan.FromHours(8);

    /// <summary>40001 invalid credential, 40014 invalid access_token, 42001 access_token expired: refresh the
    /// token and send again once.</summary>
    public static bool IsTokenError(int errcode) => errcode is 40001 or 40014 or 42001;

    /// <summary>-1 "system busy": worth another attempt right away, like an HTTP 503.</summary>
    public static bool IsBusy(int errcode) => errcode == -1;

    public static string Code(int errcode) => errcode == 0 ? "ok" : $"wechat_{errcode}";

    public static SendOutcome Outcome(int errcode) => errcode switch
    {
        0 => SendOutcome.Accepted,
        -1 => SendOutcome.Retry,            // system busy
        45009 => SendOutcome.Retry,         // the API's daily quota is used up
        45011 => SendOutcome.Retry,         // API called too often (per-minute frequency)
        45047 => SendOutcome.Retry,         // too many messages to this person for now
        40001 or 40014 or 42001 => SendOutcome.Retry, // token still refused after a refresh
        43101 => SendOutcome.EntitlementLost, // the person refused, or a one-time subscription was used up
        // 43004 not following, 40003 invalid openid, 40037 invalid template_id, 47003 invalid argument,
        // 41030 invalid page, and everything else.
        _ => SendOutcome.Rejected,
    };

    /// <summary>When a Retry is worth trying: after the next midnight in China for the daily quota, after a minute
    /// for the frequency limit; null means "use the ordinary backoff".</summary>
    public static TimeSpan? RetryAfter(int errcode, DateTimeOffset now) => errcode switch
    {
        45009 => UntilNextChinaMidnight(now),
        45011 => TimeSpan.FromMinutes(1),
        _ => null,
    };

    public static SendResult ToResult(int errcode, string? errmsg, DateTimeOffset now, string? msgId = null) =>
        Outcome(errcode) is var outcome && outcome == SendOutcome.Accepted
            ? SendResult.Accepted(msgId)
            : new SendResult(outcome, null, Code(errcode), errmsg, RetryAfter(errcode, now));

    private static TimeSpan UntilNextChinaMidnight(DateTimeOffset now)
    {
        var china = now.ToOffset(ChinaOffset);
        var nextMidnight = new DateTimeOffset(china.Date.AddDays(1), ChinaOffset);
        return nextMidnight - now + TimeSpan.FromMinutes(1); // a minute's slack for clocks that disagree
    }
}
