using System.Security.Cryptography;
using System.Text;

namespace Siyu.Core.Delivery;

/// <summary>
/// The token of a person's one-click unsubscribe link: the first 32 characters of base64url(HMAC-SHA256(key,
/// "unsubscribe|{tenant}|{profile}|{channel}")), the key derived (HKDF) from the deployment's secret. It names one
/// person of one tenant and one channel, so a link can withdraw nothing else, and it needs no row to check. Pure.
/// </summary>
public static class UnsubscribeToken
{
    public static byte[] DeriveKey(ReadOnlySpan<byte> secret) =>
        HKDF.DeriveKey(HashAlgorithmName.SHA256, secret.ToArray(), 32, info: Encoding.UTF8.GetBytes("siyu/unsubscribe-link/v1"));

    public static string Compute(byte[] key, string tenantId, string profileId, string channel) =>
        Convert.ToBase64String(HMACSHA256.HashData(key, Encoding.UTF8.GetBytes($"unsubscribe|{tenantId}|{profileId}|{channel}")))
            .Replace('+', '-').Replace('/', '_').TrimEnd('=')[..32];

    public static bool Matches(byte[] key, string tenantId, string profileId, string channel, string? token) =>
        token is { Length: 32 } && CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(Compute(key, tenantId, profileId, channel)), Encoding.ASCII.GetBytes(token));
}
