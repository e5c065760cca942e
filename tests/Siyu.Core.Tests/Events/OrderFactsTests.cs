using System.Text.Json.Nodes;
using Siyu.Core.Events;
using Siyu.Core.Identities;

namespace Siyu.Core.Tests.Events;

public class OrderFactsTests
{
    private static JsonObject Props(string json) => JsonNode.Parse(json)!.AsObject();

    [Fact]
    public void Reads_order_id_total_and_currency()
    {
        Assert.True(OrderFacts.TryRead(Props("""{"orderId":"A1","total":128.80,"currency":"HKD","extra":[1]}"""), out var facts, out var error));
        Assert.Null(error);
        Assert.Equal(new OrderFacts("A1", 128.80m, "HKD"), facts);
    }

    [Theory]
    [InlineData("""{"orderId":"A1","total":1}""")]
    [InlineData("""{"orderId":"A1","total":1,"currency":null}""")]
    public void Currency_defaults_to_CNY(string json)
    {
        Assert.True(OrderFacts.TryRead(Props(json), out var facts, out _));
        Assert.Equal("CNY", facts.Currency);
    }

    [Fact]
    public void Totals_keep_their_decimal_digits_exactly()
    {
        Assert.True(OrderFacts.TryRead(Props("""{"orderId":"A1","total":0.1}"""), out var a, out _));
        Assert.True(OrderFacts.TryRead(Props("""{"orderId":"A1","total":0.2}"""), out var b, out _));
        Assert.Equal(0.3m, a.Total + b.Total);
        Assert.True(OrderFacts.TryRead(Props("""{"orderId":"A1","total":123456789012.34}"""), out var big, out _));
        Assert.Equal(123456789012.34m, big.Total);
        // Past the cap is not an order.
        Assert.False(OrderFacts.TryRead(Props("""{"orderId":"A1","total":1000000000000.01}"""), out _, out var error));
        Assert.Contains("at most", error);
    }

    [Fact]
    public void Reads_totals_of_orders_built_in_code_as_decimals()
    {
        Assert.True(OrderFacts.TryRead(new JsonObject { ["orderId"] = "A1", ["total"] = 9.9m }, out var facts, out _));
        Assert.Equal(9.9m, facts.Total);
    }

    [Theory]
    [InlineData(null, "an order needs properties.orderId (1-128 characters)")]
    [InlineData("""{}""", "an order needs properties.orderId (1-128 characters)")]
    [InlineData("""{"orderId":"","total":1}""", "an order needs properties.orderId (1-128 characters)")]
    [InlineData("""{"orderId":"  ","total":1}""", "an order needs properties.orderId (1-128 characters)")]
    [InlineData("""{"orderId":7,"total":1}""", "an order needs properties.orderId (1-128 characters)")]
    [InlineData("""{"orderId":["A1"],"total":1}""", "an order needs properties.orderId (1-128 characters)")]
    [InlineData("""{"orderId":"A1"}""", "an order needs properties.total as a number")]
    [InlineData("""{"orderId":"A1","total":"1"}""", "an order needs properties.total as a number")]
    [InlineData("""{"orderId":"A1","total":true}""", "an order needs properties.total as a number")]
    [InlineData("""{"orderId":"A1","total":{"amount":1}}""", "an order needs properties.total as a number")]
    [InlineData("""{"orderId":"A1","total":1e300}""", "an order needs properties.total as a number")]
    [InlineData("""{"orderId":"A1","total":-1}""", "properties.total must not be negative")]
    [InlineData("""{"orderId":"A1","total":1,"currency":"cny"}""", "properties.currency must be a three-letter ISO 4217 code such as CNY")]
    [InlineData("""{"orderId":"A1","total":1,"currency":"CN"}""", "properties.currency must be a three-letter ISO 4217 code such as CNY")]
    [InlineData("""{"orderId":"A1","total":1,"currency":"CNYX"}""", "properties.currency must be a three-letter ISO 4217 code such as CNY")]
    [InlineData("""{"orderId":"A1","total":1,"currency":"C1Y"}""", "properties.currency must be a three-letter ISO 4217 code such as CNY")]
    [InlineData("""{"orderId":"A1","total":1,"currency":"ＣＮＹ"}""", "properties.currency must be a three-letter ISO 4217 code such as CNY")]
    [InlineData("""{"orderId":"A1","total":1,"currency":156}""", "properties.currency must be a three-letter ISO 4217 code such as CNY")]
    [InlineData("""{"orderId":"A1","total":1,"currency":{}}""", "properties.currency must be a three-letter ISO 4217 code such as CNY")]
    public void Refuses_incomplete_orders(string? json, string expected)
    {
        Assert.False(OrderFacts.TryRead(json is null ? null : Props(json), out var facts, out var error));
        Assert.Equal(expected, error);
        Assert.Equal(default, facts);
    }

    [Fact]
    public void Order_id_length_limit_is_128()
    {
        Assert.True(OrderFacts.TryRead(new JsonObject { ["orderId"] = new string('o', 128), ["total"] = 0m }, out _, out _));
        Assert.False(OrderFacts.TryRead(new JsonObject { ["orderId"] = new string('o', 129), ["total"] = 0m }, out _, out _));
    }

    // ---- dedupe keys ----

    private static IncomingEvent Event(EventType type, string messageId, JsonObject? properties = null) => new()
    {
        MessageId = messageId,
        Type = type,
        Name = type.ToString().ToLowerInvariant(),
        Identities = [new Identity(IdentityType.UserId, "u1")],
        Properties = properties,
        Timestamp = DateTimeOffset.Parse("2024-05-01T08:00:00Z"),
        ReceivedAt = DateTimeOffset.Parse("2024-05-01T08:00:00Z"),
        Source = "api",
    };

    [Fact]
    public void An_order_resent_under_a_new_message_id_has_the_same_dedupe_key()
    {
        var props = Props("""{"orderId":"A1","total":10}""");
        var first = Event(EventType.Order, "m-1", props);
        var resent = Event(EventType.Order, "m-2", props);
        Assert.Equal("order:A1", first.DedupeKey());
        Assert.Equal(first.DedupeKey(), resent.DedupeKey());
    }

    [Fact]
    public void Other_events_dedupe_by_message_id()
    {
        var props = Props("""{"orderId":"A1","total":10}""");
        Assert.Equal("msg:m-1", Event(EventType.Track, "m-1", props).DedupeKey());
        Assert.Equal("msg:m-1", Event(EventType.Identify, "m-1", props).DedupeKey());
        Assert.NotEqual(Event(EventType.Track, "m-1").DedupeKey(), Event(EventType.Track, "m-2").DedupeKey());
    }

    [Fact]
    public void An_order_without_readable_facts_falls_back_to_its_message_id()
    {
        Assert.Equal("msg:m-1", Event(EventType.Order, "m-1").DedupeKey());
        Assert.Equal("msg:m-1", Event(EventType.Order, "m-1", Props("""{"orderId":"A1"}""")).DedupeKey());
    }

    [Fact]
    public void Different_orders_have_different_dedupe_keys()
    {
        Assert.NotEqual(
            Event(EventType.Order, "m-1", Props("""{"orderId":"A1","total":10}""")).DedupeKey(),
            Event(EventType.Order, "m-1", Props("""{"orderId":"A2","total":10}""")).DedupeKey());
    }

    [Fact]
    public void A_message_id_cannot_collide_with_an_order_key()
    {
        var order = Event(EventType.Order, "m-1", Props("""{"orderId":"42","total":10}"""));
        var shipped = Event(EventType.Track, "order:42", Props("""{"orderId":"42"}"""));
        Assert.NotEqual(order.DedupeKey(), shipped.DedupeKey());
    }
}
