using System.Text.Json;
using System.Text.Json.Nodes;
using Siyu.Core.Consent;
using Siyu.Core.Events;
using static Siyu.Core.Tests.Consent.ConsentKit;

namespace Siyu.Core.Tests.Consent;

/// <summary><see cref="ConsentRules.TryRead"/> on its own, and through <see cref="EventValidator"/> for type "consent".</summary>
public class ConsentRulesTests
{
    private static readonly DateTimeOffset Now = DateTimeOffset.Parse("2024-05-01T08:00:00Z");
    private static readonly EventValidator Validator = new(TimeSpan.FromMinutes(5));

    private static JsonObject Valid() => ConsentProperties("marketing", "sms", "granted", "store_form");

    private static JsonObject With(JsonObject o, string name, JsonNode? value) { o[name] = value; return o; }

    private static JsonObject Without(JsonObject o, string name) { o.Remove(name); return o; }

    private static (string Code, string Message) Refused(JsonObject? fields, string code)
    {
        Assert.False(ConsentRules.TryRead(fields, out _, out var error), "expected " + code);
        Assert.Equal(code, error.Code);
        Assert.False(string.IsNullOrWhiteSpace(error.Message));
        return error;
    }

    private static ConsentDecision Read(JsonObject fields)
    {
        Assert.True(ConsentRules.TryRead(fields, out var d, out var error), error.Code);
        Assert.Equal(default, error);
        return d;
    }

    // ---- TryRead: what it accepts ----

    [Fact]
    public void A_complete_decision_is_read()
    {
        var d = Read(ConsentProperties("sensitive-finance", "all", "denied", "store_form", evidence: "v2", scope: "tpl_1"));
        Assert.Equal("sensitive-finance", d.Purpose);
        Assert.Equal("all", d.Channel);
        Assert.Equal(ConsentStatus.Denied, d.Status);
        Assert.Equal("store_form", d.Source);
        Assert.Equal("v2", d.Evidence);
        Assert.Equal("tpl_1", d.Scope);
        Assert.Equal("", d.Id);                 // the caller's to fill in
        Assert.Equal(default, d.OccurredAt);    // likewise
    }

    [Fact]
    public void Evidence_and_scope_are_optional_and_may_be_null()
    {
        var d = Read(With(With(Valid(), "evidence", null), "scope", null));
        Assert.Null(d.Evidence);
        Assert.Null(d.Scope);
        Assert.Null(Read(Valid()).Evidence);
    }

    [Fact]
    public void Lengths_at_the_limits_are_accepted()
    {
        var d = Read(ConsentProperties(source: new string('s', 100), evidence: new string('e', 1000), scope: new string('t', 128)));
        Assert.Equal(100, d.Source.Length);
        Assert.Equal(1000, d.Evidence!.Length);
        Assert.Equal(128, d.Scope!.Length);
    }

    [Theory]
    [MemberData(nameof(EveryPurposeAndChannel))]
    public void Every_purpose_and_channel_of_the_vocabulary_is_accepted(string purpose, string channel)
    {
        var d = Read(ConsentProperties(purpose, channel));
        Assert.Equal(purpose, d.Purpose);
        Assert.Equal(channel, d.Channel);
    }

    public static TheoryData<string, string> EveryPurposeAndChannel()
    {
        var data = new TheoryData<string, string>();
        foreach (var p in ConsentVocabulary.Purposes)
            foreach (var c in ConsentVocabulary.Channels)
                data.Add(p, c);
        return data;
    }

    // ---- TryRead: every refusal ----

    [Fact]
    public void No_fields_at_all() => Refused(null, "missing_consent");

    public static TheoryData<string, string> Refusals()
    {
        var data = new TheoryData<string, string>();
        foreach (var (code, fields) in RefusalObjects()) data.Add(code, fields.ToJsonString());
        return data;
    }

    private static IEnumerable<(string Code, JsonObject Fields)> RefusalObjects() => new (string, JsonObject)[]
    {
        ("missing_purpose", Without(Valid(), "purpose")),
        ("missing_purpose", With(Valid(), "purpose", null)),
        ("unknown_purpose", With(Valid(), "purpose", 1)),
        ("unknown_purpose", With(Valid(), "purpose", "Marketing")),
        ("unknown_purpose", With(Valid(), "purpose", "")),
        ("unknown_purpose", With(Valid(), "purpose", "sensitive-religion")),
        ("unknown_purpose", With(Valid(), "purpose", " marketing")),
        ("missing_channel", Without(Valid(), "channel")),
        ("unknown_channel", With(Valid(), "channel", new JsonArray("sms"))),
        ("unknown_channel", With(Valid(), "channel", "SMS")),
        ("unknown_channel", With(Valid(), "channel", "wechat")),
        ("unknown_channel", With(Valid(), "channel", "")),
        ("missing_status", Without(Valid(), "status")),
        ("invalid_status", With(Valid(), "status", true)),
        ("invalid_status", With(Valid(), "status", "Granted")),
        ("invalid_status", With(Valid(), "status", "yes")),
        ("invalid_status", With(Valid(), "status", "")),
        ("missing_source", Without(Valid(), "source")),
        ("missing_source", With(Valid(), "source", "")),
        ("missing_source", With(Valid(), "source", "   ")),
        ("invalid_source", With(Valid(), "source", 5)),
        ("invalid_source", With(Valid(), "source", new string('s', 101))),
        ("invalid_source", With(Valid(), "source", "store\nform")),
        ("invalid_source", With(Valid(), "source", "store\u0000")),
        ("invalid_evidence", With(Valid(), "evidence", 3)),
        ("invalid_evidence", With(Valid(), "evidence", true)),
        ("invalid_evidence", With(Valid(), "evidence", new JsonObject { ["v"] = 1 })),
        ("invalid_evidence", With(Valid(), "evidence", new JsonArray("a"))),
        ("evidence_too_long", With(Valid(), "evidence", new string('e', 1001))),
        ("invalid_scope", With(Valid(), "scope", "")),
        ("invalid_scope", With(Valid(), "scope", new string('t', 129))),
        ("invalid_scope", With(Valid(), "scope", "a/b")),
        ("invalid_scope", With(Valid(), "scope", "tpl\t1")),
    };

    [Theory]
    [MemberData(nameof(Refusals))]
    public void Each_problem_has_its_code(string code, string json)
    {
        var fields = JsonNode.Parse(json)!.AsObject();
        Refused(fields, code);
        Assert.Equal(code, ValidateConsent(fields).Error!.Code);
    }

    [Theory]
    [InlineData("number")]
    [InlineData("boolean")]
    [InlineData("object")]
    public void A_scope_that_is_not_a_string_is_refused_not_ignored(string kind)
    {
        // Ignoring it would turn a decision about one template into one about the whole channel.
        JsonNode scope = kind switch { "number" => 12345, "boolean" => true, _ => new JsonObject { ["id"] = "T1" } };
        Refused(With(ConsentProperties("marketing", "miniprogram_subscribe"), "scope", scope), "invalid_scope");
    }

    [Fact]
    public void The_first_problem_is_reported_in_field_order()
    {
        var everythingWrong = new JsonObject
        {
            ["purpose"] = "spam", ["channel"] = "fax", ["status"] = "maybe", ["source"] = "", ["evidence"] = 1, ["scope"] = "",
        };
        Refused(everythingWrong, "unknown_purpose");
        Refused(With(everythingWrong, "purpose", "marketing"), "unknown_channel");
        Refused(With(everythingWrong, "channel", "sms"), "invalid_status");
        Refused(With(everythingWrong, "status", "granted"), "missing_source");
        Refused(With(everythingWrong, "source", "x"), "invalid_evidence");
        Refused(With(everythingWrong, "evidence", "x"), "invalid_scope");
        Read(With(everythingWrong, "scope", "x"));
    }

    [Fact]
    public void Messages_name_the_vocabulary()
    {
        Assert.Contains("sensitive-health", Refused(With(Valid(), "purpose", "x"), "unknown_purpose").Message);
        Assert.Contains("miniprogram_subscribe", Refused(With(Valid(), "channel", "x"), "unknown_channel").Message);
    }

    // ---- through the event validator ----

    private sealed record Outcome(bool Ok, IncomingEvent? Event, ItemError? Error);

    private static JsonObject Item(JsonObject? properties, string? timestamp = "2024-05-01T07:30:00+08:00")
    {
        var item = new JsonObject
        {
            ["messageId"] = "c-1",
            ["type"] = "consent",
            ["identities"] = new JsonObject { ["phone"] = "13800138000" },
        };
        if (properties is not null) item["properties"] = properties;
        if (timestamp is not null) item["timestamp"] = timestamp;
        return item;
    }

    private static Outcome Validate(JsonObject item)
    {
        using var doc = JsonDocument.Parse(item.ToJsonString());
        var ok = Validator.TryValidate(doc.RootElement, 3, Now, out var evt, out var error);
        Assert.Equal(ok, evt is not null);
        Assert.Equal(ok, error is null);
        return new Outcome(ok, evt, error);
    }

    private static Outcome ValidateConsent(JsonObject fields) => Validate(Item((JsonObject)fields.DeepClone()));

    [Fact]
    public void A_consent_event_is_accepted_and_named_consent()
    {
        var item = Item(ConsentProperties("marketing", "sms", "withdrawn", "preference_center", evidence: "v1"));
        item["event"] = "something_else";
        var o = Validate(item);
        Assert.True(o.Ok, o.Error?.ToString());
        var e = o.Event!;
        Assert.Equal(EventType.Consent, e.Type);
        Assert.Equal("consent", e.Name);
        Assert.Equal(ConsentFacts.EventName, e.Name);
        Assert.Equal(DateTimeOffset.Parse("2024-04-30T23:30:00Z"), e.Timestamp);
        Assert.Equal(TimeSpan.Zero, e.Timestamp.Offset);
        Assert.Equal("withdrawn", e.Properties!["status"]!.GetValue<string>());
        Assert.Null(e.Traits);

        var d = Assert.Single(ConsentFacts.From(e));
        Assert.Equal("msg:c-1", d.Id);
        Assert.Equal(ConsentStatus.Withdrawn, d.Status);
        Assert.Equal("preference_center", d.Source);
        Assert.Equal("v1", d.Evidence);
        Assert.Equal(e.Timestamp, d.OccurredAt);
    }

    [Fact]
    public void A_consent_event_needs_its_timestamp()
    {
        var o = Validate(Item(Valid(), timestamp: null));
        Assert.False(o.Ok);
        Assert.Equal("missing_timestamp", o.Error!.Code);
        Assert.Equal(3, o.Error.Index);
        Assert.Equal("c-1", o.Error.MessageId);

        var withNull = Item(Valid(), timestamp: null);
        withNull["timestamp"] = null;
        Assert.Equal("missing_timestamp", Validate(withNull).Error!.Code);
    }

    [Fact]
    public void A_consent_event_timestamp_follows_the_usual_rules()
    {
        Assert.Equal("invalid_timestamp", Validate(Item(Valid(), "yesterday")).Error!.Code);
        Assert.Equal("timestamp_in_future", Validate(Item(Valid(), "2024-05-01T09:00:00Z")).Error!.Code);
        Assert.Equal("invalid_timestamp", Validate(Item(Valid(), "1999-12-31T23:59:59Z")).Error!.Code);
    }

    [Fact]
    public void A_consent_event_without_properties_is_missing_its_consent()
    {
        Assert.Equal("missing_consent", Validate(Item(null)).Error!.Code);
    }

    [Fact]
    public void A_consent_event_still_needs_an_identity()
    {
        var item = Item(Valid());
        item.Remove("identities");
        Assert.Equal("missing_identity", Validate(item).Error!.Code);
    }

    [Fact]
    public void The_type_error_mentions_consent()
    {
        var item = Item(Valid());
        item["type"] = "consents";
        var o = Validate(item);
        Assert.Equal("unknown_type", o.Error!.Code);
        Assert.Contains("consent", o.Error.Message);
        item.Remove("type");
        Assert.Contains("consent", Validate(item).Error!.Message);
    }

    [Theory]
    [InlineData("wechat_subscribe_popup")]
    [InlineData("wechat_unsubscribe")]
    [InlineData("wechat_anything")]
    public void Sources_reserved_for_WeChat_pushes_cannot_be_claimed_by_an_api_caller(string source)
    {
        Refused(With(Valid(), "source", source), "reserved_source");
        Read(With(Valid(), "source", "wechat-campaign-form")); // only the reserved prefix is refused
    }
}
