using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Logging;
using Siyu.Channels.Sending;
using Siyu.Channels.WeChat;

namespace Siyu.Channels.WeCom;

/// <summary>
/// WeCom access tokens from <c>GET /cgi-bin/gettoken?corpid=…&amp;corpsecret=…</c>, one per corp and secret (each of a
/// corp's apps, and its customer-contact secret, has tokens of its own), kept and refreshed as
/// <see cref="AccessTokenCache"/> says. The URL carries the secret: its HttpClient logs nothing.
/// </summary>
internal sealed class WeComTokenCache(
    IHttpClientFactory http, ChannelOptions options, ProviderHttp exchange, TimeProvider clock, ILogger<WeComTokenCache> log)
    : AccessTokenCache(options, clock, log)
{
    public const string HttpClientName = "Siyu.Channels.WeCom";

    protected override string Endpoint => "WeCom gettoken";

    public ValueTask<TokenLease> GetAsync(string corpId, string secret, CancellationToken ct) => GetAsync(Key(corpId, secret), corpId, secret, ct);

    public void Invalidate(string corpId, string secret, string token) => Forget(Key(corpId, secret), token);

    private static string Key(string corpId, string secret) => corpId + "\n" + Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(secret)))[..16];

    protected override async Task<(TokenLease Lease, int ExpiresIn)> RequestAsync(string corpId, string secret, bool forceRefresh)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get,
            $"{Options.WeComApiBaseUrl.TrimEnd('/')}/cgi-bin/gettoken?corpid={Uri.EscapeDataString(corpId)}&corpsecret={Uri.EscapeDataString(secret)}");
        var expiresIn = 0;
        string? token = null;
        var attempt = await exchange.ExchangeAsync(http.CreateClient(HttpClientName), request, answer =>
        {
            if (WeComSender.Failure(answer, "gettoken", out var reply) is { } failure) return failure;
            token = reply.AccessToken;
            expiresIn = reply.ExpiresIn;
            return token is null
                ? Attempt.Again("token_error", "gettoken answered without an access_token", maybeDelivered: false)
                : Attempt.Final(SendResult.Accepted(null));
        }, CancellationToken.None);
        return (token is null ? new TokenLease(null, attempt) : new TokenLease(token, null), expiresIn);
    }
}
