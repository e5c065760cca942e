using System.Text.Json.Serialization;

namespace Siyu.Core.Consent;

/// <summary>A person's answer to one request for consent.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<ConsentStatus>))]
public enum ConsentStatus
{
    /// <summary>Agreed.</summary>
    Granted,
    /// <summary>Asked and refused (e.g. "reject" in a subscribe-message pop-up).</summary>
    Denied,
    /// <summary>Agreed once, and took it back.</summary>
    Withdrawn,
}

/// <summary>
/// The words consent is recorded in. Purposes and channels are fixed sets, so a typo is refused at the door instead
/// of becoming a consent nobody ever looks up.
/// </summary>
public static class ConsentVocabulary
{
    public const string Marketing = "marketing";
    public const string Personalisation = "personalisation";
    public const string Analytics = "analytics";
    public const string SensitivePrefix = "sensitive-";

    /// <summary>
    /// What data is used for. The <c>sensitive-*</c> purposes cover PIPL's sensitive personal information (art. 28):
    /// data of those kinds is stored only with a separate consent for it.
    /// </summary>
    public static readonly IReadOnlyList<string> Purposes =
    [
        Marketing, Personalisation, Analytics,
        "sensitive-health", "sensitive-finance", "sensitive-biometric", "sensitive-minor", "sensitive-location",
    ];

    public const string AllChannels = "all";
    public const string WeChatOfficialAccount = "wechat_oa";
    public const string MiniProgramSubscribe = "miniprogram_subscribe";

    /// <summary>How we reach the person. "all" in a decision covers every channel.</summary>
    public static readonly IReadOnlyList<string> Channels =
        [WeChatOfficialAccount, MiniProgramSubscribe, "wecom", "sms", "email", "push", AllChannels];

    public static bool IsPurpose(string? value) => value is not null && Purposes.Contains(value);
    public static bool IsChannel(string? value) => value is not null && Channels.Contains(value);
    public static bool IsSensitive(string purpose) => purpose.StartsWith(SensitivePrefix, StringComparison.Ordinal);

    public static bool TryParseStatus(string? text, out ConsentStatus status)
    {
        switch (text)
        {
            case "granted": status = ConsentStatus.Granted; return true;
            case "denied": status = ConsentStatus.Denied; return true;
            case "withdrawn": status = ConsentStatus.Withdrawn; return true;
            default: status = default; return false;
        }
    }

    public static string Name(this ConsentStatus status) => status switch
    {
        ConsentStatus.Granted => "granted",
        ConsentStatus.Denied => "denied",
        _ => "withdrawn",
    };
}
