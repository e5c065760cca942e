using System.Text;

namespace Siyu.Channels.Tests;

public sealed class ReceiptTests
{
    [Fact]
    public void The_signature_is_hex_hmac_sha256_of_the_raw_body()
    {
        // RFC 4231, test case 2.
        var body = "what do ya want for nothing?"u8;

        Assert.Equal("sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843", ReceiptSignature.Sign("Jefe", body));
    }

    [Theory]
    [InlineData("sha256=5BDCC146BF60754E6A042426089575C75A003F089D2739839DEC58B964EC3843", true)]
    [InlineData("sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3844", false)]
    [InlineData("sha256=5bdcc146", false)]
    [InlineData("sha1=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843", false)]
    [InlineData("sha256=zzdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843", false)]
    [InlineData("", false)]
    [InlineData(null, false)]
    public void Verify_accepts_only_the_bodys_own_signature(string? header, bool valid) =>
        Assert.Equal(valid, ReceiptSignature.Verify("Jefe", "what do ya want for nothing?"u8, header));

    [Fact]
    public void A_full_receipt_parses()
    {
        var json = """{"id":"m-1","reference":"r-1","status":"failed","error":{"code":"handset_off","message":"unreachable"},"at":"2026-03-01T08:00:00+08:00"}""";

        Assert.True(ProviderReceipt.TryParse(Encoding.UTF8.GetBytes(json), out var receipt, out var error), error);
        Assert.Equal(new ProviderReceipt("m-1", "r-1", "failed", "handset_off", "unreachable", DateTimeOffset.Parse("2026-03-01T00:00:00Z")), receipt);
    }

    [Fact]
    public void A_minimal_delivered_receipt_parses()
    {
        Assert.True(ProviderReceipt.TryParse("""{"id":"m-1","reference":"r-1","status":"delivered"}"""u8, out var receipt, out _));
        Assert.Equal(new ProviderReceipt("m-1", "r-1", "delivered", null, null, null), receipt);
    }

    [Theory]
    [InlineData("""{"reference":"r","status":"delivered"}""", "id is required")]
    [InlineData("""{"id":"m","status":"delivered"}""", "reference is required")]
    [InlineData("""{"id":"m","reference":"r","status":"sent"}""", "status must be")]
    [InlineData("""{"id":"m","reference":"r","status":"delivered","at":"yesterday"}""", "at must be")]
    [InlineData("""[1,2]""", "not a JSON object")]
    [InlineData("""{"id":""", "not valid JSON")]
    public void A_malformed_receipt_is_refused_with_a_reason(string json, string reason)
    {
        Assert.False(ProviderReceipt.TryParse(Encoding.UTF8.GetBytes(json), out _, out var error));
        Assert.Contains(reason, error);
    }
}
