using System.Text.Json.Nodes;
using Microsoft.Extensions.Options;
using Siyu.Channels;
using Siyu.Channels.Aliyun;
using Siyu.Channels.Tencent;
using Siyu.Core.Consent;
using Siyu.Core.Delivery;
using Siyu.Core.Events;
using Siyu.Core.Identities;
using Siyu.Core.Storage;
using Siyu.Core.Tenants;
using Siyu.Functions.Api;
using Siyu.Functions.Ingestion;
using Siyu.Functions.Tenants;
using Siyu.Storage.Delivery;
using Siyu.Storage.Identities;

namespace Siyu.Functions.Delivery;

/// <summary>
/// What SMS providers push to us on their own contracts, on the URLs the brand sets in the provider's console
/// (<see cref="Urls"/>, shown with the account): Aliyun's delivery reports (SmsReport) and replies (SmsUp), each a JSON
/// array; Tencent Cloud's status callback (a JSON array) and reply callback (one object). A report moves its delivery
/// to delivered or failed (Aliyun names it by the OutId we sent; Tencent by the SerialNo it answered, found among the
/// deliveries of the person with that number); a reply of an opt-out word withdraws the person's marketing SMS consent
/// in the ledger, the reply as evidence. Neither provider signs its pushes: the URL's token, derived from the
/// account's secret, is what a push must carry.
/// </summary>
public static class ProviderPushEndpoints
{
    public const int MaxPushBytes = 512 * 1024;

    /// <summary>The push URLs (relative to the app) of a tenant's provider account, or null for a provider that pushes nothing to us.</summary>
    public static IReadOnlyDictionary<string, string>? Urls(string tenant, ChannelSettings account) => account switch
    {
        { Provider: ChannelProviders.Aliyun, ApiKey: { } secret } => new Dictionary<string, string>
        {
            ["SmsReport"] = $"/api/delivery/aliyun/{tenant}/report?token={AliyunPush.Token(secret, tenant)}",
            ["SmsUp"] = $"/api/delivery/aliyun/{tenant}/reply?token={AliyunPush.Token(secret, tenant)}",
        },
        { Provider: ChannelProviders.Tencent, ApiKey: { } secret } => new Dictionary<string, string>
        {
            ["status"] = $"/api/delivery/tencent/{tenant}/status?token={TencentPush.Token(secret, tenant)}",
            ["reply"] = $"/api/delivery/tencent/{tenant}/reply?token={TencentPush.Token(secret, tenant)}",
        },
        _ => null,
    };

    public static void MapProviderPushes(this IEndpointRouteBuilder app)
    {
        app.MapPost("/api/delivery/aliyun/{tenant}/report", ReportAsync)
            .AllowPublic().WithTags("Sending")
            .WithName("AliyunSmsReport")
            .WithSummary("Aliyun SMS delivery reports (SmsReport HTTP batch push), on the URL with its token shown by GET /api/tenants/current/channels")
            .Accepts<JsonArray>("application/json")
            .Produces(StatusCodes.Status200OK)
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status401Unauthorized)
            .ProducesProblem(StatusCodes.Status404NotFound);
        app.MapPost("/api/delivery/aliyun/{tenant}/reply", ReplyAsync)
            .AllowPublic().WithTags("Sending")
            .WithName("AliyunSmsReply")
            .WithSummary("Aliyun SMS replies (SmsUp HTTP batch push): an opt-out word (T, TD, R, 退订…) withdraws the person's marketing SMS consent")
            .Accepts<JsonArray>("application/json")
            .Produces(StatusCodes.Status200OK)
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status401Unauthorized)
            .ProducesProblem(StatusCodes.Status404NotFound);
        app.MapPost("/api/delivery/tencent/{tenant}/status", TencentStatusAsync)
            .AllowPublic().WithTags("Sending")
            .WithName("TencentSmsStatus")
            .WithSummary("Tencent Cloud SMS status callback (短信下发状态通知), on the URL with its token shown by GET /api/tenants/current/channels")
            .Accepts<JsonArray>("application/json")
            .Produces(StatusCodes.Status200OK)
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status401Unauthorized)
            .ProducesProblem(StatusCodes.Status404NotFound);
        app.MapPost("/api/delivery/tencent/{tenant}/reply", TencentReplyAsync)
            .AllowPublic().WithTags("Sending")
            .WithName("TencentSmsReply")
            .WithSummary("Tencent Cloud SMS reply callback (短信回复): an opt-out word (T, TD, R, 退订…) withdraws the person's marketing SMS consent")
            .Accepts<JsonObject>("application/json")
            .Produces(StatusCodes.Status200OK)
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status401Unauthorized)
            .ProducesProblem(StatusCodes.Status404NotFound);
    }

    /// <summary>The push's body, once its tenant, account and token hold; otherwise the problem to answer.</summary>
    private static async Task<(byte[]? Body, IResult? Problem)> ReadAsync(string tenant, string provider, HttpContext http, SendingStore store, CancellationToken ct)
    {
        var body = await RequestBody.ReadAsync(http.Request, MaxPushBytes, ["application/json"], ct);
        if (body.Problem is not null) return (null, body.Problem);
        if (!TenantRules.IsValidTenantId(tenant) || await store.GetChannelAsync(tenant, ChannelNames.Sms, ct) is not { ApiKey: { } secret } account || account.Provider != provider)
            return (null, Problems.NotFound("push_not_found", "no such push endpoint"));
        var token = http.Request.Query["token"].ToString();
        if (!(provider == ChannelProviders.Aliyun ? AliyunPush.TokenMatches(secret, tenant, token) : TencentPush.TokenMatches(secret, tenant, token)))
            return (null, Problems.Unauthorized("bad_token", "the push URL's token does not match this account (see GET /api/tenants/current/channels)"));
        return (body.Body, null);
    }

    private static async Task<IResult> ReportAsync(string tenant, HttpContext http, SendingStore store, DeliveryReceipts receipts, CancellationToken ct)
    {
        var (body, problem) = await ReadAsync(tenant, ChannelProviders.Aliyun, http, store, ct);
        if (problem is not null) return problem;
        if (!AliyunPush.TryParseReports(body, out var reports, out var error)) return Problems.BadRequest("invalid_push", error ?? "not an SmsReport push");
        var later = 0;
        foreach (var report in reports)
        {
            // OutId is the reference we sent: {profileId}~d~{delivery key}. One that is not ours is skipped, not fatal to the batch.
            var marker = report.OutId?.IndexOf("~d~", StringComparison.Ordinal) ?? -1;
            if (marker <= 0 || !Ids.IsProfileId(report.OutId![..marker])) continue;
            var result = await receipts.ApplyAsync(tenant, report.OutId[..marker], report.OutId[(marker + 3)..], report.Success,
                report.Success ? null : "aliyun_" + (report.ErrorCode ?? "failed"), report.ErrorMessage, ct);
            if (result == DeliveryReceipts.Result.NotYet) later++;
        }
        // Aliyun pushes again what is answered with a 5xx; repeats change nothing.
        return later == 0 ? Results.Json(AliyunPush.Taken)
            : Results.Json(AliyunPush.Again($"{later} reports arrived before their sends were recorded"), statusCode: StatusCodes.Status503ServiceUnavailable);
    }

    private static async Task<IResult> ReplyAsync(string tenant, HttpContext http, SendingStore store, IngestQueue ingest, IOptions<DeliverySettings> settings,
        TimeProvider clock, CancellationToken ct)
    {
        var (body, problem) = await ReadAsync(tenant, ChannelProviders.Aliyun, http, store, ct);
        if (problem is not null) return problem;
        if (!AliyunPush.TryParseReplies(body, out var replies, out var error)) return Problems.BadRequest("invalid_push", error ?? "not an SmsUp push");
        await WithdrawAsync(tenant, "aliyun", replies.Select(r => (r.PhoneNumber, r.Content, r.SignName, ChinaTime(r.SendTime), "Aliyun SmsUp")), ingest, settings, clock, ct);
        return Results.Json(AliyunPush.Taken);
    }

    private static async Task<IResult> TencentStatusAsync(string tenant, HttpContext http, SendingStore store, IdentityStore identities, DeliveryStore deliveries,
        DeliveryReceipts receipts, ILoggerFactory logs, CancellationToken ct)
    {
        var (body, problem) = await ReadAsync(tenant, ChannelProviders.Tencent, http, store, ct);
        if (problem is not null) return problem;
        if (!TencentPush.TryParseReports(body, out var reports, out var error)) return Problems.BadRequest("invalid_push", error ?? "not a status callback");
        var later = 0;
        foreach (var byPhone in reports.GroupBy(r => r.Phone))
        {
            // Tencent names the send by its SerialNo: it is among the deliveries of the person with that number.
            if (!IdentityRules.TryCreate(IdentityType.Phone, byPhone.Key, null, out var phone, out _)) continue;
            var pid = await identities.LookupAsync(tenant, phone.Key, ct);
            if (pid is null) continue;
            var theirs = await deliveries.ForProfileAsync(tenant, pid, ct);
            // Tencent may call back before we have recorded the SerialNo it answered with (a campaign message's row is
            // written with its outcome): that record is a moment away, so look again a few times before calling it a stranger.
            for (var attempt = 0; attempt < 5 && byPhone.Any(r => theirs.All(d => d.ProviderMessageId != r.SerialNo)); attempt++)
            {
                await Task.Delay(TimeSpan.FromMilliseconds(200 * (attempt + 1)), ct);
                theirs = await deliveries.ForProfileAsync(tenant, pid, ct);
            }
            foreach (var report in byPhone)
            {
                if (theirs.FirstOrDefault(d => d.ProviderMessageId == report.SerialNo) is not { } delivery)
                {
                    // Not a SerialNo we recorded (a send whose answer was lost has none): nothing to move.
                    logs.CreateLogger(typeof(ProviderPushEndpoints)).LogInformation("Tencent status for {SerialNo} matches no delivery", report.SerialNo);
                    continue;
                }
                var result = await receipts.ApplyAsync(tenant, pid, delivery.Key, report.Success,
                    report.Success ? null : "tencent_" + (report.ErrorCode ?? "failed"), report.Description, ct);
                if (result == DeliveryReceipts.Result.NotYet) later++;
            }
        }
        return later == 0 ? Results.Json(TencentPush.Taken)
            : Results.Json(TencentPush.Again($"{later} statuses arrived before their sends were recorded"), statusCode: StatusCodes.Status503ServiceUnavailable);
    }

    private static async Task<IResult> TencentReplyAsync(string tenant, HttpContext http, SendingStore store, IngestQueue ingest, IOptions<DeliverySettings> settings,
        TimeProvider clock, CancellationToken ct)
    {
        var (body, problem) = await ReadAsync(tenant, ChannelProviders.Tencent, http, store, ct);
        if (problem is not null) return problem;
        if (!TencentPush.TryParseReply(body, out var reply, out var error)) return Problems.BadRequest("invalid_push", error ?? "not a reply callback");
        DateTimeOffset? at = reply!.Time is { } seconds && seconds > 0 && seconds < 100_000_000_000 ? DateTimeOffset.FromUnixTimeSeconds(seconds) : null;
        await WithdrawAsync(tenant, "tencent", [(reply.Phone, reply.Text, reply.Sign, at, "Tencent Cloud SMS reply")], ingest, settings, clock, ct);
        return Results.Json(TencentPush.Taken);
    }

    /// <summary>Each reply of an opt-out word becomes a consent event withdrawing marketing SMS, the reply as its evidence.</summary>
    private static async Task WithdrawAsync(string tenant, string source, IEnumerable<(string Phone, string Text, string? SignName, DateTimeOffset? At, string Via)> replies,
        IngestQueue ingest, IOptions<DeliverySettings> settings, TimeProvider clock, CancellationToken ct)
    {
        var words = settings.Value.OptOutWords is { Count: > 0 } configured ? configured : SmsOptOut.DefaultWords;
        var now = clock.GetUtcNow();
        var withdrawals = new List<IncomingEvent>();
        foreach (var reply in replies.Where(r => SmsOptOut.IsOptOut(r.Text, words)))
        {
            if (!IdentityRules.TryCreate(IdentityType.Phone, reply.Phone, null, out var phone, out _)) continue;
            var at = reply.At ?? now;
            withdrawals.Add(new IncomingEvent
            {
                // One withdrawal per reply: a repeated push records it once.
                MessageId = $"sms-reply:{source}:{phone.Value}:{at.UtcTicks}",
                Type = EventType.Consent,
                Name = ConsentFacts.EventName,
                Identities = [phone],
                Properties = new JsonObject
                {
                    ["purpose"] = ConsentVocabulary.Marketing, ["channel"] = ChannelNames.Sms, ["status"] = "withdrawn", ["source"] = "sms_reply",
                    ["evidence"] = $"replied '{reply.Text.Trim()}' to {(string.IsNullOrEmpty(reply.SignName) ? "our SMS" : reply.SignName)} ({reply.Via})",
                },
                Timestamp = at > now ? now : at,
                ReceivedAt = now,
                Source = source,
            });
        }
        if (withdrawals.Count > 0) await ingest.EnqueueAsync(tenant, withdrawals, ct);
    }

    /// <summary>Aliyun's "yyyy-MM-dd HH:mm:ss" in China time, or null.</summary>
    private static DateTimeOffset? ChinaTime(string? text) =>
        DateTime.TryParseExact(text, "yyyy-MM-dd HH:mm:ss", System.Globalization.CultureInfo.InvariantCulture, System.Globalization.DateTimeStyles.None, out var local)
            ? new DateTimeOffset(local, TimeSpan.FromHours(8)) : null;
}
