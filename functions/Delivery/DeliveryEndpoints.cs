using System.ComponentModel;
using System.Text.Json.Nodes;
using Siyu.Channels;
using Siyu.Core.Consent;
using Siyu.Core.Delivery;
using Siyu.Core.Storage;
using Siyu.Core.Tenants;
using Siyu.Core.Validation;
using Siyu.Functions.Api;
using Siyu.Functions.Audit;
using Siyu.Functions.Privacy;
using Siyu.Functions.Tenants;
using Siyu.Storage.Delivery;
using Siyu.Storage.Profiles;

namespace Siyu.Functions.Delivery;

public sealed record TemplateView(string Id, string Channel, JsonObject Template, DateTimeOffset UpdatedAt);

public sealed record SendingView(bool Halted, DateTimeOffset? ChangedAt, string? ChangedBy, IReadOnlyDictionary<string, ChannelCap> Caps);

public sealed record ChannelSettingsRequest(
    string? ApiKey,
    string? Sender,
    string? Url,
    [property: Description("Whether the provider drops a repeat of the Idempotency-Key it was given. Default: true for wecom, sms, email and push " +
        "(the provider contract requires it), false for webhook. Set false for a provider that does not (Aliyun or Tencent Cloud SMS, an SMTP relay): " +
        "each send is then claimed before it goes and goes at most once; one whose outcome a crash or a timeout left unknown is recorded failed " +
        "(outcome_unknown), never sent again.")]
    bool? Dedupes = null,
    [property: Description("Whose API the channel goes through: \"generic\" (the default: the generic provider contract) or, for sms, \"aliyun\" " +
        "(Alibaba Cloud SMS: accessKeyId, apiKey = the AccessKey secret, sender = the SignName) or \"tencent\" (Tencent Cloud SMS: accessKeyId = the " +
        "SecretId, apiKey = the SecretKey, appId = the SmsSdkAppId, sender = the SignName); for email, \"smtp\" (url = smtps://host[:465] or " +
        "smtp://host[:587] with STARTTLS, username, apiKey = the password, sender = the From address); for wecom, \"wecom\" (appId = the corpid, " +
        "apiKey = the secret, agentId for app messages, sender = the member who sends customer messages). None of these dedupes, so dedupes is false for them.")]
    string? Provider = null,
    [property: Description("The provider's key id where it signs with a key pair: the Aliyun AccessKey id, the Tencent Cloud SecretId.")]
    string? AccessKeyId = null,
    [property: Description("The provider's application the sends belong to: the Tencent Cloud SmsSdkAppId, or the WeCom corpid.")]
    string? AppId = null,
    [property: Description("The SMTP login of an smtp email account (its password is apiKey, its server url smtps://host[:465] or smtp://host[:587], its From address sender).")]
    string? Username = null,
    [property: Description("A WeCom account's app (agentid), for app messages to members.")]
    string? AgentId = null);

/// <param name="Pushes">For a provider that pushes delivery reports and replies to us (Aliyun, Tencent Cloud): the URLs to set in
/// its console, relative to this app, each carrying the tenant's push token.</param>
public sealed record ChannelView(string Channel, bool HasApiKey, string? Sender, string? Url, DateTimeOffset UpdatedAt, bool Dedupes,
    string Provider, string? AccessKeyId, string? AppId, string? Username, string? AgentId, IReadOnlyDictionary<string, string>? Pushes);

public sealed record DeliveryView(string Key, string Status, string? Reason, string? Detail, string? Channel, string? Template, string? Journey, string? Campaign,
    int Attempts, DateTimeOffset RequestedAt, DateTimeOffset? SentAt, DateTimeOffset? NotBefore, string? ProviderMessageId)
{
    public static DeliveryView From(DeliveryRecord d) => new(d.Key, d.Status, d.Reason, d.Detail, d.Channel, d.Template, d.Journey, d.Campaign, d.Attempts,
        d.RequestedAt, d.SentAt, d.NotBefore, d.ProviderMessageId);
}

/// <summary>
/// Sending: message templates, the brand's halt switch (停发) and caps, its provider accounts, provider delivery
/// receipts, and one person's deliveries.
/// </summary>
public static class DeliveryEndpoints
{
    public static void MapDelivery(this IEndpointRouteBuilder app)
    {
        var templates = app.MapGroup("/api/templates").WithTags("Templates");
        templates.MapPut("/{id}", PutTemplateAsync)
            .Allow(Role.Marketer, Role.Admin)
            .WithName("PutTemplate")
            .WithSummary("Save a message template: {channel, purpose, topic?, personalised?, appId?, providerTemplate, contactChannel?, link?, fields, variables}")
            .WithDescription("Fields hold the provider template's fields with {{variable}} placeholders; variables may have a default. Every problem is reported at once.")
            .Accepts<JsonObject>("application/json")
            .Produces<TemplateView>()
            .ProducesProblem(StatusCodes.Status400BadRequest);
        templates.MapGet("/{id}", async (string id, HttpContext http, TemplateStore store, CancellationToken ct) =>
                await store.GetAsync(http.Caller().TenantId, id, ct) is { } t ? Results.Ok(new TemplateView(t.Id, t.Template.Channel, t.Document, t.UpdatedAt))
                    : Problems.NotFound("template_not_found", $"no template '{id}'"))
            .Allow(Role.Marketer, Role.Admin)
            .WithName("GetTemplate")
            .WithSummary("A message template as saved")
            .Produces<TemplateView>()
            .ProducesProblem(StatusCodes.Status404NotFound);
        templates.MapGet("/", async (HttpContext http, TemplateStore store, CancellationToken ct) =>
                Results.Ok((await store.ListAsync(http.Caller().TenantId, ct)).Select(t => new TemplateView(t.Id, t.Template.Channel, t.Document, t.UpdatedAt)).ToList()))
            .Allow(Role.Marketer, Role.Admin)
            .WithName("ListTemplates")
            .WithSummary("Every message template of the tenant")
            .Produces<List<TemplateView>>();

        var sending = app.MapGroup("/api/tenants/current").WithTags("Sending");
        sending.MapGet("/sending", async (HttpContext http, SendingStore store, CancellationToken ct) => Results.Ok(View(await store.GetAsync(http.Caller().TenantId, ct))))
            .Allow(Role.Marketer, Role.Admin)
            .WithName("GetSending")
            .WithSummary("The brand's sending switch and caps")
            .Produces<SendingView>();
        sending.MapPost("/sending:halt", (HttpContext http, SendingStore store, SendingCache cache, AuditLog audit, TimeProvider clock, CancellationToken ct) =>
                SwitchAsync(http, true, store, cache, audit, clock, ct))
            .Allow(Role.Admin)
            .WithName("HaltSending")
            .WithSummary("Stop all sending at once (停发): queued and scheduled messages are held, not dropped, until resumed")
            .Produces<SendingView>();
        sending.MapPost("/sending:resume", (HttpContext http, SendingStore store, SendingCache cache, AuditLog audit, TimeProvider clock, CancellationToken ct) =>
                SwitchAsync(http, false, store, cache, audit, clock, ct))
            .Allow(Role.Admin)
            .WithName("ResumeSending")
            .WithSummary("Resume sending: held messages go out again")
            .Produces<SendingView>();
        sending.MapPut("/sending/caps", PutCapsAsync)
            .Allow(Role.Admin)
            .WithName("PutSendingCaps")
            .WithSummary("The most messages one person gets per channel: {\"wechat_oa\": {\"perDay\": 1, \"perWeek\": 3, \"perMonth\": 8}, …}; a person's own lower cap still wins")
            .Accepts<JsonObject>("application/json")
            .Produces<SendingView>()
            .ProducesProblem(StatusCodes.Status400BadRequest);
        sending.MapPut("/channels/{channel}", PutChannelAsync)
            .Allow(Role.Admin)
            .WithName("PutChannel")
            .WithSummary("The brand's provider account for wecom, sms, email or push ({apiKey, sender?, dedupes?}; for Aliyun SMS {provider: \"aliyun\", accessKeyId, apiKey, sender}; for Tencent Cloud SMS {provider: \"tencent\", accessKeyId, apiKey, appId, sender}; for email over SMTP {provider: \"smtp\", url, username, apiKey, sender}; for WeCom {provider: \"wecom\", appId, apiKey, agentId?, sender?}), or its webhook receiver ({url, apiKey?, dedupes?})")
            .WithDescription("WeChat channels use the appSecret of the registered WeChat app instead. The apiKey is stored encrypted and never shown again. " +
                             "dedupes says whether the provider drops a repeated Idempotency-Key (default true, false for webhook); where it does not, " +
                             "sends go at most once.")
            .Accepts<ChannelSettingsRequest>("application/json")
            .Produces<ChannelView>()
            .ProducesProblem(StatusCodes.Status400BadRequest);
        sending.MapGet("/channels", async (HttpContext http, SendingStore store, CancellationToken ct) =>
                Results.Ok((await store.ListChannelsAsync(http.Caller().TenantId, ct)).Select(c => ToView(http.Caller().TenantId, c)).ToList()))
            .Allow(Role.Admin)
            .WithName("ListChannels")
            .WithSummary("The brand's provider accounts (whether an API key is set, never the key)")
            .Produces<List<ChannelView>>();

        app.MapPost("/api/delivery/receipts/{tenant}/{channel}", ReceiptAsync)
            .AllowPublic().WithTags("Sending")
            .WithName("ProviderReceipt")
            .WithSummary("A provider's delivery receipt, signed with X-Siyu-Signature (HMAC-SHA256 of the body under the brand's provider API key)")
            .Accepts<JsonObject>("application/json")
            .Produces(StatusCodes.Status200OK)
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status401Unauthorized)
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status503ServiceUnavailable);

        app.MapGet("/api/profiles/{id}/deliveries", async (string id, HttpContext http, ProfileStore profiles, DeliveryStore store, AuditLog audit, CancellationToken ct) =>
            {
                var tenant = http.Caller().TenantId;
                if (!Ids.IsProfileId(id) || await LiveProfiles.ReadAsync(profiles, tenant, id, ct) is not { } live)
                    return Problems.NotFound("profile_not_found", $"no profile '{id}'");
                await audit.RecordAsync(http, AuditLog.Actions.ProfileDeliveriesRead, live.ProfileId);
                return Results.Ok((await store.ForProfileAsync(tenant, live.ProfileId, ct)).Select(DeliveryView.From).ToList());
            })
            .Allow(Role.Marketer, Role.Admin)
            .WithTags("Profiles")
            .WithName("GetProfileDeliveries")
            .WithSummary("Every message to this person: status (sent, delivered, suppressed, deferred, failed…), reason, channel, journey or campaign")
            .Produces<List<DeliveryView>>()
            .ProducesProblem(StatusCodes.Status404NotFound);
    }

    private static SendingView View(TenantSending s) => new(s.Halted, s.ChangedAt, s.ChangedBy, s.Caps);

    private static ChannelView ToView(string tenant, ChannelSettings c) => new(c.Channel, c.ApiKey is not null, c.Sender, c.Url, c.UpdatedAt, c.Dedupes,
        c.Provider ?? ChannelProviders.Generic, ChannelProviders.HasKeyPair(c.Provider) ? c.KeyId : null, c.AppId,
        c.Provider == ChannelProviders.Smtp ? c.KeyId : null, c.Provider == ChannelProviders.WeCom ? c.KeyId : null, ProviderPushEndpoints.Urls(tenant, c));

    private static async Task<IResult> PutTemplateAsync(string id, HttpContext http, TemplateStore store, SendingCache cache, AuditLog audit, TimeProvider clock, CancellationToken ct)
    {
        if (!Siyu.Core.Journeys.JourneyParser.IsValidId(id)) return Problems.BadRequest("invalid_template_id", $"a template id {Siyu.Core.Journeys.JourneyParser.IdRule}");
        var (node, problem) = await RequestBody.ReadNodeAsync(http.Request, 64 * 1024, ct);
        if (problem is not null) return problem;
        var doc = node as JsonObject;
        var errors = new List<(string Field, string Message)>();
        var template = MessageTemplates.Parse(id, doc, errors);
        if (template is null) return Problems.Invalid("invalid_template", $"template '{id}'", FieldError.FromFields(errors, "invalid_template"));
        var tenant = http.Caller().TenantId;
        var now = clock.GetUtcNow();
        await store.PutAsync(tenant, id, doc!, now, ct);
        cache.ForgetTemplate(tenant, id);
        await audit.RecordAsync(http, AuditLog.Actions.TemplatesChanged, null, $"template {id}");
        return Results.Ok(new TemplateView(id, template.Channel, doc!, now));
    }

    private static async Task<IResult> SwitchAsync(HttpContext http, bool halt, SendingStore store, SendingCache cache, AuditLog audit, TimeProvider clock, CancellationToken ct)
    {
        var caller = http.Caller();
        await store.SetHaltedAsync(caller.TenantId, halt, caller.KeyId, clock.GetUtcNow(), ct);
        cache.Forget(caller.TenantId);
        await audit.RecordAsync(http, AuditLog.Actions.SendingChanged, null, halt ? "sending halted" : "sending resumed");
        return Results.Ok(View(await store.GetAsync(caller.TenantId, ct)));
    }

    private static async Task<IResult> PutCapsAsync(HttpContext http, SendingStore store, SendingCache cache, AuditLog audit, CancellationToken ct)
    {
        var (caps, problem) = await RequestBody.ReadObjectAsync<Dictionary<string, ChannelCap>>(http.Request, 16 * 1024, System.Text.Json.JsonSerializerOptions.Web,
            "invalid_caps", "an object of channel caps, e.g. {\"sms\": {\"perDay\": 1, \"perWeek\": 3}}", ct);
        if (caps is null) return problem!;
        // The same rules as a person's own caps.
        var errors = FieldError.FromFields(new Preferences { Caps = caps }.Validate(), "invalid_caps");
        if (errors.Count > 0) return Problems.Invalid("invalid_caps", "the caps", errors);
        var tenant = http.Caller().TenantId;
        await store.SetCapsAsync(tenant, caps, ct);
        cache.Forget(tenant);
        await audit.RecordAsync(http, AuditLog.Actions.SendingChanged, null, "caps changed");
        return Results.Ok(View(await store.GetAsync(tenant, ct)));
    }

    private static async Task<IResult> PutChannelAsync(string channel, HttpContext http, SendingStore store, SendingCache cache, AuditLog audit, TimeProvider clock, CancellationToken ct)
    {
        if (channel is not ("wecom" or "sms" or "email" or "push" or MessageTemplates.Webhook))
            return Problems.BadRequest("unknown_channel", $"'{channel}' has no provider account here: use wecom, sms, email, push or webhook (WeChat channels use the registered app)");
        var (request, problem) = await RequestBody.ReadObjectAsync<ChannelSettingsRequest>(http.Request, 8 * 1024, System.Text.Json.JsonSerializerOptions.Web,
            "invalid_channel", "{\"apiKey\": \"…\", \"sender\": \"…\", \"dedupes\": true|false} or, for webhook, {\"url\": \"https://…\"}", ct);
        if (request is null) return problem!;
        var errors = new List<string>();
        if (channel == MessageTemplates.Webhook)
        {
            if (!Uri.TryCreate(request.Url, UriKind.Absolute, out var url) || url.Scheme is not ("https" or "http")) errors.Add("url: an absolute http(s) URL is required");
        }
        else if (string.IsNullOrWhiteSpace(request.ApiKey) || request.ApiKey.Length > 512)
            errors.Add($"apiKey: {(request.Provider == ChannelProviders.Smtp ? "the SMTP password" : "the provider API key")} is required (at most 512 characters)");
        if (request.Sender is { Length: > 128 }) errors.Add("sender: at most 128 characters");
        var provider = request.Provider is null or ChannelProviders.Generic ? null : request.Provider;
        if (provider is not null && !ChannelProviders.For(channel).Contains(provider))
            errors.Add($"provider: '{provider}' does not speak for {channel}; use {string.Join(" or ", ChannelProviders.For(channel).DefaultIfEmpty("none"))}");
        if (ChannelProviders.HasKeyPair(provider))
        {
            var (name, keyName) = provider == ChannelProviders.Aliyun ? ("Aliyun SMS", "the Aliyun AccessKey id") : ("Tencent Cloud SMS", "the Tencent Cloud SecretId");
            if (string.IsNullOrWhiteSpace(request.AccessKeyId) || request.AccessKeyId.Length > 128) errors.Add($"accessKeyId: {keyName} is required (at most 128 characters)");
            if (string.IsNullOrWhiteSpace(request.Sender)) errors.Add("sender: the SignName (短信签名) messages go out under is required");
            if (request.Dedupes is true) errors.Add($"dedupes: {name} does not drop repeated requests; leave dedupes out or false");
        }
        else if (request.AccessKeyId is not null) errors.Add("accessKeyId: only an aliyun or tencent account has a key id");
        if (provider == ChannelProviders.Smtp)
        {
            if (!Siyu.Channels.Email.SmtpEndpoint.TryParse(request.Url, out _, out var urlError)) errors.Add(urlError);
            if (string.IsNullOrWhiteSpace(request.Username) || request.Username.Length > 256) errors.Add("username: the SMTP login is required (at most 256 characters)");
            if (!MimeKit.MailboxAddress.TryParse(request.Sender, out var from) || !from.Address.Contains('@'))
                errors.Add("sender: the From address is required, e.g. 品牌 <news@brand.cn>");
            if (request.Dedupes is true) errors.Add("dedupes: SMTP has no idempotency key; leave dedupes out or false");
        }
        else if (request.Username is not null) errors.Add("username: only an smtp account has a username");
        if (provider == ChannelProviders.Tencent)
        {
            if (request.AppId is not { Length: > 0 and <= 32 } appId || !appId.All(char.IsAsciiDigit)) errors.Add("appId: the SmsSdkAppId (digits, e.g. 1400006666) is required");
        }
        else if (provider == ChannelProviders.WeCom)
        {
            if (request.AppId is not { Length: > 0 and <= 64 } corpId || !corpId.All(char.IsAsciiLetterOrDigit)) errors.Add("appId: the WeCom corpid (e.g. ww1234567890abcdef) is required");
            if (request.AgentId is { } agent && (agent.Length is 0 or > 10 || !agent.All(char.IsAsciiDigit))) errors.Add("agentId: the WeCom app's agentid is digits, e.g. 1000002");
            if (request.Sender is { } member && (member.Length is 0 or > 64)) errors.Add("sender: the member's userid, at most 64 characters");
            if (request.Dedupes is true) errors.Add("dedupes: WeCom takes no key of ours (a repeated add_msg_template is a second task); leave dedupes out or false");
        }
        else if (request.AppId is not null) errors.Add("appId: only a tencent account (SmsSdkAppId) or a wecom account (corpid) has one");
        if (request.AgentId is not null && provider != ChannelProviders.WeCom) errors.Add("agentId: only a wecom account has an agentid");
        if (errors.Count > 0) return Problems.Invalid("invalid_channel", $"the {channel} account", errors);
        var tenant = http.Caller().TenantId;
        var dedupes = ChannelProviders.Dedupes(provider) && (request.Dedupes ?? SendOnce.DedupesByDefault(channel));
        var settings = new ChannelSettings(channel, request.ApiKey, request.Sender, request.Url, clock.GetUtcNow(), dedupes, provider,
            provider == ChannelProviders.Smtp ? request.Username : provider == ChannelProviders.WeCom ? request.AgentId : request.AccessKeyId, request.AppId);
        await store.PutChannelAsync(tenant, settings, ct);
        cache.ForgetAccounts();
        await audit.RecordAsync(http, AuditLog.Actions.ChannelsChanged, null, $"{channel} account set ({provider ?? ChannelProviders.Generic})");
        return Results.Ok(ToView(tenant, settings));
    }

    /// <summary>
    /// A provider's receipt. The signature is checked against the brand's API key for the channel before anything is
    /// read; the reference is the delivery row we sent, so a receipt can only touch a delivery of that brand.
    /// </summary>
    private static async Task<IResult> ReceiptAsync(string tenant, string channel, HttpContext http, SendingStore store, DeliveryReceipts receipts, CancellationToken ct)
    {
        var body = await RequestBody.ReadAsync(http.Request, 16 * 1024, ["application/json"], ct);
        if (body.Problem is not null) return body.Problem;
        // Only the generic contract signs receipts so; a provider of its own (Aliyun, Tencent) pushes to its own endpoint.
        if (!TenantRules.IsValidTenantId(tenant) || await store.GetChannelAsync(tenant, channel, ct) is not { ApiKey: { } secret, Provider: null })
            return Problems.NotFound("receipts_not_found", "no such receipt endpoint");
        if (!ReceiptSignature.Verify(secret, body.Body, http.Request.Headers["X-Siyu-Signature"]))
            return Problems.Unauthorized("bad_signature", "X-Siyu-Signature does not match the body");
        if (!ProviderReceipt.TryParse(body.Body, out var receipt, out var error))
            return Problems.BadRequest("invalid_receipt", error ?? "not a receipt");
        var marker = receipt.Reference.IndexOf("~d~", StringComparison.Ordinal);
        if (marker <= 0 || !Ids.IsProfileId(receipt.Reference[..marker])) return Problems.BadRequest("invalid_receipt", "reference is not one of ours");
        var delivered = receipt.Status == "delivered";
        var result = await receipts.ApplyAsync(tenant, receipt.Reference[..marker], receipt.Reference[(marker + 3)..], delivered,
            delivered ? null : receipt.ErrorCode ?? "failed", receipt.ErrorMessage, ct);
        return result switch
        {
            DeliveryReceipts.Result.NotFound => Problems.NotFound("delivery_not_found", "no delivery has this reference"),
            DeliveryReceipts.Result.NotYet => Problems.Create(StatusCodes.Status503ServiceUnavailable, "not_yet", "Try again shortly", "the send is still being recorded"),
            _ => Results.Ok(new { result = result.ToString().ToLowerInvariant() }),
        };
    }
}
