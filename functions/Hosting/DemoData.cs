using System.Text.Json.Nodes;

namespace Siyu.Functions.Hosting;

/// <summary>
/// What the local run's demo tenant starts with, so that every example request in <c>Siyu.Functions.http</c> works on
/// the first run: the WeChat app and SMS account the local fake provider knows, a template and a live journey that
/// sends it, and a few people who consented. The people are the ones the examples name.
/// </summary>
public static class DemoData
{
    public const string TenantName = "Demo brand";

    /// <summary>The official account the fake provider knows (./infra/run.sh starts it with this secret).</summary>
    public const string WeChatAppId = "wxdemo";
    public const string WeChatAppSecret = "demo-secret";
    public const string WeChatToken = "demotoken";

    /// <summary>The Aliyun SMS AccessKey pair the fake provider knows (./infra/run.sh starts it with these), and the SignName.</summary>
    public const string SmsAccessKeyId = "LTAIdemo";
    public const string SmsAccessKeySecret = "demo-aliyun-secret";
    public const string SmsSignName = "Demo品牌";

    public const string TemplateId = "welcome_sms";

    public static JsonObject Template() => JsonNode.Parse("""
        { "channel": "sms", "providerTemplate": "SMS_WELCOME", "topic": "membership",
          "content": "欢迎加入Demo品牌, ${name}! 回T退订",
          "fields": { "name": "{{name}}" }, "variables": { "name": { "default": "friend" } } }
        """)!.AsObject();

    public const string JourneyId = "welcome";

    /// <summary>A new member (a <c>member_joined</c> event) gets the welcome SMS, once.</summary>
    public static JsonObject Journey() => JsonNode.Parse("""
        {
          "name": "Welcome new members",
          "entry": { "on": "event", "event": "member_joined", "reentry": "once" },
          "start": "welcome",
          "nodes": {
            "welcome": { "type": "send", "channel": "sms", "template": "welcome_sms",
                         "variables": { "name": "{{attributes.nickname}}" }, "next": "done" },
            "done": { "type": "exit" }
          }
        }
        """)!.AsObject();

    /// <summary>
    /// When the demo people consented: a fixed time before the examples' own decisions (2026-11-22), so a withdrawal
    /// in the examples is the latest decision and takes effect.
    /// </summary>
    private const string ConsentedAt = "2026-01-01T10:00:00+08:00";

    /// <summary>
    /// The demo people, each as the events that make them, seeded in two rounds: the second round's people are created
    /// after the first's (王小明's store card, a duplicate the merge example folds into him: the older profile survives).
    /// </summary>
    public static IReadOnlyList<IReadOnlyList<DemoPerson>> People() =>
    [
        [
            // The examples' main person: the phone, unionid and mini-program openid of the event examples.
            Person("王小明",
                Identify("wang-1", """{ "phone": "13800138000", "unionid": "uAbc", "openid": "oMini123", "appId": "wxminiapp0000001" }""",
                    """{ "name": "王小明", "nickname": "小明" }"""),
                Identify("wang-2", """{ "phone": "13800138000", "openid": "oDemoWang", "appId": "wxdemo" }""", """{ "city": "上海" }"""),
                Consent("wang", "13800138000", "sms"), Consent("wang", "13800138000", "wechat_oa"), Personalisation("wang", "13800138000")),
            // In the bulk tagging example; bought milk powder, so she is in the milk powder segment and the SMS campaign reaches her.
            Person("李娜",
                Identify("li-1", """{ "phone": "13900139000", "openid": "oDemoLi", "appId": "wxdemo" }""", """{ "name": "李娜", "nickname": "娜娜" }"""),
                Track("li-2", """{ "phone": "13900139000" }""", "order_milk_powder", """{ "sku": "MILK-900G" }"""),
                Consent("li", "13900139000", "sms"), Consent("li", "13900139000", "wechat_oa"), Personalisation("li", "13900139000")),
            // Member m-1001 of the list campaign example, and the one who joins (and is welcomed) in the journey example.
            Person("陈静",
                Identify("chen-1", """{ "userId": "m-1001", "phone": "13600136000", "openid": "oDemoChen", "appId": "wxdemo" }""",
                    """{ "name": "陈静", "nickname": "静静" }"""),
                Consent("chen", "13600136000", "sms"), Consent("chen", "13600136000", "wechat_oa"), Personalisation("chen", "13600136000")),
            // The one who asks to be erased in the erasure example.
            Person("赵磊",
                Identify("zhao-1", """{ "phone": "13500135000" }""", """{ "name": "赵磊" }"""),
                Consent("zhao", "13500135000", "sms")),
        ],
        [
            Person("王小明 (store card)",
                Identify("wang-card-1", """{ "userId": "m-2001" }""", """{ "name": "王小明", "memberCard": "M-2001" }""")),
        ],
    ];

    private static DemoPerson Person(string name, params JsonObject[] events) => new(name, events);

    private static JsonObject Identify(string id, string identities, string traits) => Event(id, "identify", identities, null, new JsonObject
    {
        ["traits"] = JsonNode.Parse(traits),
    });

    private static JsonObject Track(string id, string identities, string name, string properties) => Event(id, "track", identities, null, new JsonObject
    {
        ["event"] = name,
        ["properties"] = JsonNode.Parse(properties),
    });

    private static JsonObject Consent(string who, string phone, string channel) => Event($"{who}-consent-{channel}", "consent", $$"""{ "phone": "{{phone}}" }""",
        ConsentedAt, new JsonObject
        {
            ["properties"] = new JsonObject
            {
                ["purpose"] = "marketing", ["channel"] = channel, ["status"] = "granted", ["source"] = "demo_seed", ["evidence"] = "demo-privacy-notice",
            },
        });

    private static JsonObject Personalisation(string who, string phone) => Event($"{who}-consent-personalisation", "consent", $$"""{ "phone": "{{phone}}" }""",
        ConsentedAt, new JsonObject
        {
            ["properties"] = new JsonObject
            {
                ["purpose"] = "personalisation", ["channel"] = "all", ["status"] = "granted", ["source"] = "demo_seed", ["evidence"] = "demo-privacy-notice",
            },
        });

    /// <summary>An event as a client would post it, with a fixed messageId: seeding twice stores it once.</summary>
    private static JsonObject Event(string id, string type, string identities, string? timestamp, JsonObject rest)
    {
        var e = new JsonObject { ["type"] = type, ["messageId"] = "demo-seed-" + id, ["identities"] = JsonNode.Parse(identities) };
        if (timestamp is not null) e["timestamp"] = timestamp;
        foreach (var (key, value) in rest.ToList())
        {
            rest.Remove(key);
            e[key] = value;
        }
        return e;
    }
}

/// <summary>One demo person: a name for the log, and the events that make them.</summary>
public sealed record DemoPerson(string Name, IReadOnlyList<JsonObject> Events);
