using Siyu.Core.WeChat;

namespace Siyu.Core.Tests.WeChat;

public class WeChatSignatureTests
{
    // The published WeChat sample: token "spamtest", timestamp 1409735669, nonce 1320562132 and this Encrypt value
    // are signed with msg_signature 5d197aaffba7e9b25a30732f161a50dee96bd5fa.
    internal const string SampleEncrypt =
        "hyzAe4OzmOMbd6TvGdIOO6uBmdJoD0Fk53REIHvxYtJlE2B655HuD0m8KUePWB3+LrPXo87wzQ1QLvbeUgmBM4x6F8PGHQHFVAFmOD2LdJF9FrXpbUAh0B5GIItb52sn896wVsMSHGuPE328HnRGBcrS7C41IzDWyWNlZkyyXwon8T332jisa+h6tEDYsVticbSnyU8dKOIbgU6ux5VTjg3yt+WGzjlpKn6NPhRjpA912xMezR4kw6KWwMrCVKSVCZciVGCgavjIQ6X8tCOp3yZbGpy0VxpAe+77TszTfRd5RJSVO/HTnifJpXgCSUdUue1v6h0EIBYYI1BD1DlD+C0CR8e6OewpusjZ4uBl9FyJvnhvQl+q5rv1ixrcpCumEPo5MJSgM9ehVsNPfUM669WuMyVWQLCzpu9GhglF2PE=";
    internal const string SampleMsgSignature = "5d197aaffba7e9b25a30732f161a50dee96bd5fa";
    internal const string SampleTimestamp = "1409735669";
    internal const string SampleNonce = "1320562132";

    [Fact]
    public void Compute_is_sha1_of_the_sorted_concatenation()
    {
        Assert.Equal("a9993e364706816aba3e25717850c26c9cd0d89d", WeChatSignature.Compute("b", "c", "a")); // SHA-1("abc")
        Assert.Equal(WeChatSignature.Compute("a", "b", "c"), WeChatSignature.Compute("c", "a", "b"));
    }

    [Fact]
    public void Compute_sorts_ordinally_so_uppercase_comes_first()
    {
        Assert.Equal("2fd22ce656b849cb086889e5eacd1da49228eb0a", WeChatSignature.Compute("a", "B")); // SHA-1("Ba")
    }

    [Fact]
    public void Compute_gives_lowercase_hex()
    {
        var s = WeChatSignature.Compute("x");
        Assert.Equal(40, s.Length);
        Assert.Equal(s.ToLowerInvariant(), s);
    }

    [Fact]
    public void Plain_signature_of_the_published_sample()
    {
        Assert.Equal("16120ec1b8dbb870f510d87ce6bc2463eae6ca1a", WeChatSignature.Compute("spamtest", SampleTimestamp, SampleNonce));
        Assert.True(WeChatSignature.Verify("spamtest", SampleTimestamp, SampleNonce, "16120ec1b8dbb870f510d87ce6bc2463eae6ca1a"));
    }

    [Fact]
    public void Msg_signature_of_the_published_sample()
    {
        Assert.Equal(SampleMsgSignature, WeChatSignature.Compute("spamtest", SampleTimestamp, SampleNonce, SampleEncrypt));
        Assert.True(WeChatSignature.VerifyMessage("spamtest", SampleTimestamp, SampleNonce, SampleEncrypt, SampleMsgSignature));
    }

    [Fact]
    public void Verify_accepts_uppercase_hex()
    {
        Assert.True(WeChatSignature.Verify("spamtest", SampleTimestamp, SampleNonce, "16120EC1B8DBB870F510D87CE6BC2463EAE6CA1A"));
    }

    [Fact]
    public void Verify_rejects_a_wrong_or_truncated_signature()
    {
        Assert.False(WeChatSignature.Verify("spamtest", SampleTimestamp, SampleNonce, "16120ec1b8dbb870f510d87ce6bc2463eae6ca1b"));
        Assert.False(WeChatSignature.Verify("spamtest", SampleTimestamp, SampleNonce, "16120ec1b8dbb870"));
        Assert.False(WeChatSignature.Verify("other", SampleTimestamp, SampleNonce, "16120ec1b8dbb870f510d87ce6bc2463eae6ca1a"));
        Assert.False(WeChatSignature.VerifyMessage("spamtest", SampleTimestamp, SampleNonce, SampleEncrypt + "x", SampleMsgSignature));
    }

    [Theory]
    [InlineData(null, "1", "2", "sig")]
    [InlineData("", "1", "2", "sig")]
    [InlineData("t", null, "2", "sig")]
    [InlineData("t", "1", "", "sig")]
    [InlineData("t", "1", "2", null)]
    [InlineData("t", "1", "2", "")]
    public void Verify_is_false_on_null_or_empty_input(string? token, string? timestamp, string? nonce, string? signature)
    {
        Assert.False(WeChatSignature.Verify(token, timestamp, nonce, signature));
        Assert.False(WeChatSignature.VerifyMessage(token, timestamp, nonce, "enc", signature));
    }

    [Fact]
    public void VerifyMessage_is_false_without_the_ciphertext()
    {
        var sig = WeChatSignature.Compute("t", "1", "2", "");
        Assert.False(WeChatSignature.VerifyMessage("t", "1", "2", "", sig));
        Assert.False(WeChatSignature.VerifyMessage("t", "1", "2", null, sig));
    }
}
