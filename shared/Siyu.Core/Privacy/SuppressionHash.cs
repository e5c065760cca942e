using System.Security.Cryptography;
using System.Text;

namespace Siyu.Core.Privacy;

/// <summary>
/// What is left of an erased person: a keyed hash (HMAC-SHA256) of each identifier, scoped to the tenant. It can
/// recognise the identifier when it comes back, but cannot be turned back into it — not even by someone holding
/// the table, because the key is not stored with it (phone numbers are too few for a plain or salted hash).
/// </summary>
public static class SuppressionHash
{
    public static string Compute(ReadOnlySpan<byte> key, string tenantId, string identityKey)
    {
        Span<byte> mac = stackalloc byte[32];
        HMACSHA256.HashData(key, Encoding.UTF8.GetBytes(tenantId + "\n" + identityKey), mac);
        return Convert.ToHexStringLower(mac);
    }

    /// <summary>Derives the suppression key from a configured secret, so it is never the same bytes as the secret itself.</summary>
    public static byte[] DeriveKey(ReadOnlySpan<byte> secret) =>
        HKDF.DeriveKey(HashAlgorithmName.SHA256, secret.ToArray(), 32, info: Encoding.UTF8.GetBytes("siyu/suppression-hash/v1"));
}
