using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Siyu.FakeProviders;
using Siyu.Functions.Campaigns;
using Siyu.Functions.Delivery;
using Siyu.Storage.Delivery;
using Siyu.IntegrationTests.Infrastructure;
using Siyu.IntegrationTests.Journeys;

namespace Siyu.IntegrationTests.Delivery;

/// <summary>The app with its providers pointed at a local fake that speaks their contracts, with short waits for retries and holds.</summary>
public class DeliveryApp : SiyuApp
{
    private readonly bool _ownsFake = true;
    private FakeProviderServer? _fake;

    public DeliveryApp() { }

    private DeliveryApp(FakeProviderServer fake)
    {
        _fake = fake;
        _ownsFake = false;
    }

    /// <summary>An instance of the app over the given storage prefix and provider, as one of several processes would be.</summary>
    public static DeliveryApp Instance(FakeProviderServer fake, string prefix) => new(fake) { Prefix = prefix };

    public FakeProviderServer Fake => _fake!;

    /// <summary>The address unsubscribe links name; tests post to their path and query on the test client.</summary>
    public const string PublicBaseUrl = "https://siyu.test";

    /// <summary>WeCom customer messages a person may get a month here, small enough to reach in a test.</summary>
    public const int WeComMonthlyLimit = 2;
    public TestCampaignFaults Faults { get; } = new();
    public TestDeliveryFaults DeliveryFaults { get; } = new();

    public override async Task InitializeAsync()
    {
        _fake ??= await FakeProviderServer.StartAsync();
        await Fake.StartSmtpAsync();
        var url = Fake.BaseUrl.ToString().TrimEnd('/');
        // The fake's STARTTLS certificate is self-signed: trusted by its thumbprint, as a relay with a private CA would be.
        With("Channels:SmtpTrustedCertificates:0", Fake.SmtpCertificateThumbprint);
        With("Delivery:PublicBaseUrl", PublicBaseUrl);
        With("Delivery:WeComMonthlyLimit", WeComMonthlyLimit.ToString(System.Globalization.CultureInfo.InvariantCulture));
        With("Channels:WeComApiBaseUrl", Fake.BaseUrl.ToString().TrimEnd('/'));
        With("Channels:WeChatApiBaseUrl", url);
        foreach (var channel in new[] { "sms", "email", "wecom", "push" }) With($"Channels:ProviderBaseUrls:{channel}", url);
        With("Channels:AliyunSmsEndpoint", url + "/aliyun");
        With("Channels:TencentSmsEndpoint", url + "/tencent");
        With("Channels:Timeout", "00:00:01");
        With("Channels:RetryBaseDelay", "00:00:00.050");
        With("Delivery:HaltRecheck", "00:00:00.500");
        With("Delivery:RetryDelay", "00:00:00.300");
        With("Delivery:CacheTtl", "00:00:00.200");
        With("Delivery:MissingRowWait", "00:00:00.500");
        With("Delivery:SendConcurrency", "1");
        await base.InitializeAsync();
    }

    protected override void ConfigureMore(AppBuilder builder) =>
        builder.ConfigureServices(s => s.AddSingleton<ICampaignFaults>(Faults).AddSingleton<IDeliveryFaults>(DeliveryFaults));

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        if (_ownsFake) await Fake.DisposeAsync();
    }
}

/// <summary>
/// Kills the delivery worker of one app instance as kill -9 would: the chunk that is the given one to have sent stops
/// before recording what became of its sends, and so does every chunk then under way; no chunk begins after it. The
/// sends left unrecorded are kept, for the test to look for.
/// </summary>
public sealed class TestDeliveryFaults : IDeliveryFaults
{
    private int _untilKill;
    private volatile bool _dead;

    public System.Collections.Concurrent.ConcurrentBag<DeliveryRecord> Unrecorded { get; } = [];
    public TaskCompletionSource Killed { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Kills the worker at the <paramref name="n"/>th chunk that sends from now.</summary>
    public void KillAtSends(int n) => _untilKill = n;

    public Task BeforeChunkAsync(string tenantId, CancellationToken ct) =>
        _dead ? throw new IOException("process killed (test)") : Task.CompletedTask;

    public Task AfterSendsAsync(string tenantId, IReadOnlyList<DeliveryRecord> sent, CancellationToken ct)
    {
        if (Interlocked.Decrement(ref _untilKill) == 0) _dead = true;
        if (!_dead) return Task.CompletedTask;
        foreach (var r in sent) Unrecorded.Add(r);
        Killed.TrySetResult();
        throw new IOException("process killed between its sends and their record (test)");
    }
}

/// <summary>Stops a campaign's fan-out once, after a page is handed on and before its checkpoint moves: what a crash there does.</summary>
public sealed class TestCampaignFaults : ICampaignFaults
{
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, int> _crashes = new();

    public void CrashAfterFirstPage(string campaignId) => _crashes[campaignId] = 1;

    public int Crashed { get; private set; }

    public Task AfterPageAsync(string campaignId, int part, CancellationToken ct)
    {
        if (_crashes.TryRemove(campaignId, out _)) { Crashed++; throw new InvalidOperationException("process stopped mid fan-out (test)"); }
        return Task.CompletedTask;
    }
}

/// <summary>A brand ready to send: a WeChat app with its secret, an SMS account, templates, and people with phones and openids.</summary>
public sealed class SendingBrand(TestTenant tenant, string appId, string smsKey, FakeProviderServer fake)
{
    public string SmsKey => smsKey;
    public TestTenant Tenant => tenant;
    public string AppId => appId;

    public static async Task<SendingBrand> CreateAsync(DeliveryApp app)
    {
        var tenant = await app.NewTenantAsync();
        var appId = "wx" + Guid.NewGuid().ToString("N")[..16];
        var secret = "secret-" + appId;
        app.Fake.RegisterApp(appId, secret);
        var smsKey = "sms-" + Guid.NewGuid().ToString("N");
        app.Fake.RegisterApiKey(smsKey);
        (await tenant.Admin().PutAsJsonAsync($"/api/wechat-apps/{appId}", new { kind = "officialAccount", token = "tok123456", appSecret = secret, messageMode = "plaintext" }))
            .EnsureSuccessStatusCode();
        (await tenant.Admin().PutAsJsonAsync("/api/tenants/current/channels/sms", new { apiKey = smsKey, sender = "BRAND" })).EnsureSuccessStatusCode();
        await tenant.PutTemplate("sms_offer", """
            {"channel": "sms", "providerTemplate": "SMS_1001", "topic": "offers", "fields": {"text": "{{name}}, {{offer}} is yours 回T退订"},
             "variables": {"name": {"default": "Friend"}, "offer": {}}}
            """);
        await tenant.PutTemplate("wx_offer", """
            {"channel": "wechat_oa", "appId": "APP_ID", "providerTemplate": "TPL_offer", "link": "https://shop.example/o/{{offer}}",
             "fields": {"first": "Hello {{name}}", "keyword1": "{{offer}}"}, "variables": {"name": {"default": "Friend"}, "offer": {}}}
            """.Replace("APP_ID", appId));
        return new SendingBrand(tenant, appId, smsKey, app.Fake);
    }

    public static string Phone(int i, string run) => "13" + (Math.Abs(run.GetHashCode()) % 9 + 1) + (10_000_000 + i).ToString()[..8];

    /// <summary>People known by phone and openid, with a name, each with the given consent on SMS and the official account.</summary>
    public async Task<List<string>> PeopleAsync(int count, string consent = "granted", string tag = "p")
    {
        var phones = Enumerable.Range(0, count).Select(i => "139" + Random.Shared.Next(10_000_000, 99_999_999)).Distinct().ToList();
        var events = phones.SelectMany(p => new object[]
        {
            new { messageId = $"id-{p}", type = "identify", identities = new { phone = p, openid = "o" + p, appId }, traits = new { name = "N" + p[^4..], tier = tag } },
        }).ToList();
        foreach (var chunk in events.Chunk(400)) Assert.Equal(HttpStatusCode.Accepted, (await tenant.Ingest().PostEvents(chunk)).StatusCode);
        if (consent != "none") await ConsentAsync(phones, consent);
        foreach (var p in phones) await Consent.ConsentApi.ProfileIdOf(tenant.Marketer(), "phone:" + p);
        return phones;
    }

    public async Task ConsentAsync(IEnumerable<string> phones, string status, DateTimeOffset? at = null)
    {
        var when = at ?? DateTimeOffset.UtcNow.AddSeconds(-1);
        var decisions = phones.SelectMany(p => new[]
        {
            Consent.ConsentApi.Decision(p, status, when, channel: "sms", id: $"c-sms-{status}-{p}-{when.Ticks}"),
            Consent.ConsentApi.Decision(p, status, when, channel: "wechat_oa", id: $"c-oa-{status}-{p}-{when.Ticks}"),
        }).ToList();
        foreach (var chunk in decisions.Chunk(400)) Assert.Equal(HttpStatusCode.Accepted, (await Consent.ConsentApi.PostConsents(tenant.Ingest(), chunk)).StatusCode);
        foreach (var p in phones.Take(3).Concat(phones.TakeLast(3)))
        {
            var pid = await Consent.ConsentApi.ProfileIdOf(tenant.Marketer(), "phone:" + p);
            await Eventually.Get(() => Consent.ConsentApi.Consents(tenant.Marketer(), pid), c => Consent.ConsentApi.Current(c, "marketing", "sms") == status,
                what: $"{status} consent of {p}");
        }
    }

    public async Task<HttpResponseMessage> StartAsync(object campaign, string? key = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/campaigns") { Content = JsonContent.Create(campaign) };
        if (key is not null) request.Headers.Add("Idempotency-Key", key);
        return await tenant.Marketer().SendAsync(request);
    }

    public async Task<string> StartOkAsync(object campaign, string? key = null)
    {
        var response = await StartAsync(campaign, key);
        Assert.True(response.StatusCode == HttpStatusCode.Created, await response.Content.ReadAsStringAsync());
        return (await response.Json()).GetProperty("id").GetString()!;
    }

    public async Task<JsonElement> CampaignAsync(string id) => await (await tenant.Marketer().GetAsync($"/api/campaigns/{id}")).Json();

    public Task<JsonElement> WaitDoneAsync(string id, int seconds = 60) =>
        Eventually.Get(() => CampaignAsync(id), c => c.GetProperty("done").GetBoolean(), TimeSpan.FromSeconds(seconds), $"campaign {id} done");

    public static long Progress(JsonElement campaign, string field) => campaign.GetProperty("progress").GetProperty(field).GetInt64();

    public static long Suppressed(JsonElement campaign, string reason) =>
        campaign.GetProperty("progress").GetProperty("suppressed").TryGetProperty(reason, out var n) ? n.GetInt64() : 0;

    public async Task<List<JsonElement>> DeliveriesAsync(string phone)
    {
        var pid = await Consent.ConsentApi.ProfileIdOf(tenant.Marketer(), "phone:" + phone);
        return (await (await tenant.Marketer().GetAsync($"/api/profiles/{pid}/deliveries")).Json()).EnumerateArray().ToList();
    }

    /// <summary>Unique messages the fake provider took for these recipients (phones, or openids "o"+phone).</summary>
    public int AcceptedFor(IEnumerable<string> phones)
    {
        var set = phones.SelectMany(p => new[] { p, "+86" + p, "o" + p }).ToHashSet();
        return fake.Accepted.Count(m => set.Contains(m.Recipient));
    }
}
