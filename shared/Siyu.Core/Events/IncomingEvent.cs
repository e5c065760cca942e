using System.Text.Json.Nodes;
using Siyu.Core.Identities;

namespace Siyu.Core.Events;

public enum EventType
{
    /// <summary>Something the customer did: a page view, add to cart, a WeChat subscribe.</summary>
    Track,
    /// <summary>Who the customer is: traits that become profile attributes.</summary>
    Identify,
    /// <summary>A completed order: counts towards order totals.</summary>
    Order,
    /// <summary>A consent decision (purpose, channel, status, source, evidence in its properties): goes to the consent ledger.</summary>
    Consent,
}

/// <summary>
/// An event after validation, in the one shape every source (HTTP API, WeChat push) is turned into before it is
/// queued for processing. <see cref="MessageId"/> is the dedupe key: processing the same id twice changes nothing.
/// </summary>
public sealed record IncomingEvent
{
    public required string MessageId { get; init; }
    public required EventType Type { get; init; }
    /// <summary>The event name: the tracked event, or "identify" / "order" / "consent".</summary>
    public required string Name { get; init; }
    public required IReadOnlyList<Identity> Identities { get; init; }
    public JsonObject? Properties { get; init; }
    /// <summary>For identify events: attributes to set (a null value removes the attribute).</summary>
    public JsonObject? Traits { get; init; }
    /// <summary>When it happened, as the source says.</summary>
    public required DateTimeOffset Timestamp { get; init; }
    /// <summary>When we accepted it.</summary>
    public required DateTimeOffset ReceivedAt { get; init; }
    /// <summary>Where it came from: "api", or "wechat:{appId}".</summary>
    public required string Source { get; init; }
    /// <summary>Set when the caller named the profile itself (a consent for a known profile id): no identity lookup.</summary>
    public string? ProfileId { get; init; }

    [System.Text.Json.Serialization.JsonIgnore]
    public Identity PrimaryIdentity => IdentityRules.Primary(Identities);
}

public static class IncomingEventKeys
{
    /// <summary>
    /// The key an event is stored and deduplicated under within its profile. An order is keyed by its order id,
    /// so a resent order counts once even under a new messageId. The prefixes keep the two kinds apart.
    /// </summary>
    public static string DedupeKey(this IncomingEvent e) =>
        e.Type == EventType.Order && OrderFacts.TryRead(e.Properties, out var order, out _)
            ? "order:" + order.OrderId
            : "msg:" + e.MessageId;
}
