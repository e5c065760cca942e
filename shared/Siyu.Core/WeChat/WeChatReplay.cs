using System.Globalization;
using System.Security.Cryptography;

namespace Siyu.Core.WeChat;

/// <summary>
/// What a push claims of its nonce: this body, until the signed timestamp stops being accepted. A plaintext
/// <c>signature</c> covers token, timestamp and nonce but not the body, so without the claim one signed query could
/// carry any number of bodies for as long as its timestamp is accepted.
/// </summary>
public sealed record WeChatNonceClaim(string Nonce, string BodyHash, DateTimeOffset ExpiresAt);

/// <summary>What an earlier claim on the same nonce of the same app makes of a push.</summary>
public enum WeChatNonceVerdict
{
    /// <summary>The earlier claim has expired: this push takes the nonce over.</summary>
    TakeOver,
    /// <summary>The same body again: WeChat's retry (or ours after a 503), to be accepted; ingestion dedupes it.</summary>
    Retry,
    /// <summary>Another body under a nonce already used: a replay, refused.</summary>
    Replay,
}

/// <summary>The replay guard's rules. The store claims (app, nonce) atomically; these say what a claim is and means.</summary>
public static class WeChatReplay
{
    /// <summary>
    /// The claim of a push whose signature and timestamp were checked: it holds while the signed timestamp is within
    /// <paramref name="window"/> of now, which is as long as the same signed query could be sent again.
    /// </summary>
    public static WeChatResult<WeChatNonceClaim> Claim(string nonce, string timestamp, ReadOnlySpan<byte> body, TimeSpan window)
    {
        ArgumentException.ThrowIfNullOrEmpty(nonce);
        if (WeChatLimits.CheckNonce(nonce) is { } tooLong) return WeChatResult<WeChatNonceClaim>.Fail(tooLong);
        if (!long.TryParse(timestamp, NumberStyles.None, CultureInfo.InvariantCulture, out var seconds)
            || seconds > DateTimeOffset.MaxValue.ToUnixTimeSeconds() - (long)window.TotalSeconds)
            return WeChatResult<WeChatNonceClaim>.Fail(WeChatErrorKind.StaleTimestamp, "timestamp is not a Unix time in seconds");
        return WeChatResult<WeChatNonceClaim>.Ok(new WeChatNonceClaim(nonce, BodyHash(body), DateTimeOffset.FromUnixTimeSeconds(seconds) + window));
    }

    /// <summary>SHA-256 of the body as received, in hex: a retry sends the very same bytes.</summary>
    public static string BodyHash(ReadOnlySpan<byte> body) => Convert.ToHexStringLower(SHA256.HashData(body));

    /// <summary>Judges a push against the claim already made on its nonce.</summary>
    public static WeChatNonceVerdict Judge(string earlierHash, DateTimeOffset earlierExpiresAt, WeChatNonceClaim claim, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(claim);
        if (earlierExpiresAt <= now) return WeChatNonceVerdict.TakeOver;
        return string.Equals(earlierHash, claim.BodyHash, StringComparison.Ordinal) ? WeChatNonceVerdict.Retry : WeChatNonceVerdict.Replay;
    }

    /// <summary>
    /// A retry signed with a later timestamp can be replayed for longer than the claim it met: the claim must then
    /// last as long as the retry's.
    /// </summary>
    public static bool MustExtend(DateTimeOffset earlierExpiresAt, WeChatNonceClaim claim) => claim.ExpiresAt > earlierExpiresAt;
}
