using System.Collections.Concurrent;
using System.Net;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;

namespace Siyu.FakeProviders;

/// <summary>
/// The fake providers on Kestrel (127.0.0.1), with an in-memory state that tests script and inspect. Every
/// per-request step is O(1) on concurrent dictionaries and nothing is logged per request, so a benchmark can push
/// 100,000 messages through it. Registrations (apps, API keys, callback URL, webhook secret) survive
/// <see cref="Reset"/>; traffic, counters, tokens and faults do not.
/// </summary>
public sealed partial class FakeProviderServer : IAsyncDisposable
{
    public const int DefaultPort = 7072;

    private readonly WebApplication app;
    private readonly HttpClient receiptClient = new() { Timeout = TimeSpan.FromSeconds(10) };

    private readonly ConcurrentDictionary<string, string> appSecrets = new(StringComparer.Ordinal);
    /// <summary>Registered API keys, each with whether the provider behind it dedupes on Idempotency-Key.</summary>
    private readonly ConcurrentDictionary<string, bool> apiKeys = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, IssuedToken> tokens = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, string> currentToken = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, int> tokenRequests = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, ConcurrentQueue<Fault>> faults = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, string> seenKeys = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, int> requestsByRecipient = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, int> acceptedByRecipient = new(StringComparer.Ordinal);
    private readonly ConcurrentQueue<AcceptedMessage> accepted = new();
    private readonly ConcurrentQueue<ReceivedReceipt> receivedReceipts = new();
    private long nextId;
    private int requests, acceptedCount, duplicates, repeated, receiptsSent, receiptsUndelivered;
    private long latencyTicks;
    private readonly Lock tokenGate = new();

    private FakeProviderServer(WebApplication app)
    {
        this.app = app;
        MapWeChat(app);
        MapProviders(app);
        MapAliyun(app);
        MapTencent(app);
        MapWeCom(app);
        MapAdmin(app);
    }

    /// <summary>The fake on 127.0.0.1 and the given port (0: a free one).</summary>
    public static Task<FakeProviderServer> StartAsync(int port = 0)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, port));
        return StartAsync(builder);
    }

    /// <summary>The fake as a program: honours --urls (default http://127.0.0.1:7072) and the "Fake" configuration
    /// section (Fake:Apps:{appId}={secret}, Fake:ApiKeys:{n}={key}, Fake:AliyunKeys:{accessKeyId}={secret}, Fake:TencentKeys:{secretId}={secretKey}, Fake:SmtpPort, Fake:SmtpUsers:{user}={password}, Fake:WeComCorps:{corpid}={secret}, Fake:ReceiptCallbackUrl, Fake:WebhookSecret).</summary>
    public static async Task<FakeProviderServer> StartAsync(string[] args)
    {
        var builder = WebApplication.CreateSlimBuilder(args);
        if (string.IsNullOrEmpty(builder.Configuration["urls"])) builder.WebHost.UseUrls($"http://127.0.0.1:{DefaultPort}");
        var fake = await StartAsync(builder);
        var section = builder.Configuration.GetSection("Fake");
        foreach (var a in section.GetSection("Apps").GetChildren()) fake.RegisterApp(a.Key, a.Value ?? "");
        foreach (var k in section.GetSection("ApiKeys").GetChildren()) if (!string.IsNullOrEmpty(k.Value)) fake.RegisterApiKey(k.Value);
        if (section["ReceiptCallbackUrl"] is { Length: > 0 } callback) fake.ReceiptCallbackUrl = new Uri(callback);
        if (section["WebhookSecret"] is { Length: > 0 } secret) fake.WebhookSecret = secret;
        foreach (var k in section.GetSection("AliyunKeys").GetChildren()) if (!string.IsNullOrEmpty(k.Value)) fake.RegisterAliyunKey(k.Key, k.Value);
        foreach (var k in section.GetSection("TencentKeys").GetChildren()) if (!string.IsNullOrEmpty(k.Value)) fake.RegisterTencentKey(k.Key, k.Value);
        foreach (var w in section.GetSection("WeComCorps").GetChildren()) if (!string.IsNullOrEmpty(w.Value)) fake.RegisterWeComCorp(w.Key, w.Value);
        foreach (var u in section.GetSection("SmtpUsers").GetChildren()) if (!string.IsNullOrEmpty(u.Value)) fake.RegisterSmtpUser(u.Key, u.Value);
        if (int.TryParse(section["SmtpPort"], out var smtpPort)) await fake.StartSmtpAsync(smtpPort);
        return fake;
    }

    private static async Task<FakeProviderServer> StartAsync(WebApplicationBuilder builder)
    {
        builder.Logging.ClearProviders();
        var fake = new FakeProviderServer(builder.Build());
        await fake.app.StartAsync();
        var address = fake.app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        fake.BaseUrl = new Uri(address.Replace("localhost", "127.0.0.1", StringComparison.Ordinal).TrimEnd('/') + "/");
        return fake;
    }

    /// <summary>Where the fake listens, ending in '/'.</summary>
    public Uri BaseUrl { get; private set; } = null!;

    /// <summary>How long a new WeChat access token lives (WeChat: 7200 s).</summary>
    public TimeSpan TokenLifetime { get; set; } = TimeSpan.FromSeconds(7200);

    /// <summary>Where receipts for generic-provider messages are POSTed; none when null.</summary>
    public Uri? ReceiptCallbackUrl { get; set; }

    /// <summary>How long after accepting a message its receipt is sent.</summary>
    public TimeSpan ReceiptDelay { get; set; } = TimeSpan.FromMilliseconds(20);

    /// <summary>When set, webhook requests must carry a valid X-Siyu-Signature under this secret (else 401).</summary>
    public string? WebhookSecret { get; set; }

    public void RegisterApp(string appId, string secret) => appSecrets[appId] = secret;

    /// <summary>An API key of the generic provider contract. <paramref name="dedupes"/> false: the provider behind it
    /// ignores Idempotency-Key, as Aliyun and Tencent Cloud SMS or an SMTP relay do, so every request is a message.</summary>
    public void RegisterApiKey(string key, bool dedupes = true) => apiKeys[key] = dedupes;

    /// <summary>Script the next requests for <paramref name="recipient"/> (openid, "to", or a webhook's "to"): each
    /// fault is used by one request, in order; after them the recipient is served normally again.</summary>
    public void FailNext(string recipient, params Fault[] faultsInOrder)
    {
        var queue = faults.GetOrAdd(recipient, static _ => new ConcurrentQueue<Fault>());
        foreach (var fault in faultsInOrder) queue.Enqueue(fault);
    }

    /// <summary>Delay every send and token request by this much.</summary>
    public void SetLatency(TimeSpan latency) => Interlocked.Exchange(ref latencyTicks, latency.Ticks);

    /// <summary>Make every issued WeChat token expired: sends with one answer 42001, stable_token issues new ones.</summary>
    public void ExpireTokens()
    {
        foreach (var (token, issued) in tokens) tokens[token] = issued with { ExpiresAt = DateTimeOffset.MinValue };
    }

    /// <summary>The unique messages delivered to people, in the order they were taken.</summary>
    public IReadOnlyList<AcceptedMessage> Accepted => accepted.ToArray();

    /// <summary>Repeats absorbed by idempotency (WeChat client_msg_id, Idempotency-Key).</summary>
    public int Duplicates => Volatile.Read(ref duplicates);

    /// <summary>Repeats of a key already taken that went out again as another message, because their API key does not
    /// dedupe: each one a person received twice.</summary>
    public int Repeated => Volatile.Read(ref repeated);

    /// <summary>Send requests of every channel (not token or admin requests), faulted ones included.</summary>
    public int Requests => Volatile.Read(ref requests);

    public int RequestsFor(string recipient) => requestsByRecipient.GetValueOrDefault(recipient);

    /// <summary>Unique messages taken for one recipient (repeats absorbed by idempotency do not count).</summary>
    public int AcceptedFor(string recipient) => acceptedByRecipient.GetValueOrDefault(recipient);

    public int TokenRequests(string appId) => tokenRequests.GetValueOrDefault(appId);

    public int ReceiptsSent => Volatile.Read(ref receiptsSent);

    /// <summary>Receipts that reached the fake's own sink (<c>{BaseUrl}fake/receipts</c>).</summary>
    public IReadOnlyList<ReceivedReceipt> ReceivedReceipts => receivedReceipts.ToArray();

    public void Reset()
    {
        tokens.Clear();
        currentToken.Clear();
        tokenRequests.Clear();
        faults.Clear();
        seenKeys.Clear();
        requestsByRecipient.Clear();
        acceptedByRecipient.Clear();
        accepted.Clear();
        receivedReceipts.Clear();
        aliyunNonces.Clear();
        emails.Clear();
        wecomMonthly.Clear();
        Interlocked.Exchange(ref wecomOverLimit, 0);
        Interlocked.Exchange(ref pushesSent, 0);
        Interlocked.Exchange(ref pushesRefused, 0);
        Interlocked.Exchange(ref requests, 0);
        Interlocked.Exchange(ref acceptedCount, 0);
        Interlocked.Exchange(ref duplicates, 0);
        Interlocked.Exchange(ref repeated, 0);
        Interlocked.Exchange(ref receiptsSent, 0);
        Interlocked.Exchange(ref receiptsUndelivered, 0);
        Interlocked.Exchange(ref latencyTicks, 0);
    }

    public Task WaitForShutdownAsync() => app.WaitForShutdownAsync();

    public async ValueTask DisposeAsync()
    {
        await StopSmtpAsync();
        await app.StopAsync();
        await app.DisposeAsync();
        receiptClient.Dispose();
    }

    /// <summary>Counts a send request and applies the scripted latency.</summary>
    private async Task BeginSendAsync(string recipient, CancellationToken aborted)
    {
        Interlocked.Increment(ref requests);
        requestsByRecipient.AddOrUpdate(recipient, 1, static (_, n) => n + 1);
        var latency = Interlocked.Read(ref latencyTicks);
        if (latency > 0) await Task.Delay(TimeSpan.FromTicks(latency), aborted);
    }

    /// <summary>The recipient's next scripted fault, used up by this request.</summary>
    private Fault? TakeFault(string recipient) =>
        faults.TryGetValue(recipient, out var queue) && queue.TryDequeue(out var fault) ? fault : null;

    /// <summary>Takes a message once per dedupe key (every time, counting the repeats, when <paramref name="dedupes"/>
    /// is false): returns its provider id and whether it was new.</summary>
    private (string Id, bool New) Take(string? dedupeKey, Func<string, AcceptedMessage> message, bool dedupes = true)
    {
        var id = Interlocked.Increment(ref nextId).ToString(System.Globalization.CultureInfo.InvariantCulture);
        if (dedupeKey is not null && !seenKeys.TryAdd(dedupeKey, id))
        {
            if (dedupes)
            {
                Interlocked.Increment(ref duplicates);
                return (seenKeys[dedupeKey], false);
            }
            Interlocked.Increment(ref repeated);
        }
        var taken = message(id);
        accepted.Enqueue(taken);
        acceptedByRecipient.AddOrUpdate(taken.Recipient, 1, static (_, n) => n + 1);
        Interlocked.Increment(ref acceptedCount);
        return (id, true);
    }

    /// <summary>A handler whose IResult is written to the response (a bare HttpContext → Task lambda would be
    /// taken for a RequestDelegate and its result dropped).</summary>
    private static Delegate Handler(Func<HttpContext, Task<IResult>> handler) => handler;

    private sealed record IssuedToken(string AppId, DateTimeOffset ExpiresAt);
}
