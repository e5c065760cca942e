using Microsoft.Extensions.Options;
using Siyu.Channels;
using Siyu.Core.Delivery;
using Siyu.Functions.WeChat;
using Siyu.Storage.Caching;
using Siyu.Storage.Delivery;

namespace Siyu.Functions.Delivery;

/// <summary>
/// What every send looks up, cached briefly (<see cref="DeliverySettings.CacheTtl"/>): the tenant's halt switch and
/// caps, campaign states, templates and provider accounts. The short life is what makes a halt or a cancel take
/// effect within seconds on every worker without a read per message.
/// </summary>
public sealed class SendingCache(SendingStore sending, CampaignStore campaigns, TemplateStore templates, WeChatAppCache apps, TimeProvider clock,
    IOptions<DeliverySettings> options)
{
    private readonly BoundedCache<string, TenantSending> _sending = new(10_000, clock, options.Value.CacheTtl);
    private readonly BoundedCache<string, StoredCampaign?> _campaigns = new(10_000, clock, options.Value.CacheTtl);
    private readonly BoundedCache<string, MessageTemplate?> _templates = new(10_000, clock, options.Value.CacheTtl * 5);
    private readonly BoundedCache<string, ChannelAccount?> _accounts = new(10_000, clock, options.Value.CacheTtl * 5);

    public Task<TenantSending> SendingAsync(string tenantId, CancellationToken ct) =>
        _sending.GetOrAddAsync(tenantId, t => sending.GetAsync(t, ct));

    public Task<StoredCampaign?> CampaignAsync(string tenantId, string campaignId, CancellationToken ct) =>
        _campaigns.GetOrAddAsync($"{tenantId}|{campaignId}", _ => campaigns.GetAsync(tenantId, campaignId, ct));

    /// <summary>The campaign as this instance last read it (at most CacheTtl ago), without reading it when it has none.</summary>
    public StoredCampaign? CachedCampaign(string tenantId, string campaignId) =>
        _campaigns.TryGet($"{tenantId}|{campaignId}", out var campaign) ? campaign : null;

    public Task<MessageTemplate?> TemplateAsync(string tenantId, string templateId, CancellationToken ct) =>
        _templates.GetOrAddAsync($"{tenantId}|{templateId}", async _ => (await templates.GetAsync(tenantId, templateId, ct))?.Template);

    /// <summary>The tenant's account for a template's channel: its WeChat app's secret, or its provider settings.</summary>
    public Task<ChannelAccount?> AccountAsync(string tenantId, MessageTemplate template, CancellationToken ct) =>
        _accounts.GetOrAddAsync($"{tenantId}|{template.Channel}|{template.AppId}", async _ =>
        {
            if (MessageTemplates.IsWeChat(template.Channel))
            {
                var app = await apps.GetAsync(tenantId, template.AppId!, ct);
                return app?.AppSecret is { } secret ? new ChannelAccount(AppId: app.App.AppId, AppSecret: secret) : null;
            }
            var settings = await sending.GetChannelAsync(tenantId, template.Channel, ct);
            return settings is null ? null : new ChannelAccount(ApiKey: settings.ApiKey, Sender: settings.Sender, Url: settings.Url, Dedupes: settings.Dedupes && ChannelProviders.Dedupes(settings.Provider),
                Provider: settings.Provider, KeyId: settings.KeyId, AppId: settings.AppId);
        });

    /// <summary>Drops what this process cached for a tenant, so its own changes (a halt, a cancel) apply here at once.</summary>
    public void Forget(string tenantId, string? campaignId = null)
    {
        _sending.Remove(tenantId);
        if (campaignId is not null) _campaigns.Remove($"{tenantId}|{campaignId}");
    }

    public void ForgetTemplate(string tenantId, string templateId) => _templates.Remove($"{tenantId}|{templateId}");

    public void ForgetAccounts() => _accounts.Clear();
}
