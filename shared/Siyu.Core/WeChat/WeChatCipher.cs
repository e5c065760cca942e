using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;

namespace Siyu.Core.WeChat;

/// <summary>
/// The WeChat message encryption protocol (what Tencent's sample WXBizMsgCrypt implements), written from the
/// protocol description: AES-256-CBC, key = Base64(EncodingAESKey + "="), IV = the first 16 bytes of the key,
/// PKCS#7 padding to a 32-byte block, and plaintext = 16 random bytes | 4-byte big-endian message length |
/// message (UTF-8) | receiveId (the appId, UTF-8). The result travels as Base64.
/// There is no MAC: integrity comes from msg_signature (see <see cref="WeChatSignature"/>), which must be checked
/// before decrypting; the padding, length and UTF-8 checks here only reject garbage.
/// </summary>
public sealed class WeChatCipher
{
    public const int EncodingAesKeyLength = 43;
    private const int RandomLength = 16;
    private const int HeaderLength = RandomLength + 4;
    private const int PadBlock = 32;

    // Strict decoding: a wrong key or a tampered ciphertext usually yields invalid UTF-8, which must fail, not turn into U+FFFD.
    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    private readonly byte[] _key;
    private readonly byte[] _iv;

    /// <param name="encodingAesKey">The 43-character EncodingAESKey from the WeChat console.</param>
    /// <exception cref="ArgumentException">The key is not 43 Base64 characters.</exception>
    public WeChatCipher(string encodingAesKey)
    {
        if (!TryDecodeKey(encodingAesKey, out var key))
            throw new ArgumentException($"An EncodingAESKey is {EncodingAesKeyLength} Base64 characters (A-Z, a-z, 0-9, +, /).", nameof(encodingAesKey));
        _key = key;
        _iv = key[..16];
    }

    /// <summary>True when <paramref name="encodingAesKey"/> would be accepted by the constructor.</summary>
    public static bool IsValidKey(string? encodingAesKey) => TryDecodeKey(encodingAesKey, out _);

    private static bool TryDecodeKey(string? encodingAesKey, out byte[] key)
    {
        key = [];
        if (encodingAesKey is null || encodingAesKey.Length != EncodingAesKeyLength) return false;
        if (!encodingAesKey.All(c => char.IsAsciiLetterOrDigit(c) || c is '+' or '/')) return false;
        Span<byte> buffer = stackalloc byte[33];
        if (!Convert.TryFromBase64String(encodingAesKey + "=", buffer, out var written) || written != 32) return false;
        key = buffer[..32].ToArray();
        return true;
    }

    /// <summary>Encrypts <paramref name="message"/> for <paramref name="receiveId"/> with fresh random bytes.</summary>
    public string Encrypt(string message, string receiveId)
    {
        Span<byte> random = stackalloc byte[RandomLength];
        RandomNumberGenerator.Fill(random);
        return Encrypt(message, receiveId, random);
    }

    /// <summary>Encrypts with the given 16 "random" bytes: deterministic output, for tests and known vectors.</summary>
    public string Encrypt(string message, string receiveId, ReadOnlySpan<byte> random)
    {
        ArgumentNullException.ThrowIfNull(message);
        ArgumentNullException.ThrowIfNull(receiveId);
        if (random.Length != RandomLength) throw new ArgumentException($"Exactly {RandomLength} random bytes are needed.", nameof(random));

        var msg = Encoding.UTF8.GetBytes(message);
        var id = Encoding.UTF8.GetBytes(receiveId);
        var length = HeaderLength + msg.Length + id.Length;
        var pad = PadBlock - length % PadBlock; // 1..32: a full block of padding when already aligned
        var plain = new byte[length + pad];
        random.CopyTo(plain);
        BinaryPrimitives.WriteUInt32BigEndian(plain.AsSpan(RandomLength), (uint)msg.Length);
        msg.CopyTo(plain, HeaderLength);
        id.CopyTo(plain, HeaderLength + msg.Length);
        plain.AsSpan(length).Fill((byte)pad);

        using var aes = Aes.Create(); // per call: Aes instances are not safe to share between threads
        aes.Key = _key;
        return Convert.ToBase64String(aes.EncryptCbc(plain, _iv, PaddingMode.None));
    }

    /// <summary>
    /// Decrypts a Base64 ciphertext. Returns false, never throws, for bad Base64, a length that is not whole AES blocks,
    /// bad padding, a length field out of range or text that is not UTF-8.
    /// </summary>
    public bool TryDecrypt(string? base64, out string message, out string receiveId)
    {
        message = "";
        receiveId = "";
        if (string.IsNullOrEmpty(base64)) return false;

        var cipher = new byte[base64.Length / 4 * 3 + 3];
        if (!Convert.TryFromBase64String(base64, cipher, out var n)) return false;
        if (n < PadBlock || n % 16 != 0) return false;

        byte[] plain;
        using (var aes = Aes.Create())
        {
            aes.Key = _key;
            try { plain = aes.DecryptCbc(cipher.AsSpan(0, n), _iv, PaddingMode.None); }
            catch (CryptographicException) { return false; }
        }

        // WeChat's padding: 1..32 bytes, each equal to the pad length.
        int pad = plain[^1];
        if (pad < 1 || pad > PadBlock || pad > plain.Length) return false;
        for (var i = plain.Length - pad; i < plain.Length; i++)
            if (plain[i] != pad) return false;

        var content = plain.AsSpan(0, plain.Length - pad);
        if (content.Length < HeaderLength) return false;
        var msgLength = BinaryPrimitives.ReadUInt32BigEndian(content[RandomLength..]);
        if (msgLength > (uint)(content.Length - HeaderLength)) return false;

        try
        {
            message = StrictUtf8.GetString(content.Slice(HeaderLength, (int)msgLength));
            receiveId = StrictUtf8.GetString(content[(HeaderLength + (int)msgLength)..]);
        }
        catch (DecoderFallbackException)
        {
            message = "";
            receiveId = "";
            return false;
        }
        return true;
    }
}
