using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Siyu.FakeProviders;

namespace Siyu.Channels.Tests;

/// <summary>
/// The channel edge as the app wires it (AddChannels from configuration), pointed at an in-process fake provider
/// server, with one WeChat app and one provider key registered. Short timeouts and backoff keep the tests quick.
/// </summary>
public sealed class Harness : IAsyncDisposable
{
    public const string AppId = "wx_app_1";
    public const string AppSecret = "app-secret-1";
    public const string ApiKey = "pk_tenant_1";
    public const string Tenant = "t1";
    public const string AliyunKeyId = "LTAI5tDemoKeyId";
    public const string AliyunKeySecret = "aliyun-secret-1";
    public const string TencentSecretId = "AKIDtencentDemoSecretId";
    public const string TencentSecretKey = "tencent-secret-1";
    public const string TencentSdkAppId = "1400006666";
    public const string WeComCorpId = "ww0123456789abcdef";
    public const string WeComSecret = "wecom-secret-1";
    public const int WeComAgentId = 1000002;
    public const string SmtpUser = "mailer@brand.example";
    public const string SmtpPassword = "smtp-password-1";

    private readonly ServiceProvider services;

    private Harness(FakeProviderServer fake, ServiceProvider services)
    {
        Fake = fake;
        this.services = services;
    }

    public FakeProviderServer Fake { get; }

    public ChannelSenders Senders => services.GetRequiredService<ChannelSenders>();

    public T Get<T>() where T : notnull => services.GetRequiredService<T>();

    public static ChannelAccount WeChatAccount => new(AppId: AppId, AppSecret: AppSecret);

    public static ChannelAccount ProviderAccount => new(ApiKey: ApiKey, Sender: "SIYU");

    public static ChannelAccount TencentAccount => new(AppId: TencentSdkAppId, ApiKey: TencentSecretKey, Sender: "思域商城", Dedupes: false,
        Provider: ChannelProviders.Tencent, KeyId: TencentSecretId);
    public static ChannelAccount WeComAccount => new(AppId: WeComCorpId, ApiKey: WeComSecret, KeyId: "1000002", Sender: "zhangsan", Dedupes: false,
        Provider: ChannelProviders.WeCom);
    public static ChannelAccount AliyunAccount => new(ApiKey: AliyunKeySecret, Sender: "思域商城", Dedupes: false, Provider: ChannelProviders.Aliyun, KeyId: AliyunKeyId);

    /// <summary>The fake's SMTP server by STARTTLS, once started with <c>smtp: true</c>.</summary>
    public ChannelAccount SmtpAccount => new(Url: $"smtp://127.0.0.1:{Fake.SmtpPort}", KeyId: SmtpUser, ApiKey: SmtpPassword, Sender: "思域商城 <news@brand.example>",
        Dedupes: false, Provider: ChannelProviders.Smtp);

    public static async Task<Harness> StartAsync(TimeProvider? clock = null, IDictionary<string, string?>? settings = null, bool smtp = false)
    {
        var fake = await FakeProviderServer.StartAsync();
        if (smtp)
        {
            await fake.StartSmtpAsync();
            fake.RegisterSmtpUser(SmtpUser, SmtpPassword);
        }
        fake.RegisterApp(AppId, AppSecret);
        fake.RegisterApiKey(ApiKey);
        fake.RegisterAliyunKey(AliyunKeyId, AliyunKeySecret);
        fake.RegisterTencentKey(TencentSecretId, TencentSecretKey);
        fake.RegisterWeComCorp(WeComCorpId, WeComSecret);
        fake.RegisterWeComAgent(WeComCorpId, WeComAgentId);
        var baseUrl = fake.BaseUrl.ToString().TrimEnd('/');
        var config = new Dictionary<string, string?>
        {
            ["Channels:WeChatApiBaseUrl"] = baseUrl,
            ["Channels:WeComApiBaseUrl"] = baseUrl,
            ["Channels:ProviderBaseUrls:wecom"] = baseUrl,
            ["Channels:ProviderBaseUrls:sms"] = baseUrl,
            ["Channels:ProviderBaseUrls:email"] = baseUrl,
            ["Channels:ProviderBaseUrls:push"] = baseUrl,
            ["Channels:AliyunSmsEndpoint"] = baseUrl + "/aliyun",
            ["Channels:TencentSmsEndpoint"] = baseUrl + "/tencent",
            ["Channels:Timeout"] = "00:00:02",
            ["Channels:RetryBaseDelay"] = "00:00:00.010",
        };
        // The fake's certificate is self-signed: trusted by its thumbprint, as a relay with a private CA would be.
        if (smtp) config["Channels:SmtpTrustedCertificates:0"] = fake.SmtpCertificateThumbprint;
        foreach (var (key, value) in settings ?? new Dictionary<string, string?>()) config[key] = value;

        var collection = new ServiceCollection().AddLogging();
        if (clock is not null) collection.AddSingleton(clock);
        collection.AddChannels(new ConfigurationBuilder().AddInMemoryCollection(config).Build());
        return new Harness(fake, collection.BuildServiceProvider());
    }

    public static ChannelMessage Template(string key, string openid = "openid-1", string templateId = "tmpl-order") =>
        new(Tenant, ChannelNames.WeChatTemplate, key, openid, AppId, templateId,
            new Dictionary<string, string> { ["thing1"] = "订单已发货", ["amount2"] = "¥99.00" }, "https://shop.example/o/1", "ref-" + key);

    public static ChannelMessage Subscribe(string key, string openid = "openid-1") =>
        new(Tenant, ChannelNames.MiniProgramSubscribe, key, openid, AppId, "tmpl-sub",
            new Dictionary<string, string> { ["thing1"] = "会员日" }, "pages/index?from=siyu", "ref-" + key);

    public static ChannelMessage Provider(string channel, string key, string to) =>
        new(Tenant, channel, key, to, null, "SMS_1234",
            new Dictionary<string, string> { ["code"] = "4711" }, null, "ref-" + key);

    public async ValueTask DisposeAsync()
    {
        await services.DisposeAsync();
        await Fake.DisposeAsync();
    }
}
