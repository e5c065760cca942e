using Microsoft.Extensions.Logging;
using Siyu.Channels.Sending;

namespace Siyu.Channels.WeChat;

/// <summary>
/// WeChat access tokens, one per appid, from <c>POST /cgi-bin/stable_token</c> (<see cref="AccessTokenCache"/>). In its
/// ordinary mode stable_token hands back the current token while it is valid; so when a send has just been refused
/// with a token and stable_token returns that very token again, we ask once more with force_refresh.
/// </summary>
internal sealed class WeChatTokenCache(
    IHttpClientFactory http, ChannelOptions options, ProviderHttp exchange, TimeProvider clock, ILogger<WeChatTokenCache> log)
    : AccessTokenCache(options, clock, log)
{
    public const string HttpClientName = "Siyu.Channels.WeChat";

    protected override string Endpoint => "WeChat stable_token";

    protected override bool CanForceRefresh => true;

    public ValueTask<TokenLease> GetAsync(string appId, string secret, CancellationToken ct) => GetAsync(appId, appId, secret, ct);

    /// <summary>WeChat refused <paramref name="token"/> (40001/40014/42001): forget it, unless a newer one is already in place.</summary>
    public void Invalidate(string appId, string token) => Forget(appId, token);

    protected override async Task<(TokenLease Lease, int ExpiresIn)> RequestAsync(string appId, string secret, bool forceRefresh)
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
        using var request = new HttpRequestMessage(HttpMethod.Post, Options.WeChatApiBaseUrl.TrimEnd('/') + "/cgi-bin/stable_token")
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
}
