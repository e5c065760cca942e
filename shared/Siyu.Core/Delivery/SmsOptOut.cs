using System.Text.RegularExpressions;

namespace Siyu.Core.Delivery;

/// <summary>
/// China's rule for marketing SMS: each one tells the person how to refuse more ("回T退订", "拒收请回复R"), and a reply of
/// that word withdraws their consent. Pure.
/// </summary>
public static partial class SmsOptOut
{
    /// <summary>The reply words that withdraw marketing SMS consent unless a deployment configures its own.</summary>
    public static readonly IReadOnlyList<string> DefaultWords = ["T", "TD", "R", "N", "退订", "STOP"];

    // 回T退订 / 回复TD退订 / 退订回T / 拒收请回复R / reply STOP to opt out.
    [GeneratedRegex(@"回复?\s*[A-Za-z]{1,4}\s*退订|退订\s*(请)?回复?\s*[A-Za-z]{1,4}|拒收\s*(请)?回复?\s*[A-Za-z]{1,4}|reply\s+[A-Za-z]{1,4}\s+to\s+(opt\s*out|unsubscribe)",
        RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex Instruction();

    /// <summary>Whether a message text tells the person how to opt out.</summary>
    public static bool HasInstruction(string text) => Instruction().IsMatch(text);

    /// <summary>Whether a reply is an opt-out: one of <paramref name="words"/>, whatever the case, the spaces and the trailing punctuation.</summary>
    public static bool IsOptOut(string? reply, IEnumerable<string> words)
    {
        if (string.IsNullOrWhiteSpace(reply)) return false;
        var text = reply.Trim().TrimEnd('.', '。', '!', '！', ' ').Trim();
        return words.Any(w => string.Equals(text, w.Trim(), StringComparison.OrdinalIgnoreCase));
    }
}
