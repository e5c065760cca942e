using System.Security.Cryptography;
using System.Text;

namespace Siyu.Channels.Sending;

/// <summary>
/// The token in the URL a provider pushes to when it does not sign its pushes (Aliyun, Tencent Cloud): the first 32
/// characters of base64url(HMAC-SHA256(the account's secret, "{provider}-push|{tenant}")). Only the holder of the
/// account's secret, and whoever the brand gave the URL to, can make it. Pure.
/// </summary>
public static class PushToken
{
    public static string Compute(string secret, string provider, string tenantId) =>
        Convert.ToBase64String(HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), Encoding.UTF8.GetBytes($"{provider}-push|{tenantId}")))
            .Replace('+', '-').Replace('/', '_').TrimEnd('=')[..32];

    public static bool Matches(string secret, string provider, string tenantId, string? token) =>
        token is { Length: 32 } && CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(Compute(secret, provider, tenantId)), Encoding.ASCII.GetBytes(token));
}
