using Siyu.Core.Consent;

namespace Siyu.Core.Delivery;

/// <summary>
/// Sending once when the provider cannot help (#14). Where the provider drops a repeat of our delivery key (WeChat
/// template <c>client_msg_id</c>, a gateway that honours <c>Idempotency-Key</c>), a send goes first and is recorded
/// with its outcome: a crash in between sends it again and the provider drops the repeat. Where it does not (Aliyun
/// and Tencent Cloud SMS, SMTP, WeChat subscribe messages), the send is claimed in its row first and goes at most
/// once: a claim found still <c>sending</c> after its worker's time is up is recorded as an unknown outcome, never
/// sent again. Pure.
/// </summary>
public static class SendOnce
{
    /// <summary>The failure reason of a send that may or may not have reached the person.</summary>
    public const string OutcomeUnknown = "outcome_unknown";

    /// <summary>
    /// Whether a provider account dedupes when the brand does not say: the generic provider contract (wecom, sms,
    /// email, push) requires <c>Idempotency-Key</c> to be honoured; a webhook receiver is the brand's own system,
    /// which nothing obliges to.
    /// </summary>
    public static bool DedupesByDefault(string channel) => channel != MessageTemplates.Webhook;

    /// <summary>
    /// A send that must go at most once: its provider does not dedupe, or its channel's API has no key to dedupe on
    /// (mini-program subscribe messages).
    /// </summary>
    public static bool AtMostOnce(bool providerDedupes, string channel) =>
        !providerDedupes || channel == ConsentVocabulary.MiniProgramSubscribe;

    /// <summary>
    /// An at-most-once send found still claimed (<c>sending</c>): until <paramref name="claimedAt"/> +
    /// <paramref name="sendTimeout"/> its worker may still be sending it, so it is looked at again then; after that the
    /// worker stopped before recording what the provider said, and the answer is null: the outcome is unknown.
    /// </summary>
    public static DateTimeOffset? StillSendingUntil(DateTimeOffset claimedAt, DateTimeOffset now, TimeSpan sendTimeout) =>
        now >= claimedAt + sendTimeout ? null : claimedAt + sendTimeout;
}
