using System.Diagnostics;
using System.Net.Http.Json;
using Siyu.Azurite;
using Siyu.Core.Consent;
using Siyu.Core.Profiles;
using Siyu.Storage.Identities;
using Siyu.Storage.Profiles;

namespace Siyu.Bench;

/// <summary>
/// The consent benchmark (<c>--suite consent</c>):
/// <list type="number">
/// <item>consent writes: decisions posted to <c>POST /api/consents</c> in batches of 100, timed from the first post until
/// every decision is in its profile's ledger and projection; then every profile's projection is checked against the
/// decision that occurred last (they are posted newest-first, so arrival order and time order disagree);</item>
/// <item><c>GET /api/profiles/{id}/contact-check</c> over HTTP: one profile read, one decision and one audit entry per call;</item>
/// <item><c>CanContact</c> alone: decisions per second on one core and on all, over the profiles just written.</item>
/// </list>
/// </summary>
public static class ConsentBench
{
    public static async Task<int> RunAsync(Args options, string operatorKey, CommitCounter committed)
    {
        RawAzurite.Ceilings raw;
        await using (var rawAzurite = await AzuriteProcess.StartAsync())
            raw = await RawAzurite.MeasureAsync(rawAzurite.ConnectionString, TimeSpan.FromSeconds(options.RawSeconds));
        Console.WriteLine($"raw Azurite: {raw}");

        await using var azurite = await AzuriteProcess.StartAsync();
        await using var app = await BenchApp.StartAsync(azurite.ConnectionString, "consent", operatorKey, listeners: true);
        var tenant = await Tenant.CreateAsync(new HttpClient(), app.BaseAddress, operatorKey, "bench-consent");

        // The people exist first, as they would: one identify each.
        var warmTarget = committed.Value + options.Profiles;
        await PostAll(tenant.Ingest, "/api/events", "batch", Enumerable.Range(0, options.Profiles).Select(p => Events.Identify($"id-{p}", $"u{p}", p)), 8);
        await committed.WaitFor(warmTarget, TimeSpan.FromMinutes(5));

        // Decisions per person, alternating grant and withdraw an hour apart, posted newest first.
        var perPerson = Math.Max(1, options.Consents / options.Profiles);
        var t0 = DateTimeOffset.UtcNow.AddDays(-1);
        var channels = new[] { "sms", "email", "wechat_oa", "wecom" };
        var decisions = Enumerable.Range(0, perPerson).Reverse()
            .SelectMany(k => Enumerable.Range(0, options.Profiles).Select(p => (object)new
            {
                identities = new { userId = $"u{p}" },
                purpose = "marketing",
                channel = channels[p % channels.Length],
                status = k % 2 == 0 ? "granted" : "withdrawn",
                source = "store_form",
                evidence = "privacy-notice-v3",
                occurredAt = t0.AddHours(k).ToString("O"),
            }))
            .ToList();
        var target = committed.Value + decisions.Count;
        var clock = Stopwatch.StartNew();
        await PostAll(tenant.Ingest, "/api/consents", "consents", decisions, 8);
        var acceptedAfter = clock.Elapsed.TotalSeconds;
        await committed.WaitFor(target, TimeSpan.FromMinutes(10));
        var writesPerSecond = decisions.Count / clock.Elapsed.TotalSeconds;
        Console.WriteLine($"consent writes: {decisions.Count} decisions in {clock.Elapsed.TotalSeconds:F1} s ({writesPerSecond:F0}/s); all accepted after {acceptedAfter:F1} s");

        // Every projection must hold the decision that occurred last, whatever the arrival order.
        var expected = (perPerson - 1) % 2 == 0 ? ConsentStatus.Granted : ConsentStatus.Withdrawn;
        var states = new ProfileState[options.Profiles];
        var identities = app.Services.GetRequiredService<IdentityStore>();
        var profiles = app.Services.GetRequiredService<ProfileStore>();
        var wrong = 0;
        await Parallel.ForEachAsync(Enumerable.Range(0, options.Profiles), new ParallelOptions { MaxDegreeOfParallelism = 32 }, async (p, ct) =>
        {
            var id = await identities.LookupAsync(tenant.Id, $"userId:u{p}", ct);
            var state = id is null ? null : (await profiles.ReadAsync(tenant.Id, id, ct))?.State;
            if (state?.Consent.Governing("marketing", channels[p % channels.Length])?.Status != expected) Interlocked.Increment(ref wrong);
            states[p] = state ?? ProfileState.New("missing", DateTimeOffset.UtcNow);
        });
        Console.WriteLine($"verify: {wrong} of {options.Profiles} projections wrong");

        // contact-check over HTTP: one profile read, one decision.
        var ids = new string[options.Profiles];
        for (var p = 0; p < options.Profiles; p++) ids[p] = states[p].ProfileId;
        var marketer = tenant.Admin;
        var checks = 0;
        var checkClock = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, 32).Select(w => Task.Run(async () =>
        {
            for (var i = w; checkClock.Elapsed.TotalSeconds < options.AcceptSeconds; i += 32)
            {
                using var response = await marketer.GetAsync($"/api/profiles/{ids[i % ids.Length]}/contact-check?purpose=marketing&channel={channels[i % ids.Length % channels.Length]}");
                if (!response.IsSuccessStatusCode) throw new InvalidOperationException($"contact-check: {(int)response.StatusCode}");
                Interlocked.Increment(ref checks);
            }
        })));
        var checksPerSecond = checks / checkClock.Elapsed.TotalSeconds;
        Console.WriteLine($"contact-check over HTTP: {checksPerSecond:F0}/s");

        // CanContact alone, over these people, with preferences that make every check do its time-zone work.
        var preferences = new Preferences
        {
            QuietHours = new QuietHours("22:00", "08:00"), TimeZone = "Asia/Shanghai",
            Caps = new Dictionary<string, ChannelCap> { ["sms"] = new(1, 3) }, Topics = ["new-arrivals"],
        };
        var requests = channels.Select(c => new ContactRequest("marketing", c, Personalised: true, Topic: "new-arrivals")).ToArray();
        var now = DateTimeOffset.UtcNow;
        var history = new ContactHistory(0, 1);
        double Decide(int threads)
        {
            long total = 0;
            var sw = Stopwatch.StartNew();
            Parallel.For(0, threads, new ParallelOptions { MaxDegreeOfParallelism = threads }, t =>
            {
                long n = 0, allowed = 0;
                while (sw.Elapsed.TotalSeconds < 3)
                {
                    for (var i = 0; i < 1000; i++)
                    {
                        var p = (int)((n + i) % states.Length);
                        if (ContactPolicy.CanContact(states[p].Consent, preferences, requests[p % requests.Length], now.AddMinutes(i), history).Allowed) allowed++;
                    }
                    n += 1000;
                }
                Interlocked.Add(ref total, n + (allowed < 0 ? 1 : 0));
            });
            return total / sw.Elapsed.TotalSeconds;
        }
        Decide(1); // warm up the JIT
        var oneCore = Decide(1);
        var allCores = Decide(Environment.ProcessorCount);
        Console.WriteLine($"CanContact: {oneCore:F0}/s on one core, {allCores:F0}/s on {Environment.ProcessorCount}");

        var report = new List<string>
        {
            $"Run {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC on {Environment.ProcessorCount} cores; Azurite in memory; app on Kestrel over loopback HTTP; " +
            $"{options.Profiles:N0} profiles, {perPerson} decisions each, posted newest first.",
            "",
            "| Measure | Result | Raw Azurite in the same run | Ratio |",
            "|---|---|---|---|",
            $"| Consent writes, `POST /api/consents` × 100 → in ledger and projection | {writesPerSecond:N0} decisions/s | {raw.SingleUpsertsPerSecond:N0} single upserts/s | {writesPerSecond / raw.SingleUpsertsPerSecond:F2}× |",
            $"| Projections right after out-of-order arrival | {options.Profiles - wrong:N0} of {options.Profiles:N0} | | |",
            $"| `GET …/contact-check` over HTTP (profile read, decision, audit entry), 32 clients | {checksPerSecond:N0}/s | {raw.PointReadsPerSecond:N0} point reads/s, {raw.SingleUpsertsPerSecond:N0} single upserts/s | {checksPerSecond / raw.PointReadsPerSecond:F2}× / {checksPerSecond / raw.SingleUpsertsPerSecond:F2}× |",
            $"| `CanContact` decisions, in process | {oneCore:N0}/s on one core, {allCores:N0}/s on {Environment.ProcessorCount} | — | — |",
        };
        var text = string.Join(Environment.NewLine, report);
        Console.WriteLine();
        Console.WriteLine(text);
        if (options.Out is not null) await File.WriteAllTextAsync(options.Out, text + Environment.NewLine);
        return wrong == 0 ? 0 : 1;
    }

    /// <summary>Posts items in batches of 100 (<c>{field: [...]}</c>) from <paramref name="concurrency"/> clients; any answer but 202 stops the run.</summary>
    public static async Task PostAll(HttpClient client, string path, string field, IEnumerable<object> items, int concurrency)
    {
        var batches = items.Chunk(100).ToList();
        var next = -1;
        await Task.WhenAll(Enumerable.Range(0, concurrency).Select(_ => Task.Run(async () =>
        {
            int i;
            while ((i = Interlocked.Increment(ref next)) < batches.Count)
            {
                var body = new Dictionary<string, object> { [field] = batches[i] };
                using var response = await client.PostAsJsonAsync(path, body);
                if ((int)response.StatusCode != 202) throw new InvalidOperationException($"{path}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
            }
        })));
    }
}
