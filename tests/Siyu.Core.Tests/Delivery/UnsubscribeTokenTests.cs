using Siyu.Core.Delivery;

namespace Siyu.Core.Tests.Delivery;

public class UnsubscribeTokenTests
{
    private static readonly byte[] Key = UnsubscribeToken.DeriveKey("deployment-secret"u8);

    [Fact]
    public void A_token_names_one_person_of_one_tenant_on_one_channel()
    {
        var token = UnsubscribeToken.Compute(Key, "brand1", "p1", "email");

        Assert.Equal(32, token.Length);
        Assert.True(UnsubscribeToken.Matches(Key, "brand1", "p1", "email", token));
        Assert.False(UnsubscribeToken.Matches(Key, "brand2", "p1", "email", token));
        Assert.False(UnsubscribeToken.Matches(Key, "brand1", "p2", "email", token));
        Assert.False(UnsubscribeToken.Matches(Key, "brand1", "p1", "sms", token));
        Assert.False(UnsubscribeToken.Matches(UnsubscribeToken.DeriveKey("another-secret"u8), "brand1", "p1", "email", token));
        Assert.False(UnsubscribeToken.Matches(Key, "brand1", "p1", "email", token[..31]));
        Assert.False(UnsubscribeToken.Matches(Key, "brand1", "p1", "email", null));
    }

    [Fact]
    public void A_token_is_url_safe_and_the_same_every_time()
    {
        var token = UnsubscribeToken.Compute(Key, "brand1", "p1", "email");

        Assert.Equal(token, UnsubscribeToken.Compute(Key, "brand1", "p1", "email"));
        Assert.All(token, c => Assert.True(char.IsAsciiLetterOrDigit(c) || c is '-' or '_'));
    }
}
