using System.Security.Cryptography;
using System.Text;

namespace Siyu.Core.WeChat;

/// <summary>
/// The SHA-1 signatures WeChat puts on every push: <c>signature</c> over token/timestamp/nonce, and in safe mode
/// <c>msg_signature</c> over token/timestamp/nonce/Encrypt.
/// </summary>
public static class WeChatSignature
{
    /// <summary>Lowercase hex SHA-1 of the parts, sorted ordinally and concatenated (UTF-8).</summary>
    public static string Compute(params string[] parts)
    {
        ArgumentNullException.ThrowIfNull(parts);
        foreach (var p in parts) ArgumentNullException.ThrowIfNull(p, nameof(parts));
        var sorted = (string[])parts.Clone();
        Array.Sort(sorted, StringComparer.Ordinal);
        return Convert.ToHexStringLower(SHA1.HashData(Encoding.UTF8.GetBytes(string.Concat(sorted))));
    }

    /// <summary>Checks the plain <c>signature</c> query parameter. False when anything is null or empty.</summary>
    public static bool Verify(string? token, string? timestamp, string? nonce, string? signature) =>
        AllPresent(token, timestamp, nonce, signature) && FixedEquals(Compute(token!, timestamp!, nonce!), signature!);

    /// <summary>Checks <c>msg_signature</c>, which also covers the ciphertext. False when anything is null or empty.</summary>
    public static bool VerifyMessage(string? token, string? timestamp, string? nonce, string? encrypt, string? msgSignature) =>
        AllPresent(token, timestamp, nonce, encrypt, msgSignature)
        && FixedEquals(Compute(token!, timestamp!, nonce!, encrypt!), msgSignature!);

    private static bool AllPresent(params string?[] values) => values.All(v => !string.IsNullOrEmpty(v));

    // Fixed-time so that response timing does not reveal how much of a forged signature was right.
    // Hex case is not secret, so accepting uppercase costs nothing.
    private static bool FixedEquals(string expected, string given) =>
        CryptographicOperations.FixedTimeEquals(
            Encoding.ASCII.GetBytes(expected),
            Encoding.UTF8.GetBytes(given.ToLowerInvariant()));
}
