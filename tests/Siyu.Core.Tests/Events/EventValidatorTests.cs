using System.Text.Json;
using System.Text.Json.Nodes;
using Siyu.Core.Events;
using Siyu.Core.Identities;

namespace Siyu.Core.Tests.Events;

public class EventValidatorTests
{
    private static readonly DateTimeOffset Now = DateTimeOffset.Parse("2024-05-01T08:00:00Z");
    private static readonly TimeSpan Skew = TimeSpan.FromMinutes(5);
    private static readonly EventValidator Validator = new(Skew);

    private sealed record Outcome(bool Ok, IncomingEvent? Event, ItemError? Error);

    private static Outcome Validate(string json, int index = 0, EventValidator? validator = null)
    {
        using var doc = JsonDocument.Parse(json);
        var ok = (validator ?? Validator).TryValidate(doc.RootElement, index, Now, out var evt, out var error);
        Assert.Equal(ok, evt is not null);
        Assert.Equal(ok, error is null);
        return new Outcome(ok, evt, error);
    }

    private static Outcome Validate(JsonObject item, int index = 0, EventValidator? validator = null) =>
        Validate(item.ToJsonString(), index, validator);

    private static IncomingEvent Accepted(JsonObject item, EventValidator? validator = null)
    {
        var o = Validate(item, validator: validator);
        Assert.True(o.Ok, o.Error?.ToString());
        return o.Event!;
    }

    private static ItemError Refused(JsonObject item, string code, EventValidator? validator = null)
    {
        var o = Validate(item, validator: validator);
        Assert.False(o.Ok, "expected " + code);
        Assert.Equal(code, o.Error!.Code);
        Assert.False(string.IsNullOrWhiteSpace(o.Error.Message));
        return o.Error;
    }

    private static JsonObject Track() => new()
    {
        ["messageId"] = "m-1",
        ["type"] = "track",
        ["event"] = "page_view",
        ["identities"] = new JsonObject { ["userId"] = "u1" },
    };

    private static JsonObject Identify() => new()
    {
        ["messageId"] = "m-2",
        ["type"] = "identify",
        ["identities"] = new JsonObject { ["userId"] = "u1" },
        ["traits"] = new JsonObject { ["name"] = "张三" },
    };

    private static JsonObject Order() => new()
    {
        ["messageId"] = "m-3",
        ["type"] = "order",
        ["identities"] = new JsonObject { ["userId"] = "u1" },
        ["properties"] = new JsonObject { ["orderId"] = "A1001", ["total"] = 99.5m, ["currency"] = "CNY" },
    };

    private static JsonObject With(JsonObject item, string name, JsonNode? value)
    {
        item[name] = value;
        return item;
    }

    private static JsonObject Without(JsonObject item, string name)
    {
        item.Remove(name);
        return item;
    }

    /// <summary>A JSON object whose compact text is exactly <paramref name="chars"/> characters long.</summary>
    private static JsonObject ObjectOfLength(int chars)
    {
        var o = new JsonObject { ["p"] = new string('x', chars - """{"p":""}""".Length) };
        Assert.Equal(chars, o.ToJsonString().Length);
        return o;
    }

    private static JsonObject Traits(int count)
    {
        var o = new JsonObject();
        for (var i = 0; i < count; i++) o[$"t{i}"] = i;
        return o;
    }

    // ---- valid items ----

    [Fact]
    public void A_track_event_becomes_an_incoming_event()
    {
        var item = Track();
        item["properties"] = new JsonObject { ["path"] = "/home", ["n"] = 3 };
        item["traits"] = new JsonObject { ["ignored"] = true };
        item["timestamp"] = "2024-05-01T07:59:00Z";

        var e = Accepted(item);
        Assert.Equal("m-1", e.MessageId);
        Assert.Equal(EventType.Track, e.Type);
        Assert.Equal("page_view", e.Name);
        Assert.Equal(new[] { new Identity(IdentityType.UserId, "u1") }, e.Identities);
        Assert.Equal("""{"path":"/home","n":3}""", e.Properties!.ToJsonString());
        Assert.Null(e.Traits); // traits only matter on identify
        Assert.Equal(DateTimeOffset.Parse("2024-05-01T07:59:00Z"), e.Timestamp);
        Assert.Equal(Now, e.ReceivedAt);
        Assert.Equal("api", e.Source);
        Assert.Equal("msg:m-1", e.DedupeKey());
    }

    [Fact]
    public void An_identify_event_is_named_identify_and_keeps_its_traits()
    {
        var item = Identify();
        item["event"] = "something_else";
        var e = Accepted(item);
        Assert.Equal(EventType.Identify, e.Type);
        Assert.Equal("identify", e.Name);
        Assert.Equal("张三", e.Traits!["name"]!.GetValue<string>());
        Assert.Null(e.Properties);
    }

    [Fact]
    public void An_order_event_is_named_order_unless_it_says_otherwise()
    {
        Assert.Equal("order", Accepted(Order()).Name);
        Assert.Equal("purchase", Accepted(With(Order(), "event", "purchase")).Name);
        Assert.Equal(EventType.Order, Accepted(Order()).Type);
        Assert.Equal("order:A1001", Accepted(Order()).DedupeKey());
    }

    [Fact]
    public void Without_a_timestamp_the_event_happened_now()
    {
        Assert.Equal(Now, Accepted(Track()).Timestamp);
        Assert.Equal(Now, Accepted(With(Track(), "timestamp", null)).Timestamp);
    }

    [Fact]
    public void Timestamps_are_kept_in_UTC()
    {
        var e = Accepted(With(Track(), "timestamp", "2024-05-01T15:30:00+08:00"));
        Assert.Equal(TimeSpan.Zero, e.Timestamp.Offset);
        Assert.Equal(new DateTimeOffset(2024, 5, 1, 7, 30, 0, TimeSpan.Zero), e.Timestamp);
    }

    [Fact]
    public void A_timestamp_without_offset_is_taken_as_UTC()
    {
        var e = Accepted(With(Track(), "timestamp", "2024-05-01T07:30:00"));
        Assert.Equal(new DateTimeOffset(2024, 5, 1, 7, 30, 0, TimeSpan.Zero), e.Timestamp);
    }

    [Fact]
    public void Identities_of_every_kind_are_read_and_deduplicated()
    {
        var item = Track();
        item["identities"] = new JsonObject
        {
            ["userId"] = "m1",
            ["memberId"] = "m1",              // alias of userId, same value: one identity
            ["phone"] = "138 0013 8000",
            ["Phone"] = "+86 13800138000",    // same person, other spelling
            ["unionid"] = "uAbc",
            ["openid"] = "oAbc",
            ["appId"] = "wx123",
            ["anonymousId"] = "dev-1",
        };
        var e = Accepted(item);
        Assert.Equal(
            new[] { "userId:m1", "phone:+8613800138000", "unionid:uAbc", "openid:wx123:oAbc", "anonymousId:dev-1" },
            e.Identities.Select(i => i.Key).ToArray());
        Assert.Equal(IdentityType.UserId, e.PrimaryIdentity.Type);
    }

    [Fact]
    public void The_primary_identity_follows_precedence()
    {
        var item = Track();
        item["identities"] = new JsonObject { ["anonymousId"] = "d1", ["openid"] = "oAbc", ["appId"] = "wx1", ["phone"] = "13800138000" };
        Assert.Equal("phone:+8613800138000", Accepted(item).PrimaryIdentity.Key);
    }

    [Fact]
    public void Properties_are_copied_out_of_the_request_document()
    {
        var e = Accepted(With(Track(), "properties", new JsonObject { ["a"] = new JsonArray(1, 2) }));
        // the document is disposed by now; the event still reads
        Assert.Equal(2, e.Properties!["a"]!.AsArray().Count);
    }

    // ---- every error code ----

    public static TheoryData<string, string> RefusedItems => new()
    {
        { "[]", "invalid_item" },
        { "\"track\"", "invalid_item" },
        { "42", "invalid_item" },
        { "null", "invalid_item" },
        { """{"type":"track","event":"e","identities":{"userId":"u"}}""", "missing_message_id" },
        { """{"messageId":"","type":"track","event":"e","identities":{"userId":"u"}}""", "missing_message_id" },
        { """{"messageId":"   ","type":"track","event":"e","identities":{"userId":"u"}}""", "missing_message_id" },
        { """{"messageId":42,"type":"track","event":"e","identities":{"userId":"u"}}""", "missing_message_id" },
        { """{"messageId":null,"type":"track","event":"e","identities":{"userId":"u"}}""", "missing_message_id" },
        { """{"messageId":"m\u0007","type":"track","event":"e","identities":{"userId":"u"}}""", "invalid_message_id" },
        { """{"messageId":"m\n1","type":"track","event":"e","identities":{"userId":"u"}}""", "invalid_message_id" },
        { """{"messageId":"m","event":"e","identities":{"userId":"u"}}""", "missing_type" },
        { """{"messageId":"m","type":1,"event":"e","identities":{"userId":"u"}}""", "missing_type" },
        { """{"messageId":"m","type":"Track","event":"e","identities":{"userId":"u"}}""", "unknown_type" },
        { """{"messageId":"m","type":"page","event":"e","identities":{"userId":"u"}}""", "unknown_type" },
        { """{"messageId":"m","type":"","event":"e","identities":{"userId":"u"}}""", "unknown_type" },
        { """{"messageId":"m","type":"track","identities":{"userId":"u"}}""", "missing_event" },
        { """{"messageId":"m","type":"track","event":"","identities":{"userId":"u"}}""", "missing_event" },
        { """{"messageId":"m","type":"track","event":"  ","identities":{"userId":"u"}}""", "missing_event" },
        { """{"messageId":"m","type":"track","event":7,"identities":{"userId":"u"}}""", "missing_event" },
        { """{"messageId":"m","type":"order","event":" ","identities":{"userId":"u"},"properties":{"orderId":"o","total":1}}""", "missing_event" },
        { """{"messageId":"m","type":"track","event":"a\tb","identities":{"userId":"u"}}""", "invalid_event" },
        { """{"messageId":"m","type":"track","event":"e"}""", "missing_identity" },
        { """{"messageId":"m","type":"track","event":"e","identities":null}""", "missing_identity" },
        { """{"messageId":"m","type":"track","event":"e","identities":{}}""", "missing_identity" },
        { """{"messageId":"m","type":"track","event":"e","identities":[]}""", "invalid_identity" },
        { """{"messageId":"m","type":"track","event":"e","identities":"u1"}""", "invalid_identity" },
        { """{"messageId":"m","type":"track","event":"e","identities":{"email":"a@b.c"}}""", "invalid_identity" },
        { """{"messageId":"m","type":"track","event":"e","identities":{"userId":42}}""", "invalid_identity" },
        { """{"messageId":"m","type":"track","event":"e","identities":{"userId":null}}""", "invalid_identity" },
        { """{"messageId":"m","type":"track","event":"e","identities":{"userId":""}}""", "invalid_identity" },
        { """{"messageId":"m","type":"track","event":"e","identities":{"phone":"12345"}}""", "invalid_identity" },
        { """{"messageId":"m","type":"track","event":"e","identities":{"openid":"oAbc"}}""", "invalid_identity" },
        { """{"messageId":"m","type":"track","event":"e","identities":{"openid":"oAbc","appId":42}}""", "invalid_identity" },
        { """{"messageId":"m","type":"track","event":"e","identities":{"openid":"oAbc","appId":"wx 1"}}""", "invalid_identity" },
        { """{"messageId":"m","type":"track","event":"e","identities":{"appId":"wx1"}}""", "invalid_identity" },
        { """{"messageId":"m","type":"track","event":"e","identities":{"userId":"u","appId":"wx1"}}""", "invalid_identity" },
        { """{"messageId":"m","type":"track","event":"e","identities":{"userId":"u","anonymousId":"a\u0000"}}""", "invalid_identity" },
        { """{"messageId":"m","type":"track","event":"e","identities":{"userId":"u"},"timestamp":"yesterday"}""", "invalid_timestamp" },
        { """{"messageId":"m","type":"track","event":"e","identities":{"userId":"u"},"timestamp":""}""", "invalid_timestamp" },
        { """{"messageId":"m","type":"track","event":"e","identities":{"userId":"u"},"timestamp":"2024-13-01T00:00:00Z"}""", "invalid_timestamp" },
        { """{"messageId":"m","type":"track","event":"e","identities":{"userId":"u"},"timestamp":1714550400}""", "invalid_timestamp" },
        { """{"messageId":"m","type":"track","event":"e","identities":{"userId":"u"},"timestamp":true}""", "invalid_timestamp" },
        { """{"messageId":"m","type":"track","event":"e","identities":{"userId":"u"},"timestamp":{}}""", "invalid_timestamp" },
        { """{"messageId":"m","type":"track","event":"e","identities":{"userId":"u"},"timestamp":"1970-01-01T00:00:00Z"}""", "invalid_timestamp" },
        { """{"messageId":"m","type":"track","event":"e","identities":{"userId":"u"},"timestamp":"2099-01-01T00:00:00Z"}""", "timestamp_in_future" },
        { """{"messageId":"m","type":"track","event":"e","identities":{"userId":"u"},"properties":[]}""", "invalid_properties" },
        { """{"messageId":"m","type":"track","event":"e","identities":{"userId":"u"},"properties":"a=1"}""", "invalid_properties" },
        { """{"messageId":"m","type":"track","event":"e","identities":{"userId":"u"},"properties":1}""", "invalid_properties" },
        { """{"messageId":"m","type":"track","event":"e","identities":{"userId":"u"},"traits":[1]}""", "invalid_traits" },
        { """{"messageId":"m","type":"identify","identities":{"userId":"u"},"traits":"x"}""", "invalid_traits" },
        { """{"messageId":"m","type":"identify","identities":{"userId":"u"},"traits":{"":1}}""", "invalid_traits" },
        { """{"messageId":"m","type":"identify","identities":{"userId":"u"},"traits":{"a\u0001":1}}""", "invalid_traits" },
        { """{"messageId":"m","type":"identify","identities":{"userId":"u"}}""", "missing_traits" },
        { """{"messageId":"m","type":"identify","identities":{"userId":"u"},"traits":null}""", "missing_traits" },
        { """{"messageId":"m","type":"identify","identities":{"userId":"u"},"traits":{}}""", "missing_traits" },
        { """{"messageId":"m","type":"order","identities":{"userId":"u"}}""", "invalid_order" },
        { """{"messageId":"m","type":"order","identities":{"userId":"u"},"properties":{}}""", "invalid_order" },
        { """{"messageId":"m","type":"order","identities":{"userId":"u"},"properties":{"orderId":"o1"}}""", "invalid_order" },
        { """{"messageId":"m","type":"order","identities":{"userId":"u"},"properties":{"orderId":42,"total":1}}""", "invalid_order" },
        { """{"messageId":"m","type":"order","identities":{"userId":"u"},"properties":{"orderId":" ","total":1}}""", "invalid_order" },
        { """{"messageId":"m","type":"order","identities":{"userId":"u"},"properties":{"orderId":"o1","total":"12.5"}}""", "invalid_order" },
        { """{"messageId":"m","type":"order","identities":{"userId":"u"},"properties":{"orderId":"o1","total":null}}""", "invalid_order" },
        { """{"messageId":"m","type":"order","identities":{"userId":"u"},"properties":{"orderId":"o1","total":-0.01}}""", "invalid_order" },
        { """{"messageId":"m","type":"order","identities":{"userId":"u"},"properties":{"orderId":"o1","total":1e400}}""", "invalid_order" },
        { """{"messageId":"m","type":"order","identities":{"userId":"u"},"properties":{"orderId":"o1","total":1,"currency":"cny"}}""", "invalid_order" },
        { """{"messageId":"m","type":"order","identities":{"userId":"u"},"properties":{"orderId":"o1","total":1,"currency":156}}""", "invalid_order" },
    };

    [Theory]
    [MemberData(nameof(RefusedItems))]
    public void Refused_items_carry_a_stable_code(string json, string code)
    {
        var o = Validate(json, index: 3);
        Assert.False(o.Ok);
        Assert.Equal(code, o.Error!.Code);
        Assert.Equal(3, o.Error.Index);
        Assert.False(string.IsNullOrWhiteSpace(o.Error.Message));
    }

    [Fact]
    public void Every_error_code_is_exercised()
    {
        string[] codes =
        [
            "invalid_item", "missing_message_id", "invalid_message_id", "missing_type", "unknown_type", "missing_event",
            "invalid_event", "missing_identity", "invalid_identity", "invalid_timestamp", "timestamp_in_future",
            "invalid_properties", "invalid_traits", "missing_traits", "invalid_order",
        ];
        var covered = RefusedItems.Select(row => (string)row[1]).ToHashSet();
        Assert.Empty(codes.Except(covered));
        Assert.Empty(covered.Except(codes));
    }

    [Fact]
    public void Errors_name_the_message_id_once_it_is_known()
    {
        Assert.Null(Validate("[]").Error!.MessageId);
        Assert.Null(Validate("""{"type":"track"}""").Error!.MessageId);
        Assert.Equal("m-9", Validate("""{"messageId":"m-9","type":"nope"}""").Error!.MessageId);
        Assert.Equal("m-9", Validate("""{"messageId":"m-9","type":"identify","identities":{"userId":"u"}}""").Error!.MessageId);
    }

    [Fact]
    public void The_first_problem_decides_the_code()
    {
        // no identity AND a bad timestamp AND bad properties: identities are checked first
        var json = """{"messageId":"m","type":"track","event":"e","timestamp":"bad","properties":[]}""";
        Assert.Equal("missing_identity", Validate(json).Error!.Code);
    }

    [Fact]
    public void Identity_errors_explain_themselves()
    {
        Assert.Equal("appId is only meaningful with an openid",
            Validate("""{"messageId":"m","type":"track","event":"e","identities":{"appId":"wx1"}}""").Error!.Message);
        Assert.Equal("openid needs the appId it belongs to",
            Validate("""{"messageId":"m","type":"track","event":"e","identities":{"openid":"o"}}""").Error!.Message);
        Assert.Contains("unknown identity 'email'",
            Validate("""{"messageId":"m","type":"track","event":"e","identities":{"email":"x"}}""").Error!.Message);
    }

    // ---- boundaries ----

    [Fact]
    public void MessageId_may_be_128_characters_not_129()
    {
        Assert.Equal(128, EventValidator.MaxMessageIdLength);
        Assert.Equal(new string('m', 128), Accepted(With(Track(), "messageId", new string('m', 128))).MessageId);
        var error = Refused(With(Track(), "messageId", new string('m', 129)), "invalid_message_id");
        Assert.Equal(new string('m', 129), error.MessageId);
    }

    [Fact]
    public void MessageId_may_hold_unusual_printable_characters()
    {
        const string id = "订单/2024#1?x=%20~é😀";
        Assert.Equal(id, Accepted(With(Track(), "messageId", id)).MessageId);
    }

    [Fact]
    public void Event_name_may_be_100_characters_not_101()
    {
        Assert.Equal(100, EventValidator.MaxEventNameLength);
        Assert.Equal(new string('e', 100), Accepted(With(Track(), "event", new string('e', 100))).Name);
        Refused(With(Track(), "event", new string('e', 101)), "invalid_event");
        Assert.Equal(new string('e', 100), Accepted(With(Order(), "event", new string('e', 100))).Name);
        Refused(With(Order(), "event", new string('e', 101)), "invalid_event");
    }

    [Fact]
    public void Identity_values_may_be_128_characters_not_129()
    {
        Accepted(With(Track(), "identities", new JsonObject { ["userId"] = new string('u', 128) }));
        Refused(With(Track(), "identities", new JsonObject { ["userId"] = new string('u', 129) }), "invalid_identity");
    }

    [Fact]
    public void Properties_may_be_16_KiB_not_more()
    {
        Assert.Equal(16 * 1024, EventValidator.MaxPayloadBytes);
        Accepted(With(Track(), "properties", ObjectOfLength(EventValidator.MaxPayloadBytes)));
        Refused(With(Track(), "properties", ObjectOfLength(EventValidator.MaxPayloadBytes + 1)), "invalid_properties");
    }

    [Fact]
    public void Traits_may_be_16_KiB_not_more()
    {
        Accepted(With(Identify(), "traits", ObjectOfLength(EventValidator.MaxPayloadBytes)));
        Refused(With(Identify(), "traits", ObjectOfLength(EventValidator.MaxPayloadBytes + 1)), "invalid_traits");
        // the size limit holds for traits on any event, even though only identify keeps them
        Refused(With(Track(), "traits", ObjectOfLength(EventValidator.MaxPayloadBytes + 1)), "invalid_traits");
    }

    [Fact]
    public void Order_properties_are_held_to_the_same_size_limit()
    {
        var big = ObjectOfLength(EventValidator.MaxPayloadBytes + 1);
        big["orderId"] = "o1";
        big["total"] = 1;
        Refused(With(Order(), "properties", big), "invalid_properties");
    }

    [Fact]
    public void An_identify_may_set_100_traits_not_101()
    {
        Assert.Equal(100, EventValidator.MaxTraits);
        Assert.Equal(100, Accepted(With(Identify(), "traits", Traits(100))).Traits!.Count);
        Refused(With(Identify(), "traits", Traits(101)), "invalid_traits");
    }

    [Fact]
    public void Trait_names_may_be_100_characters_not_101()
    {
        Accepted(With(Identify(), "traits", new JsonObject { [new string('t', 100)] = 1 }));
        Refused(With(Identify(), "traits", new JsonObject { [new string('t', 101)] = 1 }), "invalid_traits");
    }

    [Fact]
    public void A_trait_may_be_null_to_remove_an_attribute()
    {
        var e = Accepted(With(Identify(), "traits", new JsonObject { ["city"] = null }));
        Assert.True(e.Traits!.ContainsKey("city"));
        Assert.Null(e.Traits["city"]);
    }

    [Fact]
    public void A_timestamp_exactly_at_the_future_skew_is_accepted_and_one_tick_later_refused()
    {
        var limit = Now + Skew;
        Assert.Equal(limit, Accepted(With(Track(), "timestamp", limit.ToString("o"))).Timestamp);
        var error = Refused(With(Track(), "timestamp", limit.AddTicks(1).ToString("o")), "timestamp_in_future");
        Assert.Contains("5 minutes", error.Message);
        Refused(With(Track(), "timestamp", limit.AddSeconds(1).ToString("o")), "timestamp_in_future");
    }

    [Fact]
    public void The_future_skew_is_measured_in_the_events_own_offset()
    {
        // 16:05 in Beijing is 08:05 UTC: exactly at the limit
        Accepted(With(Track(), "timestamp", "2024-05-01T16:05:00+08:00"));
        Refused(With(Track(), "timestamp", "2024-05-01T16:05:01+08:00"), "timestamp_in_future");
    }

    [Fact]
    public void With_no_skew_now_is_fine_and_a_tick_later_is_not()
    {
        var strict = new EventValidator(TimeSpan.Zero);
        Accepted(With(Track(), "timestamp", Now.ToString("o")), strict);
        Refused(With(Track(), "timestamp", Now.AddTicks(1).ToString("o")), "timestamp_in_future", strict);
    }

    [Fact]
    public void Old_events_are_accepted_back_to_the_year_2000()
    {
        Assert.Equal(new DateTimeOffset(2000, 1, 1, 0, 0, 0, TimeSpan.Zero),
            Accepted(With(Track(), "timestamp", "2000-01-01T00:00:00Z")).Timestamp);
        Refused(With(Track(), "timestamp", "1999-12-31T23:59:59.9999999Z"), "invalid_timestamp");
        // 07:59 on 1 January 2000 in Beijing is still 1999 in UTC
        Refused(With(Track(), "timestamp", "2000-01-01T07:59:59+08:00"), "invalid_timestamp");
        Refused(With(Track(), "timestamp", "0001-01-01T00:00:00Z"), "invalid_timestamp");
    }

    [Fact]
    public void Identity_values_are_normalised_in_the_event()
    {
        var e = Accepted(With(Track(), "identities", new JsonObject { ["phone"] = "+852 9123 4567" }));
        Assert.Equal("phone:+85291234567", Assert.Single(e.Identities).Key);
    }

    // ---- order validation ----

    [Theory]
    [InlineData("0", 0)]
    [InlineData("-0", 0)]
    [InlineData("12", 12)]
    [InlineData("12.50", 12.5)]
    [InlineData("1e3", 1000)]
    [InlineData("0.01", 0.01)]
    public void Order_totals_are_non_negative_numbers(string total, double expected)
    {
        var e = Accepted(With(Order(), "properties", JsonNode.Parse($$"""{"orderId":"o1","total":{{total}}}""")));
        Assert.True(OrderFacts.TryRead(e.Properties, out var facts, out _));
        Assert.Equal((decimal)expected, facts.Total);
        Assert.Equal("CNY", facts.Currency);
    }

    [Fact]
    public void Order_ids_may_be_128_characters_not_129()
    {
        Accepted(With(Order(), "properties", new JsonObject { ["orderId"] = new string('o', 128), ["total"] = 1 }));
        Refused(With(Order(), "properties", new JsonObject { ["orderId"] = new string('o', 129), ["total"] = 1 }), "invalid_order");
    }

    // ---- bugs ----

    [Fact]
    public void Duplicate_trait_names_are_an_item_error_not_an_exception()
    {
        const string json = """{"messageId":"m","type":"identify","identities":{"userId":"u"},"traits":{"a":1,"a":2}}""";
        var o = Validate(json);
        Assert.False(o.Ok);
        Assert.Equal("duplicate_property", o.Error!.Code);
    }

    [Fact]
    public void Duplicate_order_property_names_are_an_item_error_not_an_exception()
    {
        const string json = """{"messageId":"m","type":"order","identities":{"userId":"u"},"properties":{"orderId":"o1","total":1,"total":2}}""";
        var o = Validate(json);
        Assert.False(o.Ok);
        Assert.Equal("duplicate_property", o.Error!.Code);
    }

    [Fact]
    public void The_payload_limit_counts_the_stored_utf8_bytes_not_the_characters()
    {
        // 16,000 Chinese characters: 16,011 characters of JSON but 48,000+ UTF-8 bytes once stored. Refused.
        const string head = """{"messageId":"m","type":"track","event":"e","identities":{"userId":"u"},"properties":{"note":""";
        var refused = Validate(head + '"' + new string('中', 16_000) + "\"}}");
        Assert.False(refused.Ok);
        Assert.Equal("invalid_properties", refused.Error!.Code);

        // 5,000 of them (15,000 bytes) fit, and are stored as themselves, not as \\uXXXX escapes.
        var accepted = Validate(head + '"' + new string('中', 5_000) + "\"}}");
        Assert.True(accepted.Ok);
        var stored = EventJson.Text(accepted.Event!.Properties!);
        Assert.True(System.Text.Encoding.UTF8.GetByteCount(stored) <= EventValidator.MaxPayloadBytes);
        Assert.Contains("中中中", stored);
    }

    [Theory]
    [InlineData("01/02/2024")]
    [InlineData("2024-01-02")]
    [InlineData("Tue, 02 Jan 2024 10:00:00 GMT")]
    [InlineData("2024-01-02 10:00:00")]
    public void Timestamps_must_be_ISO_8601_date_times(string timestamp) =>
        Refused(With(Track(), "timestamp", timestamp), "invalid_timestamp");

    [Theory]
    [InlineData("2024-01-02T10:00:00Z")]
    [InlineData("2024-01-02T10:00:00.1234567+08:00")]
    [InlineData("2024-01-02T10:00")]
    public void ISO_8601_date_times_are_accepted(string timestamp) =>
        Accepted(With(Track(), "timestamp", timestamp));
}
