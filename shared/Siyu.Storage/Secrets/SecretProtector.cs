using System.Security.Cryptography;
using System.Text;

namespace Siyu.Storage.Secrets;

/// <summary>
/// Encrypts secrets we must keep (a WeChat app's token, EncodingAESKey and appSecret) before they reach Table
/// Storage, with AES-256-GCM under a key from configuration (Key Vault in Azure). Without a key, secrets are stored
/// as given and the app warns at startup: acceptable for a local emulator, not for production.
/// </summary>
public sealed class SecretProtector
{
    private const string Prefix = "enc1:";
    private readonly byte[]? _key;

    public SecretProtector(string? base64Key)
    {
        if (string.IsNullOrWhiteSpace(base64Key)) return;
        _key = Convert.FromBase64String(base64Key);
        if (_key.Length != 32) throw new ArgumentException("Secrets:EncryptionKey must be 32 bytes, base64-encoded");
    }

    public bool Encrypts => _key is not null;

    public string? Protect(string? plaintext)
    {
        if (plaintext is null || _key is null) return plaintext;
        var nonce = RandomNumberGenerator.GetBytes(12);
        var data = Encoding.UTF8.GetBytes(plaintext);
        var cipher = new byte[data.Length];
        var tag = new byte[16];
        using var aes = new AesGcm(_key, 16);
        aes.Encrypt(nonce, data, cipher, tag);
        return Prefix + Convert.ToBase64String([.. nonce, .. tag, .. cipher]);
    }

    public string? Unprotect(string? stored)
    {
        if (stored is null || !stored.StartsWith(Prefix, StringComparison.Ordinal)) return stored;
        if (_key is null) throw new InvalidOperationException("a stored secret is encrypted but Secrets:EncryptionKey is not configured");
        var bytes = Convert.FromBase64String(stored[Prefix.Length..]);
        var plain = new byte[bytes.Length - 28];
        using var aes = new AesGcm(_key, 16);
        aes.Decrypt(bytes.AsSpan(0, 12), bytes.AsSpan(28), bytes.AsSpan(12, 16), plain);
        return Encoding.UTF8.GetString(plain);
    }
}
