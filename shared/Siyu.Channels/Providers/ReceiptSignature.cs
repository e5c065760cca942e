using System.Security.Cryptography;
using System.Text;

namespace Siyu.Channels;

/// <summary>
/// The <c>X-Siyu-Signature</c> header: <c>sha256=</c> and the lowercase hex HMAC-SHA256 of the raw body, keyed
/// with the tenant's ApiKey. Providers sign receipts with it; we sign webhook requests with it.
/// </summary>
public static class ReceiptSignature
{
    public const string HeaderName = "X-Siyu-Signature";
    private const string Prefix = "sha256=";

    public static string Sign(string secret, ReadOnlySpan<byte> body) =>
        Prefix + Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), body));

    /// <summary>True when <paramref name="header"/> is this body's signature under this secret. The digests are
    /// compared in constant time; hex case does not matter.</summary>
    public static bool Verify(string secret, ReadOnlySpan<byte> body, string? header)
    {
        if (header is null || !header.StartsWith(Prefix, StringComparison.Ordinal)) return false;
        var hex = header.AsSpan(Prefix.Length);
        if (hex.Length != HMACSHA256.HashSizeInBytes * 2) return false;
        Span<byte> claimed = stackalloc byte[HMACSHA256.HashSizeInBytes];
        if (Convert.FromHexString(hex, claimed, out _, out var written) != System.Buffers.OperationStatus.Done
            || written != claimed.Length)
            return false;
        Span<byte> actual = stackalloc byte[HMACSHA256.HashSizeInBytes];
        HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), body, actual);
        return CryptographicOperations.FixedTimeEquals(claimed, actual);
    }
}
