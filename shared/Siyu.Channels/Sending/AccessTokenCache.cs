using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace Siyu.Channels.Sending;

/// <summary>
/// Access tokens of a provider that hands one out per application for a secret (WeChat's stable_token, WeCom's
/// gettoken), kept per key. A token is refreshed TokenRefreshMargin before it expires; all callers of one key wait on
/// the same single request (single-flight), which runs under its own timeout so one caller's cancellation cannot fail
/// the others. When a send has just been refused with a token and the provider hands back that very token again, a
/// provider that can force a new one (<see cref="CanForceRefresh"/>) is asked once more to. If an early refresh
/// fails, the current token is used until it expires. Tokens and secrets are never logged.
/// </summary>
internal abstract class AccessTokenCache(ChannelOptions options, TimeProvider clock, ILogger log)
{
    /// <summary>After a failed early refresh, how long the still-valid token is used before asking again.</summary>
    private static readonly TimeSpan RetryRefreshAfter = TimeSpan.FromSeconds(30);

    private readonly ConcurrentDictionary<string, AppTokens> apps = new(StringComparer.Ordinal);

    protected ChannelOptions Options { get; } = options;

    /// <summary>What the logs call the token endpoint.</summary>
    protected abstract string Endpoint { get; }

    protected virtual bool CanForceRefresh => false;

    /// <summary>One request for a token of <paramref name="id"/>: the lease and its lifetime in seconds.</summary>
    protected abstract Task<(TokenLease Lease, int ExpiresIn)> RequestAsync(string id, string secret, bool forceRefresh);

    /// <summary>A usable token for <paramref name="key"/>, or why none could be had (as the send's result).</summary>
    protected async ValueTask<TokenLease> GetAsync(string key, string id, string secret, CancellationToken ct)
    {
        var app = apps.GetOrAdd(key, static _ => new AppTokens());
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
        if (started is not null) _ = FetchAsync(app, id, secret, started);
        return await fetch.WaitAsync(ct);
    }

    /// <summary>The provider refused <paramref name="token"/>: forget it, unless a newer one is already in place.</summary>
    protected void Forget(string key, string token)
    {
        if (!apps.TryGetValue(key, out var app)) return;
        lock (app)
        {
            if (app.Token != token) return;
            app.Token = null;
            app.Refused = token;
        }
    }

    private async Task FetchAsync(AppTokens app, string id, string secret, TaskCompletionSource<TokenLease> done)
    {
        TokenLease lease;
        var expiresIn = 0;
        try
        {
            (lease, expiresIn) = await RequestAsync(id, secret, forceRefresh: false);
            bool refusedAgain;
            lock (app) refusedAgain = lease.Token is not null && lease.Token == app.Refused;
            if (refusedAgain && CanForceRefresh) (lease, expiresIn) = await RequestAsync(id, secret, forceRefresh: true);
        }
        catch (Exception e)
        {
            lease = new TokenLease(null, Attempt.Again("token_error", e.GetType().Name, maybeDelivered: false));
        }
        if (lease.Failure is { } failure)
            log.LogWarning("{Endpoint} failed for {Id}: {Code} {Detail}", Endpoint, id, failure.Result.Code, failure.Result.Detail);

        lock (app)
        {
            var now = clock.GetUtcNow();
            if (lease.Token is { } token)
            {
                var lifetime = TimeSpan.FromSeconds(expiresIn);
                // A token handed back with less life left than the margin is used for half of what is left, then
                // asked for again (the provider renews it once it has expired).
                var refreshIn = lifetime > Options.TokenRefreshMargin ? lifetime - Options.TokenRefreshMargin : lifetime / 2;
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
