using System.Diagnostics;
using System.Net.Http.Json;
using System.Text.Json;
using Siyu.Azurite;
using Siyu.Core.Consent;
using Siyu.FakeProviders;

namespace Siyu.Bench;

/// <summary>
/// The campaign benchmark (<c>--suite campaigns</c>), on a fresh Azurite beside raw ceilings measured in the same run.
/// N people (100,000 unless told otherwise), each known by phone and seeded directly into storage: 97% with a granted
/// marketing SMS consent, 2% withdrawn, 1% with none. The app runs on Kestrel with its listeners, sending SMS to the
/// local fake provider in this process.
/// <list type="number">
/// <item>one campaign to everyone, as an identity list: time to fan out (targeted = N), sends/s from the start until
/// done, sent / suppressed by reason / failed, and the fake's own count (one accepted message per sent delivery, no
/// recipient twice);</item>
/// <item>a second campaign to the same people (another template), cancelled once ~10% are sent: seconds from the
/// cancel until the fake takes no new message for 3 s, and how many it took after the cancel;</item>
/// <item>the process's working set at the end;</item>
/// </list>
/// Kill -9 and restart trials live in their own suite (<c>--suite kill</c>, see <see cref="KillBench"/>).
/// The SMS account says its provider does not dedupe (as Aliyun and Tencent Cloud SMS do not), and the fake behaves
/// so, unless <c>--dedupes true</c>: then sends go first and are recorded with their outcome, and the fake drops repeats.
/// </summary>
public static class CampaignBench
{
    private const string First = "bench_sms", Second = "bench_sms_cancel";
    private const string FirstProvider = "SMS_BENCH_1", SecondProvider = "SMS_BENCH_2";
    private const string Prefix = "campaigns";
    private const int ProviderRate = 20_000;

    internal static string Phone(int p) => "139" + (10_000_000 + p).ToString(System.Globalization.CultureInfo.InvariantCulture);
    internal static bool NoConsent(int p) => p % 100 == 0;
    internal static bool Withdrawn(int p) => p % 100 is 1 or 2;

    public static async Task<int> RunAsync(Args o, string operatorKey)
    {
        var n = o.Profiles;
        if (n > Siyu.Core.Delivery.CampaignRules.MaxIdentities) throw new ArgumentException($"--profiles: at most {Siyu.Core.Delivery.CampaignRules.MaxIdentities:N0} (one identity-list campaign)");

        RawAzurite.Ceilings raw;
        await using (var rawAzurite = await AzuriteProcess.StartAsync())
            raw = await RawAzurite.MeasureAsync(rawAzurite.ConnectionString, TimeSpan.FromSeconds(o.RawSeconds));
        Console.WriteLine($"raw Azurite: {raw}");

        await using var fake = await FakeProviderServer.StartAsync();
        await using var azurite = await AzuriteProcess.StartAsync();
        var settings = new Dictionary<string, string?>
        {
            ["Channels:ProviderBaseUrls:sms"] = fake.BaseUrl.ToString().TrimEnd('/'),
            ["Channels:AliyunSmsEndpoint"] = fake.BaseUrl + "aliyun",
            // The provider's allowed rate is a deployment setting (500/s by default); the local fake has none, and the
            // benchmark measures our side, so the bucket is set well above what the machine can do.
            ["Channels:RatePerSecond"] = ProviderRate.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["Channels:Burst"] = "1000",
            ["Secrets:EncryptionKey"] = Convert.ToBase64String(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32)),
        };
        await using var app = await BenchApp.StartAsync(azurite.ConnectionString, Prefix, operatorKey, listeners: true, settings);
        var tenant = await Tenant.CreateAsync(new HttpClient(), app.BaseAddress, operatorKey, "bench-campaigns");
        using var marketer = await AudienceBench.KeyedClientAsync(app.BaseAddress, operatorKey, tenant.Id, "marketer");
        marketer.Timeout = TimeSpan.FromMinutes(5);

        var aliyun = o.Provider == "aliyun";
        if (!aliyun && o.Provider != "generic") throw new ArgumentException("--provider: generic or aliyun");
        if (aliyun && o.Dedupes) throw new ArgumentException("--dedupes true: Aliyun does not dedupe");
        var smsKey = "sms-" + Guid.NewGuid().ToString("N");
        if (aliyun)
        {
            // Aliyun's own contract: every request signed with the AccessKey and checked by the fake as Aliyun checks it.
            fake.RegisterAliyunKey("LTAIbench", smsKey);
            await Ok(await tenant.Admin.PutAsJsonAsync("/api/tenants/current/channels/sms", new { provider = "aliyun", accessKeyId = "LTAIbench", apiKey = smsKey, sender = "BENCH" }), "aliyun sms account");
        }
        else
        {
            fake.RegisterApiKey(smsKey, o.Dedupes);
            await Ok(await tenant.Admin.PutAsJsonAsync("/api/tenants/current/channels/sms", new { apiKey = smsKey, sender = "BENCH", dedupes = o.Dedupes }), "sms account");
        }
        Console.WriteLine(aliyun ? "the SMS provider is Aliyun (Dysmsapi, signed): claim, send at most once, record"
            : o.Dedupes ? "the SMS provider dedupes: send, then record" : "the SMS provider does not dedupe: claim, send at most once, record");
        foreach (var (template, provider) in new[] { (First, FirstProvider), (Second, SecondProvider) })
            await Ok(await marketer.PutAsJsonAsync($"/api/templates/{template}", new
            {
                channel = "sms", providerTemplate = provider, fields = new { text = "hi {{name}} 回T退订" },
                variables = new { name = new { @default = "Friend" } },
            }), $"template {template}");

        // ---- seeding: profile rows with their consent, and the phone identity claimed --------------------------------
        var decidedAt = DateTimeOffset.UtcNow.AddMinutes(-5);
        var events = Enumerable.Range(0, n).Select(p => (object)new
        {
            type = "identify", messageId = $"seed-{p}", identities = new { phone = Phone(p) }, traits = new { name = $"会员{p}" },
        }).ToList();
        var seedClock = Stopwatch.StartNew();
        var claims = await AudienceBench.SeedDirectAsync(app, tenant.Id, events, (key, state) =>
        {
            var p = int.Parse(key[^8..], System.Globalization.CultureInfo.InvariantCulture) - 10_000_000;
            if (NoConsent(p)) return;
            state.Consent.Apply(new ConsentDecision
            {
                Id = $"bench-{p}", Purpose = ConsentVocabulary.Marketing, Channel = "sms",
                Status = Withdrawn(p) ? ConsentStatus.Withdrawn : ConsentStatus.Granted, Source = ConsentSources.Api, OccurredAt = decidedAt,
            });
        });
        var seedSeconds = seedClock.Elapsed.TotalSeconds;
        events.Clear();
        if (claims.Count != n) throw new InvalidOperationException($"seeded {claims.Count} of {n}");
        var expectedWithdrawn = Enumerable.Range(0, n).Count(Withdrawn);
        var expectedNoConsent = Enumerable.Range(0, n).Count(NoConsent);
        var expectedSent = n - expectedWithdrawn - expectedNoConsent;
        Console.WriteLine($"seeding (direct): {n:N0} profiles in {seedSeconds:F1} s ({n / seedSeconds:F0}/s); expect {expectedSent:N0} sent, " +
            $"{expectedWithdrawn:N0} withdrawn, {expectedNoConsent:N0} no_consent");

        var identities = Enumerable.Range(0, n).Select(p => "phone:" + Phone(p)).ToArray();
        object Campaign(string name, string template) => new
        {
            name, audience = new { identities },
            message = new { template, variables = new Dictionary<string, string> { ["name"] = "{{attributes.name}}" } },
        };

        // ---- 1. one campaign to everyone ------------------------------------------------------------------------------
        using var ops = new StorageOps();
        using var monitor = new JourneyBench.Monitor();
        var opsBefore = ops.Snapshot();
        var firstFrom = monitor.Now;
        var clock = Stopwatch.StartNew();
        var startRequest = Stopwatch.StartNew();
        var id = await StartAsync(marketer, Campaign("bench all", First));
        var startMs = startRequest.Elapsed.TotalMilliseconds;
        double? fannedOutAt = null;
        JsonElement view;
        var lastPrint = -10.0;
        var stall = Stopwatch.StartNew();
        long lastSettled = -1;
        while (true)
        {
            view = await ViewAsync(marketer, id);
            var t = clock.Elapsed.TotalSeconds;
            var pr = view.GetProperty("progress");
            if (fannedOutAt is null && pr.GetProperty("targeted").GetInt64() >= n) fannedOutAt = t;
            if (view.GetProperty("done").GetBoolean()) break;
            var settled = pr.GetProperty("targeted").GetInt64() - pr.GetProperty("pending").GetInt64();
            if (settled != lastSettled) { lastSettled = settled; stall.Restart(); }
            if (stall.Elapsed > TimeSpan.FromMinutes(3)) throw new TimeoutException($"campaign stuck after {t:F0} s: {pr}");
            if (t - lastPrint >= 10) { lastPrint = t; Console.WriteLine($"  {t:F0} s: {Brief(pr)}; fake accepted {fake.Accepted.Count:N0}"); }
            await Task.Delay(1000);
        }
        var e2eSeconds = clock.Elapsed.TotalSeconds;
        var opsReport = ops.Report(opsBefore, n, "recipient");
        var cpu = monitor.CpuOver(firstFrom, monitor.Now);
        Console.WriteLine($"CPU over the first campaign: {cpu}");
        var progress = view.GetProperty("progress");
        var sent = progress.GetProperty("sent").GetInt64();
        var failed = progress.GetProperty("failed").GetInt64();
        var suppressed = progress.GetProperty("suppressed").EnumerateObject().ToDictionary(x => x.Name, x => x.Value.GetInt64());
        var accepted = fake.Accepted.Where(m => m.Template == FirstProvider).ToList();
        var recipientsTwice = accepted.GroupBy(m => m.Recipient).Count(g => g.Count() > 1);
        var fakeDuplicatesFirst = fake.Duplicates;
        var requestsFirst = fake.Requests;
        var sendsPerSecond = sent / e2eSeconds;
        var fanOutSeconds = fannedOutAt ?? e2eSeconds;
        Console.WriteLine($"campaign: status {view.GetProperty("status")}, fanned out in {fanOutSeconds:F1} s (start request {startMs:F0} ms), done after {e2eSeconds:F1} s " +
            $"({sendsPerSecond:F0} sends/s); {Brief(progress)}; fake accepted {accepted.Count:N0} unique, {recipientsTwice} recipients twice, {fakeDuplicatesFirst} retries absorbed");

        // ---- 2. time to cancel ----------------------------------------------------------------------------------------
        var before = fake.Accepted.Count;
        var cancelClock = Stopwatch.StartNew();
        var second = await StartAsync(marketer, Campaign("bench cancel", Second));
        var tenth = expectedSent / 10;
        while (fake.Accepted.Count - before < tenth)
        {
            if (cancelClock.Elapsed > TimeSpan.FromMinutes(5)) throw new TimeoutException($"second campaign: {fake.Accepted.Count - before} accepted");
            await Task.Delay(20);
        }
        var atCancel = fake.Accepted.Count - before;
        // The cancel call runs while the fake's count is watched: what it takes during the call counts as after the cancel.
        var cancelled = Stopwatch.StartNew();
        var atAnswer = 0;
        var cancelTiming = "";
        var cancelCall = Task.Run(async () =>
        {
            using var response = await marketer.PostAsync($"/api/campaigns/{second}/cancel", null);
            if (!response.IsSuccessStatusCode) throw new InvalidOperationException($"cancel: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
            atAnswer = fake.Accepted.Count - before;
            cancelTiming = response.Headers.TryGetValues("Server-Timing", out var timing) ? string.Join(", ", timing) : "none";
            return cancelled.Elapsed.TotalMilliseconds;
        });
        var last = atCancel;
        var lastGrowth = 0.0;
        while (!cancelCall.IsCompleted || cancelled.Elapsed.TotalSeconds - lastGrowth < 3)
        {
            await Task.Delay(20);
            var now = fake.Accepted.Count - before;
            if (now != last) { last = now; lastGrowth = cancelled.Elapsed.TotalSeconds; }
        }
        var cancelMs = await cancelCall;
        var afterCancel = last - atCancel;
        // What the issue's goal is about: sends that started after the cancel was answered, and how long after the last one came.
        var afterAnswer = last - atAnswer;
        var lastAfterAnswer = Math.Max(0, lastGrowth - cancelMs / 1000);
        var secondDone = await WaitDoneAsync(marketer, second, TimeSpan.FromMinutes(3));
        var sp = secondDone.GetProperty("progress");
        var secondSent = sp.GetProperty("sent").GetInt64();
        var secondAccepted = fake.Accepted.Count(m => m.Template == SecondProvider);
        Console.WriteLine($"cancel at {atCancel:N0} accepted (request {cancelMs:F0} ms): the fake stopped taking messages {lastGrowth:F2} s after the cancel, " +
            $"{afterCancel:N0} taken after it, {afterAnswer:N0} after the answer (the last {lastAfterAnswer:F2} s after it); steps {cancelTiming}; campaign {secondDone.GetProperty("status")}, done {secondDone.GetProperty("done")}: {Brief(sp)}; fake accepted {secondAccepted:N0}");

        // ---- 3. memory ------------------------------------------------------------------------------------------------
        using var me = Process.GetCurrentProcess();
        var workingSetMb = me.WorkingSet64 / 1024.0 / 1024.0;
        var peakMb = me.PeakWorkingSet64 / 1024.0 / 1024.0;

        // ---- report ---------------------------------------------------------------------------------------------------
        var batched = raw.BatchedEntitiesPerSecond;
        var fanOutRate = n / fanOutSeconds;
        var correct = sent == expectedSent && failed == 0 && accepted.Count == sent && recipientsTwice == 0
                      && suppressed.GetValueOrDefault("withdrawn") == expectedWithdrawn && suppressed.GetValueOrDefault("no_consent") == expectedNoConsent
                      && secondAccepted == secondSent;
        var report = new List<string>
        {
            $"Run {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC on {Environment.ProcessorCount} cores; Azurite in memory; app on Kestrel over loopback HTTP with its queue listeners, " +
            $"and the fake SMS provider, in this process (provider rate limit set to {ProviderRate:N0}/s; the product's default is 500/s). {n:N0} people known by phone, seeded directly (profile row with its consent, identity claimed): " +
            $"{expectedSent:N0} granted marketing/sms, {expectedWithdrawn:N0} withdrawn, {expectedNoConsent:N0} with no decision. One campaign to all of them as an identity list. " +
            (aliyun ? "The SMS account is an Aliyun one (`provider: aliyun`): each send is a signed Dysmsapi `SendSms`, checked by the fake as Aliyun checks it, claimed in its row first (Aliyun does not dedupe), then recorded with its outcome."
                : o.Dedupes ? "The SMS account's provider dedupes (`dedupes: true`): each send goes, then is recorded with its outcome."
                : "The SMS account's provider does not dedupe (`dedupes: false`, as Aliyun and Tencent Cloud SMS): each send is claimed in its row first, then recorded with its outcome."),
            "",
            "| Measure | Result | Raw Azurite in the same run | Ratio |",
            "|---|---|---|---|",
            $"| Seeding {n:N0} profiles directly (not part of the timings) | {n / seedSeconds:N0} profiles/s ({seedSeconds:F0} s) | batch writes {batched:N0} entities/s | {n / seedSeconds / batched:F2}× |",
            $"| **Fan-out**: `POST /api/campaigns` until `targeted` = {n:N0} (polled every second) | **{fanOutSeconds:F1} s, {fanOutRate:N0} people/s**; start request {startMs:N0} ms | " +
                $"batch writes {batched:N0} entities/s; queue puts {raw.QueuePutsPerSecond:N0}/s | {fanOutRate / batched:F2}× / {fanOutRate / raw.QueuePutsPerSecond:F2}× |",
            $"| **End to end**: start until `done`, sends through the policy to the fake provider | **{sendsPerSecond:N0} sends/s** ({sent:N0} sent in {e2eSeconds:F1} s; " +
                $"{n / e2eSeconds:N0} people decided/s) | batch writes {batched:N0} entities/s; single upserts {raw.SingleUpsertsPerSecond:N0}/s | " +
                $"{sendsPerSecond / batched:F2}× / {sendsPerSecond / raw.SingleUpsertsPerSecond:F2}× |",
            $"| Outcome | sent {sent:N0} (expected {expectedSent:N0}), failed {failed:N0}, suppressed " +
                (suppressed.Count == 0 ? "none" : string.Join(", ", suppressed.OrderBy(x => x.Key).Select(x => $"{x.Key} {x.Value:N0}"))) +
                $" (expected withdrawn {expectedWithdrawn:N0}, no_consent {expectedNoConsent:N0}), pending {progress.GetProperty("pending").GetInt64():N0} | | |",
            $"| The fake provider's own count | {accepted.Count:N0} unique messages accepted (= sent: {(accepted.Count == sent ? "yes" : "**no**")}); " +
                $"{recipientsTwice} recipients with more than one; {requestsFirst:N0} requests ({requestsFirst / (double)Math.Max(1, accepted.Count):F3} per recipient); " +
                $"{fakeDuplicatesFirst} repeated requests absorbed by idempotency key | | |",
            $"| **Time to cancel**: second campaign to the same people, cancelled at {atCancel:N0} accepted (~10%) | **{lastGrowth:F2} s** from the cancel call until the fake " +
                $"took no new message for 3 s; **{afterCancel:N0} sent after the cancel**; cancel request **{cancelMs:N0} ms** (its steps, Server-Timing: {cancelTiming}); after its answer {afterAnswer:N0} sent, the last **{lastAfterAnswer:F2} s** after it; then {secondDone.GetProperty("status")}: " +
                $"sent {secondSent:N0}, cancelled {sp.GetProperty("cancelled").GetInt64():N0}, pending {sp.GetProperty("pending").GetInt64():N0}; fake accepted {secondAccepted:N0} | | |",
            $"| Working set at the end (app + fake provider + load generator, one process) | {workingSetMb:N0} MiB (peak {peakMb:N0} MiB) | | |",
        };
        report.AddRange(new List<string>
        {
            "",
            $"Raw Azurite ceilings: single upsert {raw.SingleUpsertsPerSecond:N0}/s (32 in flight), batch transaction of 100 {raw.BatchTransactionsPerSecond:N0}/s = " +
            $"{raw.BatchedEntitiesPerSecond:N0} entities/s (8 in flight), queue put {raw.QueuePutsPerSecond:N0}/s (32 in flight), point read {raw.PointReadsPerSecond:N0}/s (32 in flight)." +
            (correct ? "" : " **Checks failed: see the outcome and fake rows.**"),
            "",
            $"CPU over the first campaign: {cpu}.",
            "",
            "Storage requests of the first campaign, from its start until done (the app's own, and the progress polls):",
            "",
            opsReport,
        });
        var text = string.Join(Environment.NewLine, report);
        Console.WriteLine();
        Console.WriteLine(text);
        if (o.Out is not null) await File.WriteAllTextAsync(o.Out, text + Environment.NewLine);
        return correct ? 0 : 1;
    }

    private static string Brief(JsonElement p) =>
        $"targeted {p.GetProperty("targeted").GetInt64():N0}, sent {p.GetProperty("sent").GetInt64():N0}, failed {p.GetProperty("failed").GetInt64():N0}, " +
        $"suppressed {p.GetProperty("suppressedTotal").GetInt64():N0}, cancelled {p.GetProperty("cancelled").GetInt64():N0}, pending {p.GetProperty("pending").GetInt64():N0}";

    internal static async Task<string> StartAsync(HttpClient marketer, object campaign)
    {
        using var response = await marketer.PostAsJsonAsync("/api/campaigns", campaign);
        var body = await response.Content.ReadAsStringAsync();
        if (!response.IsSuccessStatusCode) throw new InvalidOperationException($"start campaign: {(int)response.StatusCode} {body}");
        return JsonDocument.Parse(body).RootElement.GetProperty("id").GetString()!;
    }

    internal static async Task<JsonElement> ViewAsync(HttpClient marketer, string id) => await marketer.GetFromJsonAsync<JsonElement>($"/api/campaigns/{id}");

    private static async Task<JsonElement> WaitDoneAsync(HttpClient marketer, string id, TimeSpan timeout)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            var view = await ViewAsync(marketer, id);
            if (view.GetProperty("done").GetBoolean()) return view;
            if (clock.Elapsed > timeout) throw new TimeoutException($"campaign {id} not done: {view.GetProperty("progress")}");
            await Task.Delay(500);
        }
    }

    private static async Task Ok(HttpResponseMessage response, string what)
    {
        using (response)
            if (!response.IsSuccessStatusCode) throw new InvalidOperationException($"{what}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
    }
}
