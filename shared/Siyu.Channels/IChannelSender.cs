namespace Siyu.Channels;

/// <summary>Sends one message over the channels it handles. Implementations never throw for provider answers,
/// timeouts or network failures (those become a <see cref="SendResult"/>); only cancellation of <c>ct</c> throws.</summary>
public interface IChannelSender
{
    bool Handles(string channel);

    Task<SendResult> SendAsync(ChannelMessage message, ChannelAccount account, CancellationToken ct);
}

/// <summary>
/// The one entry point of the delivery pipeline: checks the message's shape, then hands it to the sender of its
/// channel. A channel nobody handles is a programming error and throws <see cref="ArgumentException"/>.
/// </summary>
public sealed class ChannelSenders(IEnumerable<IChannelSender> senders)
{
    private readonly IChannelSender[] senders = senders.ToArray();

    public bool Handles(string channel) => Array.Exists(senders, s => s.Handles(channel));

    public Task<SendResult> SendAsync(ChannelMessage m, ChannelAccount a, CancellationToken ct)
    {
        var sender = Array.Find(senders, s => s.Handles(m.Channel))
            ?? throw new ArgumentException($"No sender handles channel '{m.Channel}'.", nameof(m));
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
