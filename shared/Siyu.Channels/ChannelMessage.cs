namespace Siyu.Channels;

/// <summary>
/// One message to one person. IdempotencyKey is our deterministic delivery key (at most 128 characters, may contain
/// '~'): it is sent as WeChat template <c>client_msg_id</c> and as <c>Idempotency-Key</c> for generic providers
/// and webhooks, so a send repeated after an unknown outcome never reaches the person twice.
/// </summary>
/// <param name="Channel">"wechat_oa" (template message), "miniprogram_subscribe" (subscribe message), "wecom",
/// "sms", "email", "push", "webhook".</param>
/// <param name="Recipient">openid for the two WeChat channels; external_userid for wecom; E.164 phone for sms;
/// email address; device or user id for push; ignored for webhook (the URL comes from the account).</param>
/// <param name="AppId">The WeChat appid for the two WeChat channels.</param>
/// <param name="ProviderTemplate">WeChat template_id, or the provider's template code.</param>
/// <param name="Fields">Template fields: WeChat <c>data {key: {value}}</c>; generic providers: variables.</param>
/// <param name="Link">WeChat template <c>url</c> or subscribe <c>page</c>; optional.</param>
/// <param name="Reference">Our opaque reference, echoed back in provider receipts; at most 256 characters.</param>
/// <param name="Marketing">A marketing message (its template's purpose): an email then says so in its subject and carries
/// <paramref name="UnsubscribeUrl"/> as its one-click List-Unsubscribe.</param>
public sealed record ChannelMessage(
    string TenantId,
    string Channel,
    string IdempotencyKey,
    string Recipient,
    string? AppId,
    string ProviderTemplate,
    IReadOnlyDictionary<string, string> Fields,
    string? Link,
    string Reference,
    bool Marketing = false,
    string? UnsubscribeUrl = null)
{
    public const int MaxIdempotencyKeyLength = 128;
    public const int MaxReferenceLength = 256;
}

/// <summary>
/// Credentials of one tenant for one channel. WeChat: AppId + AppSecret. Generic providers: ApiKey (+ optional
/// Sender). Webhook: Url (+ optional ApiKey, used as the HMAC secret of the X-Siyu-Signature header). Aliyun SMS
/// (<see cref="Provider"/> "aliyun"): KeyId = AccessKey id, ApiKey = AccessKey secret, Sender = SignName. Tencent Cloud SMS
/// ("tencent"): KeyId = SecretId, ApiKey = SecretKey, AppId = SmsSdkAppId, Sender = SignName. Email over SMTP ("smtp"):
/// Url = smtps:// or smtp:// server, KeyId = username, ApiKey = password, Sender = From address. WeCom ("wecom"): AppId =
/// corpid, ApiKey = the secret (customer contact's, or the app's), KeyId = the app's agentid, Sender = the member who sends.
/// </summary>
/// <param name="Dedupes">Whether the provider drops a repeat of an IdempotencyKey it has taken. When it does not, a
/// request that may have reached it (a timeout, a 5xx, a connection lost mid-request) is not attempted again.</param>
/// <param name="Provider">Who speaks for the channel: null or "generic" for the generic provider contract, or a
/// provider's own API (<see cref="ChannelProviders"/>).</param>
/// <param name="KeyId">The provider's key id where its API signs with a key pair (Aliyun AccessKey id, Tencent SecretId).</param>
public sealed record ChannelAccount(
    string? AppId = null, string? AppSecret = null, string? ApiKey = null, string? Sender = null, string? Url = null, bool Dedupes = true,
    string? Provider = null, string? KeyId = null)
{
    // Records print every property; credentials must never reach a log line through ToString.
    public override string ToString() =>
        $"ChannelAccount {{ Provider = {Provider}, AppId = {AppId}, KeyId = {KeyId}, Sender = {Sender}, Url = {Url}, Dedupes = {Dedupes}, AppSecret = {Mask(AppSecret)}, ApiKey = {Mask(ApiKey)} }}";

    private static string Mask(string? secret) => secret is null ? "null" : "***";
}
