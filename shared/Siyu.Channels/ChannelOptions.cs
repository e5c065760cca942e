namespace Siyu.Channels;

/// <summary>Bound from the configuration section "Channels".</summary>
public sealed class ChannelOptions
{
    public const string Section = "Channels";

    public string WeChatApiBaseUrl { get; set; } = "https://api.weixin.qq.com";

    /// <summary>WeCom's API (企业微信), for accounts whose provider is "wecom".</summary>
    public string WeComApiBaseUrl { get; set; } = "https://qyapi.weixin.qq.com";

    /// <summary>Base URL per generic channel: "wecom", "sms", "email", "push" (each speaks the contract in README.md).</summary>
    public Dictionary<string, string> ProviderBaseUrls { get; set; } = new();

    /// <summary>Alibaba Cloud SMS (Dysmsapi) endpoint, for accounts whose provider is "aliyun".</summary>
    public string AliyunSmsEndpoint { get; set; } = "https://dysmsapi.aliyuncs.com";

    /// <summary>Tencent Cloud SMS (API 3.0) endpoint, for accounts whose provider is "tencent"; its host is signed.</summary>
    public string TencentSmsEndpoint { get; set; } = "https://sms.tencentcloudapi.com";

    /// <summary>The X-TC-Region of Tencent Cloud SMS requests.</summary>
    public string TencentSmsRegion { get; set; } = "ap-guangzhou";

    /// <summary>SHA-256 thumbprints (hex) of SMTP server certificates trusted besides those the system trusts: a relay
    /// with a certificate of a private CA, or the local fake's self-signed one.</summary>
    public List<string> SmtpTrustedCertificates { get; set; } = [];

    /// <summary>Time allowed for one HTTP exchange (one attempt), reading the answer included.</summary>
    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Attempts per SendAsync call; only transient failures are attempted again.</summary>
    public int MaxAttempts { get; set; } = 3;

    /// <summary>First backoff delay; later ones grow exponentially, with jitter.</summary>
    public TimeSpan RetryBaseDelay { get; set; } = TimeSpan.FromMilliseconds(200);

    /// <summary>A provider's Retry-After up to this long is waited out inside SendAsync; a longer one is handed
    /// back as <see cref="SendOutcome.Retry"/> with RetryAfter, for the caller to schedule.</summary>
    public TimeSpan MaxRetryAfterWait { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Token bucket per (channel, appId or tenant): sustained sends per second.</summary>
    public double RatePerSecond { get; set; } = 500;

    /// <summary>Token bucket size: sends allowed at once after a quiet spell.</summary>
    public int Burst { get; set; } = 100;

    /// <summary>A WeChat access token is refreshed this long before it expires.</summary>
    public TimeSpan TokenRefreshMargin { get; set; } = TimeSpan.FromMinutes(5);
}
