using Azure;
using Microsoft.Extensions.Options;
using Siyu.Core.Tenants;
using Siyu.Core.WeChat;
using Siyu.Functions.Api;
using Siyu.Functions.Hosting;
using Siyu.Functions.Ingestion;
using Siyu.Functions.Tenants;
using Siyu.Storage.Caching;
using Siyu.Storage.WeChat;

namespace Siyu.Functions.WeChat;

/// <summary>Registered apps by (tenant, appId), cached briefly: every push needs one, and WeChat wants an answer within 5 s.</summary>
public sealed class WeChatAppCache(WeChatAppStore apps, TimeProvider clock)
{
    private readonly BoundedCache<string, WeChatAppRecord?> _cache = new(10_000, clock, TimeSpan.FromSeconds(30));

    public Task<WeChatAppRecord?> GetAsync(string tenantId, string appId, CancellationToken ct) =>
        _cache.GetOrAddAsync(tenantId + "|" + appId, _ => apps.GetAsync(tenantId, appId, ct));

    public void Forget(string tenantId, string appId) => _cache.Remove(tenantId + "|" + appId);
}

/// <summary>
/// The message-push URL of an official account or mini-program: <c>/api/wechat/{tenant}/{appId}</c>.
/// GET answers WeChat's URL verification. POST verifies (and in safe mode decrypts) the push, turns it into an
/// event within <see cref="WeChatLimits"/>, claims its nonce, queues it and answers "success" at once: processing
/// happens from the queue, well inside WeChat's 5 s. WeChat retries a push it got no answer to; the retry has the
/// same body (so its nonce claim lets it through) and the same dedupe key, so it is stored once.
/// </summary>
public static class WeChatPushEndpoints
{
    public static void MapWeChatPush(this IEndpointRouteBuilder app)
    {
        app.MapGet("/api/wechat/{tenant}/{appId}", VerifyAsync)
            .AllowPublic().WithTags("WeChat push").WithName("WeChatVerifyUrl")
            .WithSummary("WeChat server URL verification (signature, timestamp, nonce, echostr; msg_signature in safe form)")
            .Produces<string>(contentType: "text/plain").ProducesProblem(StatusCodes.Status401Unauthorized).ProducesProblem(StatusCodes.Status404NotFound);

        app.MapPost("/api/wechat/{tenant}/{appId}", PushAsync)
            .AllowPublic().WithTags("WeChat push").WithName("WeChatPush")
            .WithSummary("A WeChat message or event push: XML or JSON, plaintext, compatible or safe (AES) mode")
            .Produces<string>(contentType: "text/plain")
            .ProducesProblem(StatusCodes.Status400BadRequest).ProducesProblem(StatusCodes.Status401Unauthorized).ProducesProblem(StatusCodes.Status404NotFound);
    }

    private static async Task<IResult> VerifyAsync(string tenant, string appId, HttpRequest request, WeChatAppCache apps,
        IOptions<WeChatSettings> settings, TimeProvider clock, CancellationToken ct)
    {
        if (await FindAsync(tenant, appId, apps, ct) is not { } record) return UnknownApp();
        var result = WeChatInbound.VerifyUrl(record.App, WeChatUrlQuery.From(k => request.Query[k].FirstOrDefault()), clock.GetUtcNow(), settings.Value.MaxTimestampSkew);
        return result.IsOk ? Results.Text(result.Value, "text/plain") : Refused(result.Error);
    }

    private static async Task<IResult> PushAsync(string tenant, string appId, HttpRequest request, WeChatAppCache apps, WeChatNonceStore nonces,
        IngestQueue queue, IOptions<WeChatSettings> settings, TimeProvider clock, CancellationToken ct)
    {
        // Where an acknowledgement's time goes, in its Server-Timing header (the benchmark reads it under load).
        var timing = new ServerTiming(request.HttpContext.Response);
        if (await timing.Time("app", FindAsync(tenant, appId, apps, ct)) is not { } record) return UnknownApp();

        var body = await timing.Time("body", RequestBody.ReadAsync(request, settings.Value.MaxBodyBytes,
            ["text/xml", "application/xml", "application/json", "text/plain"], ct));
        if (body.Problem is not null) return body.Problem;
        string text;
        try { text = new System.Text.UTF8Encoding(false, true).GetString(body.Body!); }
        catch (System.Text.DecoderFallbackException) { return Problems.BadRequest("wechat_malformed", "the body is not UTF-8"); }

        var now = clock.GetUtcNow();
        var skew = settings.Value.MaxTimestampSkew;
        var query = WeChatPushQuery.From(k => request.Query[k].FirstOrDefault());
        var opened = timing.Time("open", () => WeChatInbound.OpenPush(record.App, query, text, now, skew));
        if (!opened.IsOk) return Refused(opened.Error);
        var mapped = WeChatEventMapper.TryMap(opened.Value, appId, now, record.App.Kind);
        if (!mapped.IsOk) return Refused(mapped.Error);

        // A plaintext signature covers token, timestamp and nonce, not the body: without this, one signed query could
        // carry any body until its timestamp goes stale. Encrypted pushes take the same path for one rule everywhere
        // (their msg_signature covers the body already). The claim lasts the timestamp window, so it is off when that is.
        if (skew > TimeSpan.Zero)
        {
            var claim = WeChatReplay.Claim(query.Nonce!, query.Timestamp!, body.Body!, skew); // both present: the signature held
            if (!claim.IsOk) return Refused(claim.Error);
            NonceClaimOutcome outcome;
            try { outcome = await timing.Time("nonce", nonces.ClaimAsync(tenant, appId, claim.Value, now, ct)); }
            catch (RequestFailedException) { return Problems.Unavailable("the push could not be checked against replays"); }
            if (outcome == NonceClaimOutcome.Replayed)
                return Refused(new(WeChatErrorKind.Replayed, "this nonce was already used, with another body, within the timestamp window"));
        }

        try
        {
            await timing.Time("enqueue", queue.EnqueueAsync(tenant, [mapped.Value], ct));
        }
        catch (RequestFailedException)
        {
            // Not "success": WeChat will retry the push, and the retry is deduplicated downstream.
            return Problems.Unavailable("the push could not be queued");
        }
        timing.Write();
        return Results.Text("success", "text/plain");
    }

    private static async Task<WeChatAppRecord?> FindAsync(string tenant, string appId, WeChatAppCache apps, CancellationToken ct) =>
        TenantRules.IsValidTenantId(tenant) && appId.Length <= 64 ? await apps.GetAsync(tenant, appId, ct) : null;

    private static IResult UnknownApp() => Problems.NotFound("unknown_wechat_app", "no such tenant, or no such WeChat app registered for it");

    private static IResult Refused(WeChatError error) => Problems.Create(error.HttpStatus, "wechat_" + Snake(error.Kind.ToString()),
        error.HttpStatus == 401 ? "The push is not authentic" : "The push is not valid", error.Detail);

    private static string Snake(string s) => string.Concat(s.Select((c, i) => i > 0 && char.IsUpper(c) ? "_" + char.ToLowerInvariant(c) : char.ToLowerInvariant(c).ToString()));
}
