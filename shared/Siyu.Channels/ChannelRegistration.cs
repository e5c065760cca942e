using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using Siyu.Channels.Providers;
using Siyu.Channels.Sending;
using Siyu.Channels.WeChat;

namespace Siyu.Channels;

/// <summary>
/// Wires the channel edge: options from "Channels", one HttpClient per kind of provider (their request logging
/// removed: WeChat URLs carry the access token; redirects not followed: a POST must not land elsewhere as a GET),
/// the token cache, the rate limiter, the senders and
/// <see cref="ChannelSenders"/>, all singletons. A TimeProvider registered before this call is used as the clock.
/// </summary>
public static class ChannelRegistration
{
    public static IServiceCollection AddChannels(this IServiceCollection services, IConfiguration config)
    {
        services.AddOptions<ChannelOptions>().Bind(config.GetSection(ChannelOptions.Section));
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton(sp => sp.GetRequiredService<IOptions<ChannelOptions>>().Value);

        foreach (var name in new[] { WeChatTokenCache.HttpClientName, GenericProviderSender.HttpClientName, WebhookSender.HttpClientName, Aliyun.AliyunSmsSender.HttpClientName, Tencent.TencentSmsSender.HttpClientName, WeCom.WeComTokenCache.HttpClientName })
        {
            services.AddHttpClient(name, c => c.Timeout = Timeout.InfiniteTimeSpan) // ChannelOptions.Timeout applies per attempt
                .ConfigurePrimaryHttpMessageHandler(() => new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.FromMinutes(5), AllowAutoRedirect = false })
                .RemoveAllLoggers();
        }

        services.TryAddSingleton<ProviderHttp>();
        services.TryAddSingleton<SendRateLimiter>();
        services.TryAddSingleton<SendAttempts>();
        services.TryAddSingleton<WeChatTokenCache>();
        services.TryAddSingleton<WeCom.WeComTokenCache>();
        services.AddSingleton<IChannelSender, WeChatSender>();
        services.AddSingleton<IChannelSender, GenericProviderSender>();
        services.AddSingleton<IChannelSender, WebhookSender>();
        services.AddSingleton<IChannelSender, Aliyun.AliyunSmsSender>();
        services.AddSingleton<IChannelSender, Tencent.TencentSmsSender>();
        services.AddSingleton<IChannelSender, Email.SmtpEmailSender>();
        services.AddSingleton<IChannelSender, WeCom.WeComSender>();
        services.TryAddSingleton<ChannelSenders>();
        return services;
    }
}
