using System.Text;
using Siyu.Core.WeChat;

namespace Siyu.Core.Tests.WeChat;

public class WeChatReplayTests
{
    private static readonly DateTimeOffset Now = DateTimeOffset.Parse("2024-05-01T08:00:00Z");
    private static readonly TimeSpan Window = TimeSpan.FromMinutes(5);
    private static string Ts(DateTimeOffset at) => at.ToUnixTimeSeconds().ToString();

    private static WeChatNonceClaim Claim(string body, DateTimeOffset? signedAt = null)
    {
        var result = WeChatReplay.Claim("1234567890", Ts(signedAt ?? Now), Encoding.UTF8.GetBytes(body), Window);
        Assert.True(result.IsOk, result.Error?.ToString());
        return result.Value;
    }

    [Fact]
    public void A_claim_lasts_as_long_as_its_signed_timestamp_is_accepted()
    {
        Assert.Equal(Now + Window, Claim("<xml/>").ExpiresAt);
        // Signed a little in the future (a fast clock at WeChat): accepted for longer, so claimed for longer.
        Assert.Equal(Now.AddMinutes(2) + Window, Claim("<xml/>", Now.AddMinutes(2)).ExpiresAt);
    }

    [Fact]
    public void The_hash_is_of_the_body_bytes()
    {
        Assert.Equal(Claim("<xml>a</xml>").BodyHash, Claim("<xml>a</xml>").BodyHash);
        Assert.NotEqual(Claim("<xml>a</xml>").BodyHash, Claim("<xml>a</xml> ").BodyHash);
    }

    [Fact]
    public void Same_body_is_a_retry_another_is_a_replay_and_an_expired_claim_is_taken_over()
    {
        var earlier = Claim("<xml>first</xml>");
        Assert.Equal(WeChatNonceVerdict.Retry, WeChatReplay.Judge(earlier.BodyHash, earlier.ExpiresAt, Claim("<xml>first</xml>"), Now.AddMinutes(1)));
        Assert.Equal(WeChatNonceVerdict.Replay, WeChatReplay.Judge(earlier.BodyHash, earlier.ExpiresAt, Claim("<xml>other</xml>"), Now.AddMinutes(1)));
        var later = Claim("<xml>other</xml>", Now.AddMinutes(6));
        Assert.Equal(WeChatNonceVerdict.TakeOver, WeChatReplay.Judge(earlier.BodyHash, earlier.ExpiresAt, later, Now.AddMinutes(6)));
    }

    [Fact]
    public void A_retry_signed_later_extends_the_claim()
    {
        var earlier = Claim("<xml/>");
        Assert.True(WeChatReplay.MustExtend(earlier.ExpiresAt, Claim("<xml/>", Now.AddSeconds(30))));
        Assert.False(WeChatReplay.MustExtend(earlier.ExpiresAt, Claim("<xml/>")));
    }

    [Fact]
    public void An_overlong_nonce_or_an_unreadable_timestamp_is_refused()
    {
        var longNonce = WeChatReplay.Claim(new string('1', WeChatLimits.MaxNonceLength + 1), Ts(Now), [], Window);
        Assert.Equal(WeChatErrorKind.FieldTooLong, longNonce.Error!.Kind);
        Assert.Equal(400, longNonce.Error.HttpStatus);
        Assert.True(WeChatReplay.Claim(new string('1', WeChatLimits.MaxNonceLength), Ts(Now), [], Window).IsOk);
        Assert.Equal(WeChatErrorKind.StaleTimestamp, WeChatReplay.Claim("1", "soon", [], Window).Error!.Kind);
        Assert.Equal(WeChatErrorKind.StaleTimestamp, WeChatReplay.Claim("1", "999999999999999999", [], Window).Error!.Kind);
    }

    [Fact]
    public void A_replay_is_a_401()
    {
        Assert.Equal(401, new WeChatError(WeChatErrorKind.Replayed, "x").HttpStatus);
    }
}
