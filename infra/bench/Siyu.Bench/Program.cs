// The ingestion benchmark. Starts an in-memory Azurite, measures its raw ceilings, then runs the real function app
// on Kestrel against it and measures, over real HTTP on loopback:
//   1. ingest acceptance: POST /api/events in 100-event batches (listeners off: acceptance alone);
//   2. end to end: events/s from the first POST until every event is folded into its profile, with 10,000 active
//      profiles (listeners on), then checks every profile for lost or doubled events;
//   3. WeChat push acknowledgement latency at a steady 200 pushes/s (safe mode, AES): once with queue processing
//      elsewhere (as in Azure, where it runs on other instances), once with it in this process on the same cores.
// Usage: dotnet run -c Release --project infra/bench/Siyu.Bench -- [--profiles 10000] [--events 100000]
//        [--push-rate 200] [--push-seconds 20] [--accept-seconds 10] [--raw-seconds 5] [--out file.md]
// The consent benchmark (see ConsentBench): -- --suite consent [--profiles 10000] [--consents 50000] [--out file.md]
// The audience benchmark (see AudienceBench): -- --suite audience [--profiles 100000] [--latency-profiles 2000] [--latency-rate 100]
//        [--latency-seconds 20] [--tag-profiles 10000] [--sweep-parallelism 8] [--seed ingest|direct] [--phases 1,2,3]
//        [--out file.md]
// The journey benchmark (see JourneyBench): -- --suite journeys [--profiles 100000] [--delay-seconds auto] [--timeout-seconds auto]
//        [--enter-concurrency 4] [--enter-by profileId|identity] [--seed direct|ingest] [--phases 1 (entry only)] [--out file.md]
// The campaign benchmark (see CampaignBench): -- --suite campaigns [--profiles 100000] [--raw-seconds 5] [--dedupes false|true] [--provider generic|aliyun]
//        [--out file.md]
// The kill benchmark (see KillBench): -- --suite kill [--people 2000] [--kill-trials 10] [--erasures 20] [--out file.md]: the app in a
//        child process killed with SIGKILL at random moments of campaigns, bulk tagging jobs and erasures, a fresh one finishing each.
// The per-person benchmark (see PerPersonBench): -- --suite per-person [--people 1000] [--delay-seconds 2] [--timeout-seconds 3]
//        [--raw-seconds 5] [--out file.md]: the same N people through delay → wait for an event (half get it) → send, as one
//        Durable orchestration per person and as journey runs, both beside the raw single-upsert ceiling.
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Siyu.Azurite;
using Siyu.Bench;
using Siyu.Core.WeChat;
using Siyu.Functions.Ingestion;
using Siyu.Storage.Identities;
using Siyu.Storage.Profiles;

if (args.Contains("--help") || args.Contains("-h"))
{
    Console.WriteLine(Args.Usage);
    return 0;
}
if (Args.Unknown(args) is { } unknown)
{
    Console.Error.WriteLine($"unknown option {unknown}");
    Console.Error.WriteLine(Args.Usage);
    return 2;
}
var options = Args.Parse(args);
// A child process of the kill benchmark: the app alone, until it is killed.
if (options.Suite == "serve-app") return await AppProcess.ServeAsync(args);
Console.WriteLine($"Benchmark: {options}");
Directory.SetCurrentDirectory(FindRoot());

var report = new List<string>();
if (options.Suite == "consent") return await ConsentBench.RunAsync(options, "bench-" + Guid.NewGuid().ToString("N"), new CommitCounter());
if (options.Suite == "audience") return await AudienceBench.RunAsync(options, "bench-" + Guid.NewGuid().ToString("N"), new CommitCounter());
if (options.Suite == "journeys") return await JourneyBench.RunAsync(options, "bench-" + Guid.NewGuid().ToString("N"), new CommitCounter());
if (options.Suite == "campaigns") return await CampaignBench.RunAsync(options, "bench-" + Guid.NewGuid().ToString("N"));
if (options.Suite == "kill") return await KillBench.RunAsync(options, "bench-" + Guid.NewGuid().ToString("N"));
if (options.Suite == "per-person") return await PerPersonBench.RunAsync(options, "bench-" + Guid.NewGuid().ToString("N"));

// Every phase gets a fresh emulator (same binary, same machine, same run): Azurite slows down as it holds more data,
// even after it is deleted, so a phase must not inherit another's leftovers.

// ---- raw ceilings ------------------------------------------------------------------------------------------------
RawAzurite.Ceilings raw;
await using (var rawAzurite = await AzuriteProcess.StartAsync())
    raw = await RawAzurite.MeasureAsync(rawAzurite.ConnectionString, TimeSpan.FromSeconds(options.RawSeconds));
Console.WriteLine($"raw Azurite: {raw}");

var committed = new CommitCounter();
var operatorKey = "bench-" + Guid.NewGuid().ToString("N");
using var http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = 256, PooledConnectionLifetime = TimeSpan.FromMinutes(5) });

// ---- 1. acceptance ------------------------------------------------------------------------------------------------
double acceptedPerSecond;
Stats acceptLatency;
(int Pushes, double Rate, Stats Ack, Stats Put) quietPush;
// With listeners off, acceptance floods its emulator's queues.
await using (var floodAzurite = await AzuriteProcess.StartAsync())
await using (var quiet = await BenchApp.StartAsync(floodAzurite.ConnectionString, "accept", operatorKey, listeners: false))
{
    var tenant = await Tenant.CreateAsync(http, quiet.BaseAddress, operatorKey, "bench-accept");
    var latencies = new ConcurrentBag<double>();
    var sent = 0;
    var clock = Stopwatch.StartNew();
    await Task.WhenAll(Enumerable.Range(0, 16).Select(w => Task.Run(async () =>
    {
        for (var b = 0; clock.Elapsed.TotalSeconds < options.AcceptSeconds; b++)
        {
            var batch = Enumerable.Range(0, 100).Select(i => Events.Track($"a{w}-{b}-{i}", $"u{Random.Shared.Next(options.Profiles)}")).ToArray();
            var started = Stopwatch.GetTimestamp();
            using var response = await tenant.Ingest.PostAsJsonAsync("/api/events", new { batch });
            if ((int)response.StatusCode != 202) throw new InvalidOperationException($"acceptance: {(int)response.StatusCode}");
            latencies.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
            Interlocked.Add(ref sent, 100);
        }
    })));
    acceptedPerSecond = sent / clock.Elapsed.TotalSeconds;
    acceptLatency = Stats.Of(latencies);
    Console.WriteLine($"acceptance: {acceptedPerSecond:F0} events/s, request {acceptLatency}");

    // The pushes below should not queue behind the flood: start them on empty queues.
    var queues = quiet.Services.GetRequiredService<Siyu.Storage.Queues.IQueueService>();
    foreach (var name in quiet.Services.GetRequiredService<Siyu.Functions.Hosting.QueueNames>().Ingest) await queues.Queue(name).ClearAsync();

    // The acknowledgement path alone, as in Azure where queue processing runs on other instances.
    quietPush = await PushAsync(tenant, options, committed, waitForProcessing: false);
    Console.WriteLine($"wechat (processing elsewhere): {quietPush.Pushes} pushes at {quietPush.Rate:F0}/s, ack {quietPush.Ack}; queue put {quietPush.Put}");
}

// ---- 2. end to end ------------------------------------------------------------------------------------------------
await using var azurite = await AzuriteProcess.StartAsync();
await using var app = await BenchApp.StartAsync(azurite.ConnectionString, "e2e", operatorKey, listeners: true);
var brand = await Tenant.CreateAsync(http, app.BaseAddress, operatorKey, "bench-e2e");

// Warm-up: the 10,000 active profiles come to exist (one identify each), as they would before a busy day.
var warm = Stopwatch.StartNew();
var warmTarget = committed.Value + options.Profiles;
await Post(brand.Ingest, Enumerable.Range(0, options.Profiles).Select(p => Events.Identify($"id-{p}", $"u{p}", p)), concurrency: 8);
await committed.WaitFor(warmTarget, TimeSpan.FromMinutes(5));
var profilesPerSecond = options.Profiles / warm.Elapsed.TotalSeconds;
Console.WriteLine($"warm-up: {options.Profiles} new profiles in {warm.Elapsed.TotalSeconds:F1} s ({profilesPerSecond:F0}/s)");

// Measured: M track events spread at random over the active profiles; the clock stops when the last is on its profile.
var perProfile = new int[options.Profiles];
var trackEvents = Enumerable.Range(0, options.Events).Select(i =>
{
    var p = Random.Shared.Next(options.Profiles);
    perProfile[p]++;
    return Events.Track($"t-{i}", $"u{p}");
}).ToList();
var e2eTarget = committed.Value + options.Events;
var e2e = Stopwatch.StartNew();
await Post(brand.Ingest, trackEvents, concurrency: 8);
var acceptedAfter = e2e.Elapsed.TotalSeconds;
await committed.WaitFor(e2eTarget, TimeSpan.FromMinutes(10));
var e2eSeconds = e2e.Elapsed.TotalSeconds;
var e2ePerSecond = options.Events / e2eSeconds;
Console.WriteLine($"end to end: {options.Events} events in {e2eSeconds:F1} s ({e2ePerSecond:F0}/s); all accepted after {acceptedAfter:F1} s");

// Every profile must hold exactly its events: one identify plus its track events. Nothing lost, nothing twice.
var (lost, doubled) = await Verify(app, brand.Id, perProfile);
Console.WriteLine($"verify: {lost} profiles short, {doubled} profiles over; {committed.Duplicates} redelivered events deduplicated");

// ---- 3. WeChat pushes at a steady rate, with processing running in this process ---------------------------------
// Start once the end-to-end run has settled (its last rounds delete their messages after their events are committed).
var names = app.Services.GetRequiredService<Siyu.Functions.Hosting.QueueNames>();
var queueService = app.Services.GetRequiredService<Siyu.Storage.Queues.IQueueService>();
while ((await Task.WhenAll(names.Ingest.Select(q => queueService.Queue(q).GetApproximateCountAsync()))).Sum() > 0) await Task.Delay(100);
var (pushes, achievedRate, ackStats, putStats) = await PushAsync(brand, options, committed, waitForProcessing: true);
Console.WriteLine($"wechat (processing here): {pushes} pushes at {achievedRate:F0}/s, ack {ackStats}; queue put {putStats}");

var peakMb = Process.GetCurrentProcess().PeakWorkingSet64 / 1024.0 / 1024.0;

// ---- report -------------------------------------------------------------------------------------------------------
report.Add($"Run {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC on {Environment.ProcessorCount} cores; Azurite in memory (table and queue as two processes); app on Kestrel over loopback HTTP. " +
    "Each phase ran on a fresh Azurite: raw ceilings, then acceptance and the first WeChat row, then end to end and the rest.");
report.Add("");
report.Add("| Measure | Result | Raw Azurite in the same run | Ratio |");
report.Add("|---|---|---|---|");
report.Add($"| Ingest acceptance, `POST /api/events` × 100 events, 16 clients | {acceptedPerSecond:N0} events/s (request p50 {acceptLatency.P50:F1} ms, p99 {acceptLatency.P99:F1} ms) | {raw.QueuePutsPerSecond:N0} queue puts/s | {acceptedPerSecond / raw.QueuePutsPerSecond:F1}× |");
report.Add($"| End to end, accepted → on the profile, {options.Events:N0} events over {options.Profiles:N0} active profiles | {e2ePerSecond:N0} events/s | {raw.SingleUpsertsPerSecond:N0} single upserts/s | {e2ePerSecond / raw.SingleUpsertsPerSecond:F2}× |");
report.Add($"| New profiles (warm-up: identify, identity claim, profile row) | {profilesPerSecond:N0} profiles/s | {raw.SingleUpsertsPerSecond:N0} single upserts/s | {profilesPerSecond / raw.SingleUpsertsPerSecond:F2}× |");
report.Add($"| WeChat push ack (safe mode, AES), {quietPush.Pushes:N0} pushes at {quietPush.Rate:F0}/s, processing elsewhere | p50 {quietPush.Ack.P50:F1} ms, p99 {quietPush.Ack.P99:F1} ms, max {quietPush.Ack.Max:F1} ms | queue put inside the app p50 {quietPush.Put.P50:F1} ms, p99 {quietPush.Put.P99:F1} ms; steps p50/p99 ms: {AckTimings.Steps.GetValueOrDefault("elsewhere")} | — |");
report.Add($"| WeChat push ack, {pushes:N0} pushes at {achievedRate:F0}/s, processing in the same process on the same 2 cores | p50 {ackStats.P50:F1} ms, p99 {ackStats.P99:F1} ms, max {ackStats.Max:F1} ms | queue put inside the app p50 {putStats.P50:F1} ms, p99 {putStats.P99:F1} ms; steps p50/p99 ms: {AckTimings.Steps.GetValueOrDefault("co-located")} | — |");
report.Add($"| Correctness after the end-to-end run | {lost} profiles short, {doubled} over (of {options.Profiles:N0}) | | |");
report.Add($"| Peak working set (app + load generator) | {peakMb:N0} MiB | | |");
report.Add("");
report.Add($"Raw Azurite ceilings: single upsert {raw.SingleUpsertsPerSecond:N0}/s (32 in flight), batch transaction of 100 {raw.BatchTransactionsPerSecond:N0}/s = {raw.BatchedEntitiesPerSecond:N0} entities/s (8 in flight), queue put {raw.QueuePutsPerSecond:N0}/s (32 in flight).");
var text = string.Join(Environment.NewLine, report);
Console.WriteLine();
Console.WriteLine(text);
if (options.Out is not null) await File.WriteAllTextAsync(options.Out, text + Environment.NewLine);
return lost == 0 && doubled == 0 ? 0 : 1;

// ---- helpers ------------------------------------------------------------------------------------------------------
static Task Post(HttpClient client, IEnumerable<object> events, int concurrency) =>
    ConsentBench.PostAll(client, "/api/events", "batch", events, concurrency);

static async Task<(int Pushes, double Rate, Stats Ack, Stats Put)> PushAsync(Tenant tenant, Args options, CommitCounter committed, bool waitForProcessing)
{
    var wx = await WeChatBench.RegisterAsync(tenant.Admin, "safe");
    var pushes = options.PushRate * options.PushSeconds;
    var target = committed.Value + pushes;
    var ack = new ConcurrentBag<double>();
    var slow = new ConcurrentBag<(double At, double Ms)>();
    var steps = new ConcurrentDictionary<string, ConcurrentBag<double>>();
    committed.EnqueueSamples.Clear();
    committed.Recording = true;
    var clock = Stopwatch.StartNew();
    var inflight = new List<Task>();
    for (var i = 0; i < pushes; i++)
    {
        // Open loop: each push leaves at its own time, whether or not earlier ones have been answered.
        var wait = TimeSpan.FromSeconds((double)i / options.PushRate) - clock.Elapsed;
        if (wait > TimeSpan.Zero) await Task.Delay(wait);
        var (url, body) = wx.Push(i);
        inflight.Add(Task.Run(async () =>
        {
            var started = Stopwatch.GetTimestamp();
            using var response = await tenant.Anonymous.PostAsync(url, new StringContent(body, Encoding.UTF8, "text/xml"));
            var text = await response.Content.ReadAsStringAsync();
            if (text != "success") throw new InvalidOperationException($"push answered {(int)response.StatusCode}: {text}");
            var ms = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
            ack.Add(ms);
            // The app says where each acknowledgement's time went (Server-Timing: name;dur=ms, …).
            if (response.Headers.TryGetValues("Server-Timing", out var timing))
                foreach (var part in string.Join(",", timing).Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
                {
                    var cut = part.IndexOf(";dur=", StringComparison.Ordinal);
                    if (cut > 0 && double.TryParse(part[(cut + 5)..], System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out var d))
                        steps.GetOrAdd(part[..cut], _ => []).Add(d);
                }
            if (ms > 100) slow.Add((clock.Elapsed.TotalSeconds, ms));
        }));
    }
    await Task.WhenAll(inflight);
    var rate = pushes / clock.Elapsed.TotalSeconds;
    committed.Recording = false;
    if (!slow.IsEmpty)
        Console.WriteLine($"  acks over 100 ms: {slow.Count}, answered between {slow.Min(s => s.At):F1} s and {slow.Max(s => s.At):F1} s into the phase");
    Console.WriteLine("  ack steps in the app (Server-Timing), p50 / p99 / max ms: " +
        string.Join("; ", steps.OrderBy(s => s.Key).Select(s => { var st = Stats.Of(s.Value); return $"{s.Key} {st.P50:F1} / {st.P99:F1} / {st.Max:F1}"; })));
    AckTimings.Steps[waitForProcessing ? "co-located" : "elsewhere"] = string.Join("; ", steps.OrderBy(s => s.Key).Select(s => { var st = Stats.Of(s.Value); return $"{s.Key} {st.P50:F1}/{st.P99:F1}"; }));
    if (waitForProcessing) await committed.WaitFor(target, TimeSpan.FromMinutes(2));
    return (pushes, rate, Stats.Of(ack), Stats.Of(committed.EnqueueSamples));
}

static async Task<(int Lost, int Doubled)> Verify(BenchApp app, string tenant, int[] perProfile)
{
    var identities = app.Services.GetRequiredService<IdentityStore>();
    var profiles = app.Services.GetRequiredService<ProfileStore>();
    int lost = 0, doubled = 0;
    await Parallel.ForEachAsync(Enumerable.Range(0, perProfile.Length), new ParallelOptions { MaxDegreeOfParallelism = 32 }, async (p, ct) =>
    {
        var id = await identities.LookupAsync(tenant, $"userId:u{p}", ct);
        var count = id is null ? 0 : (await profiles.ReadAsync(tenant, id, ct))?.State.EventCount ?? 0;
        var expected = 1 + perProfile[p];
        if (count < expected) Interlocked.Increment(ref lost);
        if (count > expected) Interlocked.Increment(ref doubled);
    });
    return (lost, doubled);
}

static string FindRoot()
{
    for (var dir = new DirectoryInfo(Directory.GetCurrentDirectory()); dir is not null; dir = dir.Parent)
        if (File.Exists(Path.Combine(dir.FullName, "Serverless.sln"))) return dir.FullName;
    throw new InvalidOperationException("run from inside the repository");
}

namespace Siyu.Bench
{
    public sealed record Args(int Profiles, int Events, int PushRate, int PushSeconds, int AcceptSeconds, int RawSeconds, string? Out,
        string Suite, int Consents, int LatencyProfiles, int LatencyRate, int LatencySeconds, int TagProfiles, int SweepParallelism, string Phases, string Seed,
        int DelaySeconds, int TimeoutSeconds, int EnterConcurrency, string EnterBy, bool Dedupes, int People, int KillTrials, int Erasures, string Provider)
    {
        public static Args Parse(string[] args)
        {
            string? Get(string name) { var i = Array.IndexOf(args, name); return i >= 0 && i + 1 < args.Length ? args[i + 1] : null; }
            int Int(string name, int fallback) => Get(name) is { } v ? int.Parse(v) : fallback;
            var suite = Get("--suite") ?? "ingestion";
            // The audience, journey and campaign suites work on a realistic tenant: 100,000 profiles unless told otherwise.
            return new Args(Int("--profiles", suite is "audience" or "journeys" or "campaigns" ? 100_000 : 10_000), Int("--events", 100_000), Int("--push-rate", 200), Int("--push-seconds", 20),
                Int("--accept-seconds", 5), Int("--raw-seconds", 5), Get("--out"), suite, Int("--consents", 50_000),
                Int("--latency-profiles", 2_000), Int("--latency-rate", 100), Int("--latency-seconds", 20), Int("--tag-profiles", 10_000),
                Int("--sweep-parallelism", 8), Get("--phases") ?? "1,2,3", Get("--seed") ?? (suite == "journeys" ? "direct" : "ingest"),
                Int("--delay-seconds", 0), Int("--timeout-seconds", 0), Int("--enter-concurrency", 4), Get("--enter-by") ?? "profileId",
                bool.Parse(Get("--dedupes") ?? "false"),
                Int("--people", suite == "kill" ? 2000 : 1000), Int("--kill-trials", 10), Int("--erasures", 20),
                Get("--provider") ?? "generic");
        }

        public bool Runs(int phase) => Phases.Split(',').Contains(phase.ToString());

        /// <summary>Every option, each followed by its value (the serve-app child also takes --connection, --prefix, --operator, --set).</summary>
        private static readonly string[] Options =
        [
            "--suite", "--profiles", "--events", "--push-rate", "--push-seconds", "--accept-seconds", "--raw-seconds", "--out", "--consents",
            "--latency-profiles", "--latency-rate", "--latency-seconds", "--tag-profiles", "--sweep-parallelism", "--phases", "--seed",
            "--delay-seconds", "--timeout-seconds", "--enter-concurrency", "--enter-by", "--dedupes", "--provider", "--kill-trials", "--erasures", "--people", "--connection", "--prefix", "--operator", "--set",
        ];

        /// <summary>The first argument that is not a known option or its value; a typo must not start a long run with defaults.</summary>
        public static string? Unknown(string[] args)
        {
            for (var i = 0; i < args.Length; i++)
            {
                if (!Options.Contains(args[i])) return args[i];
                i++; // its value
            }
            return null;
        }

        public const string Usage = """
            Benchmarks, each against an in-memory Azurite whose raw ceilings are measured in the same run:
              dotnet run -c Release --project infra/bench/Siyu.Bench -- [options]
              (ingestion)  [--profiles 10000] [--events 100000] [--push-rate 200] [--push-seconds 20] [--accept-seconds 5] [--raw-seconds 5]
              --suite consent    [--profiles 10000] [--consents 50000]
              --suite audience   [--profiles 100000] [--latency-profiles 2000] [--latency-rate 100] [--latency-seconds 20]
                                 [--tag-profiles 10000] [--sweep-parallelism 8] [--seed ingest|direct] [--phases 1,2,3]
              --suite journeys   [--profiles 100000] [--delay-seconds auto] [--timeout-seconds auto] [--enter-concurrency 4]
                                 [--enter-by profileId|identity] [--seed direct|ingest] [--phases 1]
              --suite campaigns  [--profiles 100000] [--raw-seconds 5] [--dedupes false|true] [--provider generic|aliyun]
              --suite kill       [--people 2000] [--kill-trials 10] [--erasures 20] [--raw-seconds 5]
              --suite per-person [--people 1000] [--delay-seconds 2] [--timeout-seconds 3] [--raw-seconds 5]
              every suite: [--out report.md]
            """;
    }

    public sealed record Stats(double P50, double P99, double Max, int Count)
    {
        public static Stats Of(IEnumerable<double> samples)
        {
            var sorted = samples.OrderBy(x => x).ToArray();
            double At(double q) => sorted.Length == 0 ? double.NaN : sorted[Math.Min(sorted.Length - 1, (int)Math.Ceiling(q * sorted.Length) - 1)];
            return new Stats(At(0.50), At(0.99), sorted.LastOrDefault(), sorted.Length);
        }

        public override string ToString() => $"p50 {P50:F1} ms, p99 {P99:F1} ms, max {Max:F1} ms (n={Count})";
    }

    /// <summary>Counts events committed to profiles, from the app's own metric.</summary>
    public sealed class CommitCounter
    {
        private long _value;
        private long _duplicates;
        /// <summary>Events processed again and found already stored: redelivered messages. Should stay near zero.</summary>
        public long Duplicates => Interlocked.Read(ref _duplicates);
        private readonly MeterListener _listener = new();

        public CommitCounter()
        {
            _listener.InstrumentPublished = (instrument, l) =>
            {
                if (instrument.Meter.Name == IngestMetrics.MeterName) l.EnableMeasurementEvents(instrument);
            };
            _listener.SetMeasurementEventCallback<double>((instrument, value, _, _) =>
            {
                if (instrument.Name == "siyu.ingest.enqueue_ms" && Recording) EnqueueSamples.Add(value);
            });
            _listener.SetMeasurementEventCallback<long>((instrument, value, _, _) =>
            {
                if (instrument.Name == "siyu.ingest.events_committed") Interlocked.Add(ref _value, value);
                else if (instrument.Name == "siyu.ingest.events_duplicate") Interlocked.Add(ref _duplicates, value);
            });
            _listener.Start();
        }

        public long Value => Interlocked.Read(ref _value);

        /// <summary>Queue put latencies seen inside the app while <see cref="Recording"/>.</summary>
        public ConcurrentBag<double> EnqueueSamples { get; private set; } = new();
        public bool Recording { get; set; }

        public async Task WaitFor(long target, TimeSpan timeout)
        {
            var deadline = Stopwatch.StartNew();
            while (Value < target)
            {
                if (deadline.Elapsed > timeout) throw new TimeoutException($"committed {Value} of {target}");
                await Task.Delay(20);
            }
        }
    }

    public sealed record Tenant(string Id, HttpClient Ingest, HttpClient Admin, HttpClient Anonymous)
    {
        public static async Task<Tenant> CreateAsync(HttpClient shared, Uri baseAddress, string operatorKey, string id)
        {
            HttpClient With(string? key)
            {
                var c = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = 256 }) { BaseAddress = baseAddress, Timeout = TimeSpan.FromMinutes(2) };
                if (key is not null) c.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
                return c;
            }
            var op = With(operatorKey);
            (await op.PostAsJsonAsync("/api/operator/tenants", new { id })).EnsureSuccessStatusCode();
            async Task<string> Key(string role) =>
                (await (await op.PostAsJsonAsync($"/api/operator/tenants/{id}/keys", new { role })).Content.ReadFromJsonAsync<JsonElement>()).GetProperty("key").GetString()!;
            return new Tenant(id, With(await Key("ingest")), With(await Key("admin")), With(null));
        }
    }

    public static class Events
    {
        public static object Track(string messageId, string userId) => new
        {
            type = "track", messageId, @event = "page_view", identities = new { userId },
            properties = new { page = "/product/" + messageId.GetHashCode() % 500, source = "mini-program" },
        };

        public static object Identify(string messageId, string userId, int n) => new
        {
            type = "identify", messageId, identities = new { userId }, traits = new { name = $"会员{n}", level = n % 3 == 0 ? "gold" : "silver", city = "上海" },
        };
    }

    /// <summary>Safe-mode pushes built as WeChat builds them (AES + msg_signature).</summary>
    public sealed class WeChatBench(string tenant, string appId, string token, string aesKey)
    {
        private readonly WeChatCipher _cipher = new(aesKey);

        public static async Task<WeChatBench> RegisterAsync(HttpClient admin, string mode)
        {
            var appId = "wxbench" + Guid.NewGuid().ToString("N")[..10];
            var token = "benchtoken" + Guid.NewGuid().ToString("N")[..8];
            var key = Convert.ToBase64String(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32)).TrimEnd('=');
            (await admin.PutAsJsonAsync($"/api/wechat-apps/{appId}", new { kind = "officialAccount", token, encodingAesKey = key, messageMode = mode })).EnsureSuccessStatusCode();
            var me = await admin.GetFromJsonAsync<JsonElement>($"/api/wechat-apps/{appId}");
            var pushUrl = me.GetProperty("pushUrl").GetString()!;
            return new WeChatBench(pushUrl.Split('/')[3], appId, token, key);
        }

        public (string Url, string Body) Push(int i)
        {
            var ts = DateTimeOffset.UtcNow.ToUnixTimeSeconds().ToString();
            var nonce = i.ToString();
            var inner = $"<xml><ToUserName><![CDATA[gh_bench]]></ToUserName><FromUserName><![CDATA[oBench{i % 2000}]]></FromUserName>" +
                        $"<CreateTime>{ts}</CreateTime><MsgType><![CDATA[text]]></MsgType><Content><![CDATA[你好 {i}]]></Content><MsgId>{9000000000L + i}</MsgId></xml>";
            var encrypt = _cipher.Encrypt(inner, appId);
            var query = $"?signature={WeChatSignature.Compute(token, ts, nonce)}&timestamp={ts}&nonce={nonce}&openid=oBench&encrypt_type=aes" +
                        $"&msg_signature={WeChatSignature.Compute(token, ts, nonce, encrypt)}";
            return ($"/api/wechat/{tenant}/{appId}{query}", $"<xml><ToUserName><![CDATA[gh_bench]]></ToUserName><Encrypt><![CDATA[{encrypt}]]></Encrypt></xml>");
        }
    }
}

/// <summary>The acknowledgement's steps as the app timed them (Server-Timing), per phase, for the report.</summary>
static class AckTimings
{
    public static readonly ConcurrentDictionary<string, string> Steps = new();
}
