namespace Siyu.Channels;

/// <summary>Sends one message over the channels it handles. Implementations never throw for provider answers,
/// timeouts or network failures (those become a <see cref="SendResult"/>); only cancellation of <c>ct</c> throws.</summary>
public interface IChannelSender
{
    /// <summary>Whether this sender speaks for <paramref name="channel"/> through <paramref name="provider"/> (null: the channel's default).</summary>
    bool Handles(string channel, string? provider);

    Task<SendResult> SendAsync(ChannelMessage message, ChannelAccount account, CancellationToken ct);
}

/// <summary>
/// The one entry point of the delivery pipeline: checks the message's shape, then hands it to the sender of its
/// channel. A channel nobody handles is a programming error and throws <see cref="ArgumentException"/>.
/// </summary>
public sealed class ChannelSenders(IEnumerable<IChannelSender> senders)
{
    private readonly IChannelSender[] senders = senders.ToArray();

    public bool Handles(string channel, string? provider = null) => Array.Exists(senders, s => s.Handles(channel, provider));

    public Task<SendResult> SendAsync(ChannelMessage m, ChannelAccount a, CancellationToken ct)
    {
        var sender = Array.Find(senders, s => s.Handles(m.Channel, a.Provider))
            ?? throw new ArgumentException($"No sender handles channel '{m.Channel}' through '{a.Provider ?? ChannelProviders.Generic}'.", nameof(m));
        return ShapeProblem(m) is { } problem ? Task.FromResult(problem) : sender.SendAsync(m, a, ct);
    }

    private static SendResult? ShapeProblem(ChannelMessage m)
    {
        if (string.IsNullOrEmpty(m.IdempotencyKey) || m.IdempotencyKey.Length > ChannelMessage.MaxIdempotencyKeyLength)
            return SendResult.Rejected("invalid_message", $"IdempotencyKey must be 1..{ChannelMessage.MaxIdempotencyKeyLength} characters.");
        if (m.Reference.Length > ChannelMessage.MaxReferenceLength)
            return SendResult.Rejected("invalid_message", $"Reference must be at most {ChannelMessage.MaxReferenceLength} characters.");
        if (string.IsNullOrWhiteSpace(m.ProviderTemplate))
            return SendResult.Rejected("invalid_message", "ProviderTemplate is required.");
        if (m.Channel != ChannelNames.Webhook && string.IsNullOrWhiteSpace(m.Recipient))
            return SendResult.Rejected("invalid_recipient", "Recipient is required.");
        return null;
    }
}

/// <summary>Who can speak for a channel (<see cref="ChannelAccount.Provider"/>).</summary>
public static class ChannelProviders
{
    /// <summary>The generic provider contract (README.md), the default of wecom, sms, email and push.</summary>
    public const string Generic = "generic";
    /// <summary>Alibaba Cloud SMS (Dysmsapi), for sms.</summary>
    public const string Aliyun = "aliyun";
    /// <summary>Tencent Cloud SMS (API 3.0), for sms.</summary>
    public const string Tencent = "tencent";
    /// <summary>An SMTP server (the brand's relay or mail service), for email.</summary>
    public const string Smtp = "smtp";
    /// <summary>WeCom's own API (企业微信), for wecom: customer messages and app messages.</summary>
    public const string WeCom = "wecom";

    /// <summary>The providers each channel may name.</summary>
    public static IReadOnlyList<string> For(string channel) => channel switch
    {
        ChannelNames.Sms => [Generic, Aliyun, Tencent],
        ChannelNames.Email => [Generic, Smtp],
        ChannelNames.WeCom => [Generic, WeCom],
        ChannelNames.Push => [Generic],
        _ => [],
    };

    /// <summary>Whether the provider drops a repeat of our delivery key: Aliyun, Tencent, SMTP and WeCom have no such key.</summary>
    public static bool Dedupes(string? provider) => provider is not (Aliyun or Tencent or Smtp or WeCom);

    /// <summary>Whether the provider signs with a key pair (a key id beside the secret).</summary>
    public static bool HasKeyPair(string? provider) => provider is Aliyun or Tencent;
}

/// <summary>The channel names of <see cref="ChannelMessage.Channel"/>.</summary>
public static class ChannelNames
{
    public const string WeChatTemplate = "wechat_oa";
    public const string MiniProgramSubscribe = "miniprogram_subscribe";
    public const string WeCom = "wecom";
    public const string Sms = "sms";
    public const string Email = "email";
    public const string Push = "push";
    public const string Webhook = "webhook";
}
