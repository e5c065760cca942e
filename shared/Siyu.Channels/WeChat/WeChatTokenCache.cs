using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using Siyu.Channels.Sending;

namespace Siyu.Channels.WeChat;

/// <summary>
/// WeChat access tokens, one per appid, from <c>POST /cgi-bin/stable_token</c>. A token is refreshed
/// TokenRefreshMargin before it expires; all callers of one app wait on the same single request (single-flight),
/// which runs under its own timeout so one caller's cancellation cannot fail the others. In its ordinary mode
/// stable_token hands back the current token while it is valid; so when a send has just been refused with a token
/// and stable_token returns that very token again, we ask once more with force_refresh. If an early refresh fails,
/// the current token is used until it expires. Tokens and secrets are never logged.
/// </summary>
internal sealed class WeChatTokenCache(
    IHttpClientFactory http, ChannelOptions options, ProviderHttp exchange, TimeProvider clock, ILogger<WeChatTokenCache> log)
{
    public const string HttpClientName = "Siyu.Channels.WeChat";

    /// <summary>After a failed early refresh, how long the still-valid token is used before asking again.</summary>
    private static readonly TimeSpan RetryRefreshAfter = TimeSpan.FromSeconds(30);

    private readonly ConcurrentDictionary<string, AppTokens> apps = new(StringComparer.Ordinal);

    /// <summary>A usable token, or why none could be had (as the send's result).</summary>
    public async ValueTask<TokenLease> GetAsync(string appId, string secret, CancellationToken ct)
    {
        var app = apps.GetOrAdd(appId, static _ => new AppTokens());
        TaskCompletionSource<TokenLease>? started = null;
        Task<TokenLease> fetch;
        lock (app)
        {
            if (app.Token is { } token && clock.GetUtcNow() < app.RefreshAt) return new TokenLease(token, null);
            if (app.Fetch is null)
            {
                started = new TaskCompletionSource<TokenLease>(TaskCreationOptions.RunContinuationsAsynchronously);
                app.Fetch = started.Task;
            }
            fetch = app.Fetch;
        }
        if (started is not null) _ = FetchAsync(app, appId, secret, started);
        return await fetch.WaitAsync(ct);
    }

    /// <summary>WeChat refused <paramref name="token"/> (40001/40014/42001): forget it, unless a newer one is
    /// already in place.</summary>
    public void Invalidate(string appId, string token)
    {
        if (!apps.TryGetValue(appId, out var app)) return;
        lock (app)
        {
            if (app.Token != token) return;
            app.Token = null;
            app.Refused = token;
        }
    }

    private async Task FetchAsync(AppTokens app, string appId, string secret, TaskCompletionSource<TokenLease> done)
    {
        TokenLease lease;
        var expiresIn = 0;
        try
        {
            (lease, expiresIn) = await RequestAsync(appId, secret, forceRefresh: false);
            bool refusedAgain;
            lock (app) refusedAgain = lease.Token is not null && lease.Token == app.Refused;
            if (refusedAgain) (lease, expiresIn) = await RequestAsync(appId, secret, forceRefresh: true);
        }
        catch (Exception e)
        {
            lease = new TokenLease(null, Attempt.Again("token_error", e.GetType().Name, maybeDelivered: false));
        }
        if (lease.Failure is { } failure)
            log.LogWarning("WeChat stable_token failed for app {AppId}: {Code} {Detail}", appId, failure.Result.Code, failure.Result.Detail);

        lock (app)
        {
            var now = clock.GetUtcNow();
            if (lease.Token is { } token)
            {
                var lifetime = TimeSpan.FromSeconds(expiresIn);
                // A token handed back with less life left than the margin is used for half of what is left, then
                // asked for again (stable_token renews it once it has expired).
                var refreshIn = lifetime > options.TokenRefreshMargin ? lifetime - options.TokenRefreshMargin : lifetime / 2;
                app.Token = token;
                app.ExpiresAt = now + lifetime;
                app.RefreshAt = now + refreshIn;
                app.Refused = null;
            }
            else if (app.Token is { } current && now < app.ExpiresAt)
            {
                // An early refresh failed but the current token is still good: keep sending with it, ask again soon.
                lease = new TokenLease(current, null);
                app.RefreshAt = now + RetryRefreshAfter < app.ExpiresAt ? now + RetryRefreshAfter : app.ExpiresAt;
            }
            app.Fetch = null;
        }
        done.SetResult(lease);
    }

    private async Task<(TokenLease Lease, int ExpiresIn)> RequestAsync(string appId, string secret, bool forceRefresh)
    {
        var body = JsonBody.Write((appId, secret, forceRefresh), static (w, s) =>
        {
            w.WriteStartObject();
            w.WriteString("grant_type", "client_credential");
            w.WriteString("appid", s.appId);
            w.WriteString("secret", s.secret);
            w.WriteBoolean("force_refresh", s.forceRefresh);
            w.WriteEndObject();
        });
        using var request = new HttpRequestMessage(HttpMethod.Post, options.WeChatApiBaseUrl.TrimEnd('/') + "/cgi-bin/stable_token")
        {
            Content = JsonBody.Content(body),
        };
        var expiresIn = 0;
        string? token = null;
        var attempt = await exchange.ExchangeAsync(http.CreateClient(HttpClientName), request, answer =>
        {
            if (WeChatReply.Interpret(answer, "stable_token", out var reply) is { } failure) return failure;
            token = reply.AccessToken;
            expiresIn = reply.ExpiresIn;
            return token is null
                ? Attempt.Again("token_error", "stable_token answered without an access_token", maybeDelivered: false)
                : Attempt.Final(SendResult.Accepted(null));
        }, CancellationToken.None);
        return (token is null ? new TokenLease(null, attempt) : new TokenLease(token, null), expiresIn);
    }

    private sealed class AppTokens
    {
        public string? Token;
        public DateTimeOffset RefreshAt;
        public DateTimeOffset ExpiresAt;
        public string? Refused;
        public Task<TokenLease>? Fetch;
    }
}

/// <summary>A token to send with, or (Token null) the attempt that stands for the failure to get one.</summary>
internal readonly record struct TokenLease(string? Token, Attempt? Failure);
