using System.Text.Json.Nodes;
using Siyu.Core.Delivery;

namespace Siyu.Core.Tests.Delivery;

public class MessageTemplateTests
{
    private static JsonObject Doc(string json) => JsonNode.Parse(json)!.AsObject();

    private const string Reminder = """
        {"channel": "wechat_oa", "appId": "wx1", "providerTemplate": "TPL_cart", "topic": "cart", "personalised": true,
         "link": "https://shop.example/cart/{{cartId}}",
         "fields": {"first": "{{name}}, your cart is waiting", "keyword1": "{{product}}"},
         "variables": {"name": {"default": "Friend"}, "product": {}, "cartId": {}}}
        """;

    private static MessageTemplate Parse(string json, out List<(string Field, string Message)> errors)
    {
        errors = new();
        return MessageTemplates.Parse("t1", Doc(json), errors)!;
    }

    [Fact]
    public void A_valid_template_reads_with_its_defaults()
    {
        var t = Parse(Reminder, out var errors);
        Assert.Empty(errors);
        Assert.Equal("wechat_oa", t.Channel);
        Assert.Equal("marketing", t.Purpose);
        Assert.True(t.Personalised);
        Assert.Equal("Friend", t.Variables.Single(v => v.Name == "name").Default);
        Assert.Null(t.Variables.Single(v => v.Name == "product").Default);
        Assert.Equal("wechat_oa", t.ConsentChannel);
    }

    [Fact]
    public void Every_problem_is_reported_at_once()
    {
        var errors = new List<(string Field, string Message)>();
        var t = MessageTemplates.Parse("t1", Doc("""
            {"channel": "fax", "purpose": "analytics", "fields": {"a": "{{ghost}}", "b": 3}, "variables": {"9bad": {}}, "colour": "red"}
            """), errors);
        Assert.Null(t);
        var fields = errors.Select(e => e.Field).ToList();
        Assert.Contains("channel", fields);
        Assert.Contains("purpose", fields);
        Assert.Contains("fields.a", fields);
        Assert.Contains("fields.b", fields);
        Assert.Contains("variables.9bad", fields);
        Assert.Contains("colour", fields);
        Assert.Contains("providerTemplate", fields);
    }

    [Fact]
    public void WeChat_templates_need_their_app_and_webhooks_their_contact_channel()
    {
        var errors = new List<(string Field, string Message)>();
        MessageTemplates.Parse("t", Doc("""{"channel": "wechat_oa", "providerTemplate": "T", "fields": {}}"""), errors);
        Assert.Contains(errors, e => e.Field == "appId");
        errors.Clear();
        MessageTemplates.Parse("t", Doc("""{"channel": "webhook", "fields": {}}"""), errors);
        Assert.Contains(errors, e => e.Field == "contactChannel");
        errors.Clear();
        var hook = MessageTemplates.Parse("t", Doc("""{"channel": "webhook", "contactChannel": "sms", "fields": {"text": "hi"}}"""), errors);
        Assert.Empty(errors);
        Assert.Equal("sms", hook!.ConsentChannel);
    }

    [Fact]
    public void A_send_must_supply_every_variable_without_a_default_and_no_others()
    {
        var t = Parse(Reminder, out _);
        Assert.Empty(MessageTemplates.CheckSend(t, "wechat_oa", ["product", "cartId"]));
        var problems = MessageTemplates.CheckSend(t, "sms", ["product", "colour"]);
        Assert.Contains(problems, p => p.Contains("is for wechat_oa, not sms"));
        Assert.Contains(problems, p => p.Contains("'cartId'") && p.Contains("no default"));
        Assert.Contains(problems, p => p.Contains("no variable 'colour'"));
        Assert.DoesNotContain(problems, p => p.Contains("'name'"));
    }

    [Fact]
    public void Rendering_fills_fields_and_link_and_uses_defaults_for_empty_values()
    {
        var t = Parse(Reminder, out _);
        Assert.True(MessageTemplates.TryRender(t, new Dictionary<string, string> { ["name"] = "", ["product"] = "Tea", ["cartId"] = "c9" },
            out var fields, out var link, out _));
        Assert.Equal("Friend, your cart is waiting", fields["first"]);
        Assert.Equal("Tea", fields["keyword1"]);
        Assert.Equal("https://shop.example/cart/c9", link);
    }

    [Fact]
    public void A_value_that_is_empty_with_no_default_is_named_and_nothing_renders()
    {
        var t = Parse(Reminder, out _);
        Assert.False(MessageTemplates.TryRender(t, new Dictionary<string, string> { ["product"] = "", ["cartId"] = "c9" }, out _, out _, out var missing));
        Assert.Equal("product", missing);
    }
}

public class CampaignRulesTests
{
    private static readonly DateTimeOffset Now = DateTimeOffset.Parse("2026-11-22T08:00:00Z");

    private static CampaignDefinition? Parse(string json, out List<(string Field, string Message)> errors)
    {
        errors = new();
        var c = CampaignRules.Parse(JsonNode.Parse(json)!.AsObject(), errors);
        if (c is not null) CampaignRules.CheckSchedule(c, Now, errors);
        return c;
    }

    [Fact]
    public void A_segment_message_campaign_reads()
    {
        var c = Parse("""
            {"name": "Double 11", "audience": {"segment": "buyers"}, "message": {"template": "t1", "variables": {"product": "{{attributes.fav}}"}},
             "startAt": "2026-11-23T10:00:00+08:00", "holdoutPercent": 10, "context": {"coupon": "C10"}}
            """, out var errors);
        Assert.Empty(errors);
        Assert.Equal("buyers", c!.Segment);
        Assert.Equal("t1", c.Message!.Template);
        Assert.Equal(DateTimeOffset.Parse("2026-11-23T02:00:00Z"), c.StartAt);
        Assert.Equal(10, c.HoldoutPercent);
        Assert.Equal("C10", (string?)c.Context!["coupon"]);
    }

    [Fact]
    public void An_identity_list_is_normalised_and_deduplicated()
    {
        var c = Parse("""{"name": "n", "audience": {"identities": ["phone:138 0013 8000", "phone:+8613800138000", "userId:u1"]}, "journey": "welcome"}""", out var errors);
        Assert.Empty(errors);
        Assert.Equal(["phone:+8613800138000", "userId:u1"], c!.Identities);
        Assert.Equal("welcome", c.Journey);
    }

    [Fact]
    public void Every_problem_is_reported_at_once()
    {
        Parse("""
            {"audience": {"segment": "s", "identities": ["nope"]}, "journey": "j", "message": {"template": "t"}, "startAt": "tomorrow",
             "holdoutPercent": 80, "budget": 1}
            """, out var errors);
        var fields = errors.Select(e => e.Field).ToList();
        Assert.Contains("name", fields);
        Assert.Contains("audience.identities[0]", fields);
        Assert.Contains("audience", fields);
        Assert.Contains("journey", fields);
        Assert.Contains("startAt", fields);
        Assert.Contains("holdoutPercent", fields);
        Assert.Contains("budget", fields);
    }

    [Fact]
    public void A_start_time_needs_its_offset_and_a_near_date()
    {
        Parse("""{"name": "n", "audience": {"segment": "s"}, "journey": "j", "startAt": "2026-11-23T10:00:00"}""", out var errors);
        Assert.Contains(errors, e => e.Field == "startAt");
        Parse("""{"name": "n", "audience": {"segment": "s"}, "journey": "j", "startAt": "2027-11-23T10:00:00Z"}""", out errors);
        Assert.Contains(errors, e => e.Field == "startAt" && e.Message.Contains("90 days"));
    }

    [Fact]
    public void A_scheduled_campaign_reads_back_at_any_time()
    {
        // What was accepted must read back whenever it is read: a stored document is never checked against a clock again.
        var doc = JsonNode.Parse("""{"name": "n", "audience": {"segment": "s"}, "journey": "j", "startAt": "2027-01-20T10:00:00+08:00"}""")!.AsObject();
        var errors = new List<(string Field, string Message)>();
        var accepted = CampaignRules.Parse(doc, errors)!;
        CampaignRules.CheckSchedule(accepted, Now, errors);
        Assert.Empty(errors);
        var readBack = CampaignRules.Parse((JsonObject)doc.DeepClone(), errors);
        Assert.Empty(errors);
        Assert.Equal(accepted.StartAt, readBack!.StartAt);
    }

    [Fact]
    public void The_holdout_is_sticky_and_close_to_its_share()
    {
        var people = Enumerable.Range(0, 20_000).Select(i => $"p{i:D6}").ToList();
        var held = people.Count(p => CampaignRules.IsHeldOut("c1", p, 10));
        Assert.InRange(held, 1_800, 2_200);
        Assert.All(people.Take(500), p => Assert.Equal(CampaignRules.IsHeldOut("c1", p, 10), CampaignRules.IsHeldOut("c1", p, 10)));
        Assert.Equal(0, people.Count(p => CampaignRules.IsHeldOut("c1", p, 0)));
        // Another campaign holds out other people.
        Assert.NotEqual(people.Where(p => CampaignRules.IsHeldOut("c1", p, 10)), people.Where(p => CampaignRules.IsHeldOut("c2", p, 10)));
    }

    [Fact]
    public void An_idempotency_key_names_one_campaign_per_tenant()
    {
        Assert.Equal(CampaignRules.IdFor("brand", "k1"), CampaignRules.IdFor("brand", "k1"));
        Assert.NotEqual(CampaignRules.IdFor("brand", "k1"), CampaignRules.IdFor("other", "k1"));
        Assert.NotEqual(CampaignRules.IdFor("brand", "k1"), CampaignRules.IdFor("brand", "k2"));
        Assert.Matches("^c[0-9a-f]{19}$", CampaignRules.IdFor("brand", "k1"));
    }

    [Fact]
    public void Progress_counts_pending_as_targeted_minus_settled()
    {
        var p = new CampaignProgress { Targeted = 10, Sent = 3, Holdout = 1 };
        p.Add(new CampaignProgress { Suppressed = new(StringComparer.Ordinal) { ["no_consent"] = 2 }, Failed = 1 });
        Assert.Equal(3, p.Pending);
        Assert.Equal(2, p.SuppressedTotal);
    }

    [Fact]
    public void A_receipt_moving_sent_to_failed_is_a_change_though_the_settled_total_stays()
    {
        var receipt = new CampaignProgress { Sent = -1, Failed = 1 };
        Assert.Equal(0, receipt.Settled);
        Assert.False(receipt.IsEmpty);
        Assert.True(new CampaignProgress().IsEmpty);
    }
}

public class EntitlementUseTests
{
    [Fact]
    public void A_delivery_uses_one_subscription_once_however_often_it_is_retried()
    {
        var s = new Siyu.Core.Consent.ConsentState();
        s.Entitlements["TPL"] = 2;
        Assert.True(s.UseEntitlement("TPL", "k1"));
        Assert.True(s.UseEntitlement("TPL", "k1"));
        Assert.Equal(1, s.Entitlements["TPL"]);
        Assert.True(s.HoldsEntitlement("k1"));
        Assert.True(s.UseEntitlement("TPL", "k2"));
        Assert.False(s.Entitlements.ContainsKey("TPL"));
        Assert.False(s.UseEntitlement("TPL", "k3"));
        Assert.False(s.HoldsEntitlement("k3"));
    }

    [Theory]
    [InlineData("email", "html", 60_000, true)]
    [InlineData("email", "text", 60_000, true)]
    [InlineData("email", "html", 60_001, false)]
    [InlineData("email", "subject", 1_001, false)]
    [InlineData("sms", "text", 1_001, false)]
    public void An_emails_bodies_may_be_long_and_every_other_field_stays_short(string channel, string field, int length, bool valid)
    {
        var doc = new JsonObject
        {
            ["channel"] = channel, ["purpose"] = "personalisation", ["providerTemplate"] = "t",
            ["fields"] = new JsonObject { [field] = new string('x', length) },
        };
        var errors = new List<(string Field, string Message)>();
        MessageTemplates.Parse("t1", doc, errors);
        Assert.Equal(valid, !errors.Any(e => e.Field == $"fields.{field}"));
    }
}
