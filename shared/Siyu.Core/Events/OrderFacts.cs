using System.Text.Json;
using System.Text.Json.Nodes;

namespace Siyu.Core.Events;

/// <summary>What an order event must say: an order id, a non-negative total and a currency (default CNY).</summary>
public readonly record struct OrderFacts(string OrderId, decimal Total, string Currency)
{
    /// <summary>A trillion per order: far beyond any real basket, and sums of such can never overflow.</summary>
    public const decimal MaxTotal = 1_000_000_000_000m;

    public static bool TryRead(JsonObject? properties, out OrderFacts facts, out string? error)
    {
        facts = default;
        error = null;
        var orderId = properties?["orderId"] is JsonValue idValue && idValue.TryGetValue<string>(out var id) ? id : null;
        if (string.IsNullOrWhiteSpace(orderId) || orderId.Length > 128) { error = "an order needs properties.orderId (1-128 characters)"; return false; }

        decimal total;
        var totalNode = properties!["total"];
        if (totalNode is JsonValue tv && tv.GetValueKind() == JsonValueKind.Number && tv.TryGetValue(out total)) { }
        else { error = "an order needs properties.total as a number"; return false; }
        if (total < 0) { error = "properties.total must not be negative"; return false; }
        if (total > MaxTotal) { error = $"properties.total must be at most {MaxTotal:0}"; return false; }

        var currency = "CNY";
        if (properties["currency"] is { } c)
        {
            if (c is not JsonValue cv || !cv.TryGetValue<string>(out var code) || code.Length != 3 || !code.All(char.IsAsciiLetterUpper))
            { error = "properties.currency must be a three-letter ISO 4217 code such as CNY"; return false; }
            currency = code;
        }
        facts = new OrderFacts(orderId, total, currency);
        return true;
    }
}
