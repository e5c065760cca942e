using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;
using Siyu.Core.WeChat;

namespace Siyu.Core.Tests.WeChat;

public class WeChatCipherTests
{
    // What the published sample's Encrypt value decrypts to (see WeChatSignatureTests.SampleEncrypt):
    // 16 bytes "89465c840c5f116f", length 280, this message, appid wx2c2769f8efd9abc2, then 2 bytes of padding.
    internal const string SampleMessage =
        "<xml><ToUserName><![CDATA[gh_10f6c3c3ac5a]]></ToUserName>\n" +
        "<FromUserName><![CDATA[oyORnuP8q7ou2gfYjqLzSIWZf0rs]]></FromUserName>\n" +
        "<CreateTime>1409735668</CreateTime>\n" +
        "<MsgType><![CDATA[text]]></MsgType>\n" +
        "<Content><![CDATA[abcdteT]]></Content>\n" +
        "<MsgId>6054768590064713728</MsgId>\n" +
        "</xml>";
    internal const string SampleAppId = "wx2c2769f8efd9abc2";
    private static readonly byte[] SampleRandom = "89465c840c5f116f"u8.ToArray();

    private static readonly WeChatCipher Cipher = new(TestApps.Key);

    [Fact]
    public void Decrypts_the_published_sample()
    {
        Assert.True(Cipher.TryDecrypt(WeChatSignatureTests.SampleEncrypt, out var message, out var receiveId));
        Assert.Equal(SampleMessage, message);
        Assert.Equal(SampleAppId, receiveId);
    }

    [Fact]
    public void Encrypting_the_sample_with_its_random_bytes_reproduces_it_exactly()
    {
        Assert.Equal(WeChatSignatureTests.SampleEncrypt, Cipher.Encrypt(SampleMessage, SampleAppId, SampleRandom));
    }

    [Fact]
    public void Key_is_the_base64_of_the_encoding_aes_key_and_iv_its_first_16_bytes()
    {
        // Decrypt the sample with the BCL directly, from the protocol's description of key and IV.
        var key = Convert.FromBase64String(TestApps.Key + "=");
        Assert.Equal("69b71d79f8218a39259a7a29aabb2dbafc31cb3d35db7e39ebbf3d0010831051", Convert.ToHexStringLower(key));
        using var aes = Aes.Create();
        aes.Key = key;
        var plain = aes.DecryptCbc(Convert.FromBase64String(WeChatSignatureTests.SampleEncrypt), key[..16], PaddingMode.None);
        Assert.Equal(SampleRandom, plain[..16]);
        Assert.Equal(280u, BinaryPrimitives.ReadUInt32BigEndian(plain.AsSpan(16)));
    }

    [Fact]
    public void Plaintext_layout_is_random_length_message_appid_and_padding_to_32()
    {
        var random = Enumerable.Range(1, 16).Select(i => (byte)i).ToArray();
        var encrypted = Cipher.Encrypt("你好 hello", "wxapp", random);

        var key = Convert.FromBase64String(TestApps.Key + "=");
        using var aes = Aes.Create();
        aes.Key = key;
        var plain = aes.DecryptCbc(Convert.FromBase64String(encrypted), key[..16], PaddingMode.None);

        var msg = Encoding.UTF8.GetBytes("你好 hello"); // 12 bytes
        Assert.Equal(random, plain[..16]);
        Assert.Equal((uint)msg.Length, BinaryPrimitives.ReadUInt32BigEndian(plain.AsSpan(16, 4)));
        Assert.Equal(msg, plain[20..(20 + msg.Length)]);
        Assert.Equal("wxapp"u8.ToArray(), plain[(20 + msg.Length)..(25 + msg.Length)]);
        var content = 20 + msg.Length + 5; // 37
        Assert.Equal(64, plain.Length);
        Assert.All(plain[content..], b => Assert.Equal(64 - content, b));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(3)]  // 20 + 3 + 9 = 32: already aligned, so a whole 32-byte block of padding
    [InlineData(12)]
    [InlineData(1000)]
    public void Ciphertext_is_padded_to_a_32_byte_block(int messageLength)
    {
        var message = new string('m', messageLength);
        var bytes = Convert.FromBase64String(Cipher.Encrypt(message, "wx1234567"));
        Assert.Equal(0, bytes.Length % 32);
        Assert.True(bytes.Length > 20 + messageLength + 9);
        Assert.True(Cipher.TryDecrypt(Convert.ToBase64String(bytes), out var back, out _));
        Assert.Equal(message, back);
    }

    [Theory]
    [InlineData("")]
    [InlineData("hello")]
    [InlineData("<xml><Content><![CDATA[中文 emoji 😀]]></Content></xml>")]
    public void Round_trips(string message)
    {
        var encrypted = Cipher.Encrypt(message, "wxabc");
        Assert.True(Cipher.TryDecrypt(encrypted, out var back, out var receiveId));
        Assert.Equal(message, back);
        Assert.Equal("wxabc", receiveId);
    }

    [Fact]
    public void Encrypt_uses_fresh_random_bytes()
    {
        Assert.NotEqual(Cipher.Encrypt("same", "wx"), Cipher.Encrypt("same", "wx"));
    }

    [Fact]
    public void Encrypt_needs_exactly_16_random_bytes()
    {
        Assert.Throws<ArgumentException>(() => Cipher.Encrypt("m", "wx", new byte[15]));
    }

    [Theory]
    [InlineData("")]
    [InlineData("abcdefghijklmnopqrstuvwxyz0123456789ABCDEF")]   // 42
    [InlineData("abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGH")] // 44
    [InlineData("abcdefghijklmnopqrstuvwxyz0123456789ABCDEF=")]  // padding is added, not given
    [InlineData("abcdefghijklmnopqrstuvwxyz0123456789ABCDEF!")]
    [InlineData("abcdefghijklmnopqrstuvwxyz0123456789ABCD EF")]
    public void A_bad_key_is_an_argument_exception(string key)
    {
        Assert.Throws<ArgumentException>(() => new WeChatCipher(key));
        Assert.False(WeChatCipher.IsValidKey(key));
    }

    [Fact]
    public void Null_key_is_an_argument_exception()
    {
        Assert.ThrowsAny<ArgumentException>(() => new WeChatCipher(null!));
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("not base64 at all!")]
    [InlineData("AAAA")]                                     // 3 bytes: not whole blocks
    [InlineData("AAAAAAAAAAAAAAAAAAAAAA==")]                 // one block: too short to hold a header
    public void TryDecrypt_is_false_for_garbage(string? input)
    {
        Assert.False(Cipher.TryDecrypt(input, out var message, out var receiveId));
        Assert.Equal("", message);
        Assert.Equal("", receiveId);
    }

    [Fact]
    public void TryDecrypt_is_false_when_not_a_whole_number_of_blocks()
    {
        var bytes = Convert.FromBase64String(Cipher.Encrypt("hello", "wx"));
        Assert.False(Cipher.TryDecrypt(Convert.ToBase64String(bytes[..^1]), out _, out _));
    }

    [Fact]
    public void TryDecrypt_is_false_with_the_wrong_key()
    {
        Assert.False(new WeChatCipher(TestApps.OtherKey).TryDecrypt(WeChatSignatureTests.SampleEncrypt, out _, out _));
    }

    [Fact]
    public void TryDecrypt_is_false_when_the_length_field_is_tampered()
    {
        // In CBC, flipping ciphertext byte 0 flips plaintext byte 16: the high byte of the message length.
        var bytes = Convert.FromBase64String(WeChatSignatureTests.SampleEncrypt);
        bytes[0] ^= 0x80;
        Assert.False(Cipher.TryDecrypt(Convert.ToBase64String(bytes), out _, out _));
    }

    [Fact]
    public void TryDecrypt_is_false_when_the_last_block_is_tampered()
    {
        var bytes = Convert.FromBase64String(WeChatSignatureTests.SampleEncrypt);
        bytes[^1] ^= 0x01; // garbles the final block, padding included
        Assert.False(Cipher.TryDecrypt(Convert.ToBase64String(bytes), out _, out _));
    }

    [Fact]
    public void TryDecrypt_is_false_for_bad_padding()
    {
        var plain = Layout("hi", "wx");
        plain[^1] = 33; // more than a 32-byte block
        Assert.False(Cipher.TryDecrypt(RawEncrypt(plain), out _, out _));

        plain = Layout("hi", "wx");
        plain[^1] = 0;
        Assert.False(Cipher.TryDecrypt(RawEncrypt(plain), out _, out _));

        plain = Layout("hi", "wx");
        plain[^2] ^= 0xFF; // pad bytes must all equal the pad length
        Assert.False(Cipher.TryDecrypt(RawEncrypt(plain), out _, out _));

        Assert.True(Cipher.TryDecrypt(RawEncrypt(Layout("hi", "wx")), out var ok, out _));
        Assert.Equal("hi", ok);
    }

    [Fact]
    public void TryDecrypt_is_false_when_the_length_field_runs_past_the_end()
    {
        var plain = Layout("hi", "wx"); // content is 20 + 2 + 2 = 24 bytes
        BinaryPrimitives.WriteUInt32BigEndian(plain.AsSpan(16), 5);
        Assert.False(Cipher.TryDecrypt(RawEncrypt(plain), out _, out _));
        BinaryPrimitives.WriteUInt32BigEndian(plain.AsSpan(16), uint.MaxValue);
        Assert.False(Cipher.TryDecrypt(RawEncrypt(plain), out _, out _));
        BinaryPrimitives.WriteUInt32BigEndian(plain.AsSpan(16), 4); // the message takes the appid: empty receiveId
        Assert.True(Cipher.TryDecrypt(RawEncrypt(plain), out var message, out var receiveId));
        Assert.Equal("hiwx", message);
        Assert.Equal("", receiveId);
    }

    [Fact]
    public void TryDecrypt_is_false_for_text_that_is_not_utf8()
    {
        var plain = Layout("hi", "wx");
        plain[20] = 0xFF;
        Assert.False(Cipher.TryDecrypt(RawEncrypt(plain), out _, out _));
    }

    /// <summary>A correctly padded plaintext in the protocol's layout, to be damaged by the test.</summary>
    private static byte[] Layout(string message, string receiveId)
    {
        var msg = Encoding.UTF8.GetBytes(message);
        var id = Encoding.UTF8.GetBytes(receiveId);
        var length = 20 + msg.Length + id.Length;
        var pad = 32 - length % 32;
        var plain = new byte[length + pad];
        BinaryPrimitives.WriteUInt32BigEndian(plain.AsSpan(16), (uint)msg.Length);
        msg.CopyTo(plain, 20);
        id.CopyTo(plain, 20 + msg.Length);
        plain.AsSpan(length).Fill((byte)pad);
        return plain;
    }

    private static string RawEncrypt(byte[] plain)
    {
        var key = Convert.FromBase64String(TestApps.Key + "=");
        using var aes = Aes.Create();
        aes.Key = key;
        return Convert.ToBase64String(aes.EncryptCbc(plain, key[..16], PaddingMode.None));
    }
}
