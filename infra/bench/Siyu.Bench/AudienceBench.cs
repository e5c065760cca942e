using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;
using Azure.Data.Tables;
using Siyu.Azurite;
using Siyu.Core.Events;
using Siyu.Core.Profiles;
using Siyu.Core.Storage;
using Siyu.Functions.Hosting;
using Siyu.Functions.Segments;
using Siyu.Storage.Account;
using Siyu.Storage.Audience;
using Siyu.Storage.Identities;
using Siyu.Storage.Privacy;
using Siyu.Storage.Profiles;
using Siyu.Storage.Queues;
using Siyu.Storage.Segments;
using Siyu.Storage.Tables;

namespace Siyu.Bench;

/// <summary>
/// The audience benchmark (<c>--suite audience</c>), each phase on a fresh Azurite beside ceilings measured in the same run:
/// <list type="number">
/// <item>real-time membership: people post a purchase at a steady rate and enter a segment; the time from the
/// event's 202 to the profile row holding the membership, and to the members index listing them;</item>
/// <item>the sweep over a tenant of 100,000 profiles with time-based segments: once as a backfill (segments just
/// defined, everyone evaluated and written who enters), once in steady state (nothing changes), beside a raw scan of
/// the same partitions with the same query;</item>
/// <item>bulk tagging of 10,000 existing profiles through <c>POST /api/tags/{name}/bulk</c>, timed to "done", then
/// every profile checked.</item>
/// </list>
/// </summary>
public static class AudienceBench
{
    private const string EnteredSegment = "buyers";
    private const string BulkTag = "loyal";
    /// <summary>Every this many people of phase 1 are also polled, to check the storage timestamps against what a reader sees.</summary>
    private const int CrossCheckEvery = 25;

    private static readonly (string Id, string Name, string Rule)[] LiveSegments =
    [
        ("shanghai", "上海会员", """{"attribute":"city","op":"eq","value":"上海"}"""),
        (EnteredSegment, "30天内购买", """{"event":"purchase","atLeast":1,"withinDays":30}"""),
        ("sh-repeat", "上海复购", """{"and":[{"attribute":"city","op":"eq","value":"上海"},{"event":"purchase","atLeast":2,"withinDays":30}]}"""),
        ("vip", "VIP", """{"tag":"vip"}"""),
        ("gold-not-buying", "金卡未购", """{"and":[{"not":{"event":"purchase","atLeast":1,"withinDays":30}},{"or":[{"tag":"vip"},{"attribute":"level","op":"eq","value":"gold"}]}]}"""),
        ("dormant", "7天未访问", """{"event":"visit","atMost":0,"withinDays":7}"""),
    ];

    private static readonly (string Id, string Name, string Rule)[] SweepSegments =
    [
        ("sh-repeat", "上海复购", """{"and":[{"attribute":"city","op":"eq","value":"上海"},{"event":"purchase","atLeast":2,"withinDays":30}]}"""),
        ("lapsed", "流失买家", """{"and":[{"event":"purchase","atLeast":1,"withinDays":180},{"not":{"event":"purchase","atLeast":1,"withinDays":30}}]}"""),
        ("no-visit-7d", "7天未访问", """{"event":"visit","atMost":0,"withinDays":7}"""),
        ("gold-or-vip", "金卡或VIP", """{"or":[{"tag":"vip"},{"attribute":"level","op":"eq","value":"gold"}]}"""),
        ("recent-buyers", "7天内购买", """{"event":"purchase","atLeast":1,"withinDays":7}"""),
    ];

    public sealed record LiveResult(int People, double Rate, int Missed, Stats Post, Stats OnProfile, Stats InIndex, Stats RawCommit, Stats RawIndex,
        int Checked, int Consistent, Stats Polled);

    public sealed record SweepRun(int Evaluated, int Changed, int IndexRepaired, double Seconds)
    {
        public double PerSecond => Evaluated / Seconds;
    }

    public sealed record SweepResult(int Profiles, int Events, bool SeededDirectly, double SeedSeconds, long Redelivered, double ScanBefore, double Rewrite, double ScanAfter,
        SweepRun Backfill, SweepRun Steady,
        List<(string Id, long Size, long Expected)> Sizes);

    public sealed record TagResult(string? Skipped, int Total, double Seconds, int Verified, int SampleOk, int Sample, long SegmentSize, string Job);

    public static async Task<int> RunAsync(Args options, string operatorKey, CommitCounter committed)
    {
        RawAzurite.Ceilings raw;
        await using (var rawAzurite = await AzuriteProcess.StartAsync())
            raw = await RawAzurite.MeasureAsync(rawAzurite.ConnectionString, TimeSpan.FromSeconds(options.RawSeconds));
        Console.WriteLine($"raw Azurite: {raw}");

        var live = options.Runs(1) ? await LiveAsync(options, operatorKey, committed) : null;
        var sweep = options.Runs(2) ? await SweepAsync(options, operatorKey, committed, raw) : null;
        var tags = options.Runs(3) ? await TagAsync(options, operatorKey, committed) : null;
        var peakMb = Process.GetCurrentProcess().PeakWorkingSet64 / 1024.0 / 1024.0;

        var report = new List<string>
        {
            $"Run {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC on {Environment.ProcessorCount} cores; Azurite in memory; app on Kestrel over loopback HTTP, listeners in this process; " +
            "each phase on a fresh Azurite.",
            "",
            "| Measure | Result | Raw Azurite in the same run | Ratio |",
            "|---|---|---|---|",
        };
        if (live is not null)
        {
            report.Add($"| Real-time membership: `POST /api/events` (one purchase, 202) → on the profile row, {live.People:N0} people at {live.Rate:F0}/s, " +
                $"{options.LatencyProfiles:N0} profiles, {LiveSegments.Length} segments | p50 {live.OnProfile.P50:F0} ms, p99 {live.OnProfile.P99:F0} ms, max {live.OnProfile.Max:F0} ms " +
                $"(n={live.OnProfile.Count}, {live.Missed} not in the segment) | raw chain (queue put → receive → read → transaction) p50 {live.RawCommit.P50:F1} ms, p99 {live.RawCommit.P99:F1} ms | {live.OnProfile.P50 / live.RawCommit.P50:F0}× (p50) |");
            report.Add($"| … → listed by the members index (`GET /api/segments/{{id}}/members`) | p50 {live.InIndex.P50:F0} ms, p99 {live.InIndex.P99:F0} ms, max {live.InIndex.Max:F0} ms (n={live.InIndex.Count}) " +
                $"| raw chain + index upsert p50 {live.RawIndex.P50:F1} ms, p99 {live.RawIndex.P99:F1} ms | {live.InIndex.P50 / live.RawIndex.P50:F0}× (p50) |");
            report.Add($"| The event's own `POST` (202) during that | p50 {live.Post.P50:F1} ms, p99 {live.Post.P99:F1} ms | | |");
        }
        if (sweep is not null)
        {
            report.Add($"| Seeding the sweep tenant: {sweep.Profiles:N0} new profiles, {sweep.Events:N0} events " +
                (sweep.SeededDirectly ? "written directly (folded in process, profile and event rows in transactions, identity claims; no ingestion)" : "via `POST /api/events` × 100, listeners on") + " | " +
                $"{sweep.Profiles / sweep.SeedSeconds:N0} profiles/s ({sweep.Events / sweep.SeedSeconds:N0} events/s, {sweep.SeedSeconds:F0} s) | " +
                (sweep.SeededDirectly
                    ? $"batch writes {raw.BatchedEntitiesPerSecond:N0} entities/s | {(sweep.Profiles + sweep.Events) / sweep.SeedSeconds / raw.BatchedEntitiesPerSecond:F2}× (rows) |"
                    : $"{raw.SingleUpsertsPerSecond:N0} single upserts/s | {sweep.Profiles / sweep.SeedSeconds / raw.SingleUpsertsPerSecond:F2}× |"));
            if (!sweep.SeededDirectly && sweep.Redelivered > 0)
                report.Add($"| Events redelivered during seeding and found already stored | {sweep.Redelivered:N0} | | |");
            report.Add($"| Sweep, backfill (5 segments just defined), 32 partitions, {options.SweepParallelism} at a time | {sweep.Backfill.PerSecond:N0} profiles/s evaluated " +
                $"({sweep.Backfill.Evaluated:N0} in {sweep.Backfill.Seconds:F1} s; {sweep.Backfill.Changed:N0} written, {sweep.Backfill.IndexRepaired:N0} index rows \"repaired\") " +
                $"| read and rewrite of the same rows {sweep.Rewrite:N0} rows/s; scan {sweep.ScanBefore:N0} rows/s (same query) | {sweep.Backfill.PerSecond / sweep.Rewrite:F2}× / {sweep.Backfill.PerSecond / sweep.ScanBefore:F2}× |");
            report.Add($"| Sweep, steady state (nothing to change) | {sweep.Steady.PerSecond:N0} profiles/s evaluated ({sweep.Steady.Evaluated:N0} in {sweep.Steady.Seconds:F1} s; " +
                $"{sweep.Steady.Changed:N0} written, {sweep.Steady.IndexRepaired:N0} repaired) | scan of the same rows {sweep.ScanAfter:N0} rows/s | {sweep.Steady.PerSecond / sweep.ScanAfter:F2}× |");
            report.Add($"| Segment sizes after the backfill (`GET /api/segments/{{id}}`) vs expected | " +
                string.Join(", ", sweep.Sizes.Select(s => $"{s.Id} {s.Size:N0}{(s.Size == s.Expected ? "" : $" (expected {s.Expected:N0})")}")) + " | | |");
        }
        if (tags is not null)
        {
            report.Add(tags.Skipped is not null
                ? $"| Bulk tagging, `POST /api/tags/{{name}}/bulk` × {options.TagProfiles:N0} | skipped: {tags.Skipped} | | |"
                : $"| Bulk tagging {tags.Total:N0} existing profiles, `POST /api/tags/{{name}}/bulk` → job \"done\" | {tags.Seconds:F1} s, {tags.Total / tags.Seconds:N0} profiles/s " +
                  $"| {raw.SingleUpsertsPerSecond:N0} single upserts/s; batch writes {raw.BatchedEntitiesPerSecond:N0} entities/s | {tags.Total / tags.Seconds / raw.SingleUpsertsPerSecond:F2}× |");
            if (tags.Skipped is null)
                report.Add($"| Tag present afterwards | {tags.Verified:N0} of {tags.Total:N0} profile rows; {tags.SampleOk} of {tags.Sample} by `GET /api/profiles/{{id}}`; " +
                    $"segment `{{\"tag\":\"{BulkTag}\"}}` size {tags.SegmentSize:N0} | | |");
        }
        report.Add($"| Peak working set (app + load generator) | {peakMb:N0} MiB | | |");
        report.Add("");
        report.Add($"Raw Azurite ceilings: single upsert {raw.SingleUpsertsPerSecond:N0}/s (32 in flight), batch transaction of 100 {raw.BatchTransactionsPerSecond:N0}/s = " +
            $"{raw.BatchedEntitiesPerSecond:N0} entities/s (8 in flight), queue put {raw.QueuePutsPerSecond:N0}/s, point read {raw.PointReadsPerSecond:N0}/s (32 in flight).");
        if (live is not null)
            report.Add($"Membership times are the storage timestamps of the profile row and of the index row against the client's clock at the 202 (same machine); " +
                $"{live.Consistent} of {live.Checked} people also polled every 5 ms were first seen within their stamped window (polled p50 {live.Polled.P50:F0} ms).");
        if (sweep is not null && sweep.Backfill.IndexRepaired > 0 && sweep.Backfill.IndexRepaired == sweep.Sizes.Sum(x => x.Size))
            report.Add($"The backfill's {sweep.Backfill.IndexRepaired:N0} \"repaired\" index rows are exactly its new memberships: the sweep compares with the index as read " +
                "before its own writes, so each new member's index row is written twice and counted as a repair.");
        if (tags?.Job is { Length: > 0 } job) report.Add($"Final job status: `{job}`");

        var text = string.Join(Environment.NewLine, report);
        Console.WriteLine();
        Console.WriteLine(text);
        if (options.Out is not null) await File.WriteAllTextAsync(options.Out, text + Environment.NewLine);
        var wrong = (live?.Missed ?? 0) + (sweep?.Sizes.Count(s => s.Size != s.Expected) ?? 0) + (sweep?.Steady.Changed ?? 0)
                    + (tags is { Skipped: null } t ? t.Total - t.Verified + t.Sample - t.SampleOk : 0);
        return wrong == 0 ? 0 : 1;
    }

    // ---- 1. real-time membership ----------------------------------------------------------------------------------

    /// <summary>
    /// How "member" is detected: polling every pending person's profile fast enough to time it to a few ms would
    /// itself load Azurite (thousands of reads a second at this rate), and the load would slow what it measures. So
    /// after the run each profile row and index row is read once, and its storage timestamp (set by Azurite when the
    /// transaction committed, on this machine's clock) is compared with the client's clock when the 202 arrived.
    /// Each person gets exactly one event, so the row was last written by that event's commit; a sample of people is
    /// also polled to check that timestamps match what a reader sees.
    /// </summary>
    private static async Task<LiveResult> LiveAsync(Args o, string operatorKey, CommitCounter committed)
    {
        (Stats Commit, Stats Index) chain;
        await using (var chainAzurite = await AzuriteProcess.StartAsync())
            chain = await RawChainAsync(chainAzurite.ConnectionString, o.LatencyRate, TimeSpan.FromSeconds(o.RawSeconds));
        Console.WriteLine($"raw chain at {o.LatencyRate}/s: to the transaction {chain.Commit}; with the index row {chain.Index}");

        await using var azurite = await AzuriteProcess.StartAsync();
        await using var app = await BenchApp.StartAsync(azurite.ConnectionString, "live", operatorKey, listeners: true);
        var tenant = await Tenant.CreateAsync(new HttpClient(), app.BaseAddress, operatorKey, "bench-live");
        using var marketer = await KeyedClientAsync(app.BaseAddress, operatorKey, tenant.Id, "marketer");
        await DefineAsync(marketer, ["vip"], LiveSegments);

        // The people exist first (one identify each); nobody has bought.
        var seedAt = DateTimeOffset.UtcNow;
        var target = committed.Value + o.LatencyProfiles;
        await ConsentBench.PostAll(tenant.Ingest, "/api/events", "batch", Enumerable.Range(0, o.LatencyProfiles).Select(p => Identify(p, seedAt)), 8);
        await committed.WaitFor(target, TimeSpan.FromMinutes(5));
        await SettleAsync(app);
        var ids = await ProfileIdsAsync(app, tenant.Id, o.LatencyProfiles);

        var people = Math.Min(o.LatencyRate * o.LatencySeconds, o.LatencyProfiles);
        if (people < o.LatencyRate * o.LatencySeconds) Console.WriteLine($"  only {people} people exist: measuring {people} events, each a different person");
        var profiles = app.Services.GetRequiredService<ProfileStore>();
        var accepted = new DateTimeOffset[people];
        var post = new ConcurrentBag<double>();
        var polled = new ConcurrentBag<(int Person, DateTimeOffset NotYet, DateTimeOffset Seen)>();
        target = committed.Value + people;
        var clock = Stopwatch.StartNew();
        var inflight = new List<Task>(people);
        for (var i = 0; i < people; i++)
        {
            // Open loop: each event leaves at its own time, whether or not earlier ones have been answered.
            var wait = TimeSpan.FromSeconds((double)i / o.LatencyRate) - clock.Elapsed;
            if (wait > TimeSpan.Zero) await Task.Delay(wait);
            var person = i;
            inflight.Add(Task.Run(async () =>
            {
                var started = Stopwatch.GetTimestamp();
                using var response = await tenant.Ingest.PostAsJsonAsync("/api/events",
                    new { batch = new[] { Track($"live-{person}", person, "purchase", DateTimeOffset.UtcNow) } });
                accepted[person] = DateTimeOffset.UtcNow;
                if ((int)response.StatusCode != 202) throw new InvalidOperationException($"event: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
                post.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
                if (person % CrossCheckEvery != 0) return;
                var notYet = accepted[person];
                while ((DateTimeOffset.UtcNow - accepted[person]).TotalSeconds < 60)
                {
                    var asked = DateTimeOffset.UtcNow;
                    if ((await profiles.ReadAsync(tenant.Id, ids[person]))?.State.Segments.ContainsKey(EnteredSegment) == true)
                    {
                        polled.Add((person, notYet, DateTimeOffset.UtcNow));
                        return;
                    }
                    notYet = asked;
                    await Task.Delay(5);
                }
            }));
        }
        await Task.WhenAll(inflight);
        var rate = people / clock.Elapsed.TotalSeconds;
        await committed.WaitFor(target, TimeSpan.FromMinutes(2));
        await SettleAsync(app);

        var members = app.Services.GetRequiredService<MembershipStore>();
        var onProfile = new ConcurrentBag<double>();
        var inIndex = new ConcurrentBag<double>();
        var stamped = new DateTimeOffset[people];
        var missed = 0;
        await Parallel.ForEachAsync(Enumerable.Range(0, people), new ParallelOptions { MaxDegreeOfParallelism = 32 }, async (p, ct) =>
        {
            var id = ids[p];
            var row = await profiles.Table.GetEntityIfExistsAsync<TableEntity>(ProfileStore.Partition(tenant.Id, id), id, cancellationToken: ct);
            var state = row.HasValue ? ProfileStore.FromEntity(row.Value!) : null;
            // Two events (identify, purchase): the row's timestamp is the purchase's commit.
            if (state is null || !state.Segments.ContainsKey(EnteredSegment) || state.EventCount != 2 || row.Value!.Timestamp is not { } committedAt)
            {
                Interlocked.Increment(ref missed);
                return;
            }
            stamped[p] = committedAt;
            onProfile.Add((committedAt - accepted[p]).TotalMilliseconds);
            var index = await members.Table.GetEntityIfExistsAsync<TableEntity>(MembershipStore.Partition(tenant.Id, Ids.ProfileBucket(id)),
                MembershipStore.RowKey(EnteredSegment, id), cancellationToken: ct);
            if (index.HasValue && index.Value!.Timestamp is { } indexedAt) inIndex.Add((indexedAt - accepted[p]).TotalMilliseconds);
        });

        // Timestamps have millisecond precision: allow 2 ms either side of the window the poller saw the change in.
        var slack = TimeSpan.FromMilliseconds(2);
        var consistent = polled.Count(x => stamped[x.Person] != default && stamped[x.Person] >= x.NotYet - slack && stamped[x.Person] <= x.Seen + slack);
        var result = new LiveResult(people, rate, missed, Stats.Of(post), Stats.Of(onProfile), Stats.Of(inIndex), chain.Commit, chain.Index,
            polled.Count, consistent, Stats.Of(polled.Select(x => (x.Seen - accepted[x.Person]).TotalMilliseconds)));
        Console.WriteLine($"membership: {people} purchases at {rate:F0}/s; on the profile {result.OnProfile}; in the index {result.InIndex}; " +
            $"{missed} missing; post {result.Post}; polled sample {result.Polled}, {consistent} of {polled.Count} consistent with the timestamps");
        return result;
    }

    /// <summary>
    /// The least any queue-fed implementation does per event, with raw calls at the same open-loop rate: put a
    /// message, receive it, read the person's row, commit the row with the event row, upsert an index row, delete the
    /// message. Timed from the put's answer (the product's 202) to the commit, and to the index row.
    /// </summary>
    private static async Task<(Stats Commit, Stats Index)> RawChainAsync(string connectionString, int rate, TimeSpan duration)
    {
        var service = new TableServiceClient(connectionString);
        var table = service.GetTableClient("rawchain");
        var index = service.GetTableClient("rawindex");
        await table.CreateIfNotExistsAsync();
        await index.CreateIfNotExistsAsync();
        var queue = new AzureQueueService(StorageAccount.Parse(connectionString)).Queue("rawchain");
        await queue.CreateIfNotExistsAsync();
        var count = (int)(rate * duration.TotalSeconds);
        var doc = new string('x', 1500); // about a profile row's document
        foreach (var chunk in Enumerable.Range(0, count).Chunk(100))
            await table.SubmitTransactionAsync(chunk.Select(i => new TableTransactionAction(TableTransactionActionType.UpsertReplace,
                new TableEntity("p", $"r{i:D6}") { ["Doc"] = doc })));

        var commit = new ConcurrentBag<double>();
        var indexed = new ConcurrentBag<double>();
        var clock = Stopwatch.StartNew();
        var inflight = new List<Task>(count);
        for (var i = 0; i < count; i++)
        {
            var wait = TimeSpan.FromSeconds((double)i / rate) - clock.Elapsed;
            if (wait > TimeSpan.Zero) await Task.Delay(wait);
            var n = i;
            inflight.Add(Task.Run(async () =>
            {
                await queue.SendAsync($"{n}|{Stopwatch.GetTimestamp()}");
                // Whichever message this worker receives is the one it processes and times (every worker puts one, takes one).
                ReceivedMessage message;
                while (true)
                {
                    var got = await queue.ReceiveAsync(1, TimeSpan.FromSeconds(30));
                    if (got.Count > 0) { message = got[0]; break; }
                }
                var parts = message.Text.Split('|');
                var key = $"r{int.Parse(parts[0]):D6}";
                var sent = long.Parse(parts[1]);
                var row = await table.GetEntityAsync<TableEntity>("p", key);
                await table.SubmitTransactionAsync([
                    new TableTransactionAction(TableTransactionActionType.UpdateReplace, new TableEntity("p", key) { ["Doc"] = doc + n }, row.Value.ETag),
                    new TableTransactionAction(TableTransactionActionType.Add, new TableEntity("p", $"{key}~e~{n}") { ["Name"] = "purchase" }),
                ]);
                commit.Add(Stopwatch.GetElapsedTime(sent).TotalMilliseconds);
                await index.UpsertEntityAsync(new TableEntity("p", $"buyers~{key}") { ["EnteredAt"] = DateTimeOffset.UtcNow });
                indexed.Add(Stopwatch.GetElapsedTime(sent).TotalMilliseconds);
                await queue.DeleteAsync(message.MessageId, message.PopReceipt);
            }));
        }
        await Task.WhenAll(inflight);
        await queue.DeleteIfExistsAsync();
        return (Stats.Of(commit), Stats.Of(indexed));
    }

    // ---- 2. the sweep ---------------------------------------------------------------------------------------------

    private static async Task<SweepResult> SweepAsync(Args o, string operatorKey, CommitCounter committed, RawAzurite.Ceilings raw)
    {
        await using var azurite = await AzuriteProcess.StartAsync();
        const string tenantId = "bench-sweep";
        var seedAt = DateTimeOffset.UtcNow;
        var events = Enumerable.Range(0, o.Profiles).SelectMany(p => SeedEvents(p, seedAt)).ToList();
        var direct = o.Seed == "direct";
        var redeliveredBefore = committed.Duplicates;
        double seedSeconds = 0;
        // Seeded through ingestion with listeners on; the sweeps then run on an app without listeners, so the sweep
        // that defining a segment queues never runs beside the timed ones.
        if (!direct)
        {
            await using var seeding = await BenchApp.StartAsync(azurite.ConnectionString, "sweep", operatorKey, listeners: true);
            var tenant = await Tenant.CreateAsync(new HttpClient(), seeding.BaseAddress, operatorKey, tenantId);
            var target = committed.Value + events.Count;
            var clock = Stopwatch.StartNew();
            var progress = Task.Run(async () =>
            {
                while (committed.Value < target && clock.Elapsed < TimeSpan.FromMinutes(15))
                {
                    await Task.Delay(TimeSpan.FromSeconds(15));
                    Console.WriteLine($"  seeding: {committed.Value - (target - events.Count):N0} of {events.Count:N0} events committed after {clock.Elapsed.TotalSeconds:F0} s");
                }
            });
            await ConsentBench.PostAll(tenant.Ingest, "/api/events", "batch", events, 8);
            await committed.WaitFor(target, TimeSpan.FromMinutes(15));
            seedSeconds = clock.Elapsed.TotalSeconds;
            await progress;
            await SettleAsync(seeding);
        }

        await using var app = await BenchApp.StartAsync(azurite.ConnectionString, "sweep", operatorKey, listeners: false);
        if (direct)
        {
            await Tenant.CreateAsync(new HttpClient(), app.BaseAddress, operatorKey, tenantId);
            var clock = Stopwatch.StartNew();
            await SeedDirectAsync(app, tenantId, events);
            seedSeconds = clock.Elapsed.TotalSeconds;
        }
        Console.WriteLine($"seeding ({o.Seed}): {o.Profiles:N0} profiles, {events.Count:N0} events in {seedSeconds:F1} s ({o.Profiles / seedSeconds:F0} profiles/s)");

        using var marketer = await KeyedClientAsync(app.BaseAddress, operatorKey, tenantId, "marketer");
        await DefineAsync(marketer, ["vip"], SweepSegments);

        // The ceilings, on the same rows just before each sweep: reading them with the sweep's query, nothing done with
        // them; and for the backfill, reading them and writing each back unchanged under its ETag, 100 per transaction.
        var table = app.Services.GetRequiredService<ProfileStore>().Table;
        var scanBefore = await ScanAsync(table, tenantId, o.SweepParallelism, rewrite: false);
        var rewrite = await ScanAsync(table, tenantId, o.SweepParallelism, rewrite: true, TimeSpan.FromSeconds(2 * o.RawSeconds));
        var sweep = app.Services.GetRequiredService<AudienceSweep>();
        var backfill = await SweepAllAsync(sweep, tenantId, o.SweepParallelism);
        Console.WriteLine($"sweep (backfill): {backfill}");
        var scanAfter = await ScanAsync(table, tenantId, o.SweepParallelism, rewrite: false);
        var steady = await SweepAllAsync(sweep, tenantId, o.SweepParallelism);
        Console.WriteLine($"sweep (steady): {steady}");

        var today = ActivityWindow.Day(DateTimeOffset.UtcNow);
        var sizes = new List<(string, long, long)>();
        foreach (var (id, _, _) in SweepSegments)
        {
            var size = (await marketer.GetFromJsonAsync<JsonElement>($"/api/segments/{id}")).GetProperty("size").GetInt64();
            var expected = Enumerable.Range(0, o.Profiles).LongCount(p => Expected(id, p, today - ActivityWindow.Day(seedAt)));
            sizes.Add((id, size, expected));
        }
        Console.WriteLine("segment sizes: " + string.Join(", ", sizes.Select(s => $"{s.Item1} {s.Item2} (expected {s.Item3})")));
        return new SweepResult(o.Profiles, events.Count, direct, seedSeconds, committed.Duplicates - redeliveredBefore, scanBefore, rewrite, scanAfter, backfill, steady, sizes);
    }

    /// <summary>
    /// The same people without ingestion (<c>--seed direct</c>): each person's events validated as the API validates
    /// them, folded by <see cref="ProfileFold"/> and refreshed as ingestion refreshes them, then written with their
    /// event rows, many profiles of a partition per transaction, and their identity claimed. Answers each person's
    /// profile id by their primary identity key. Also used by the journey benchmark, and by the campaign benchmark, which
    /// sets each person's consent through <paramref name="shape"/> before the row is written.
    /// </summary>
    internal static async Task<Dictionary<string, string>> SeedDirectAsync(BenchApp app, string tenantId, List<object> events,
        Action<string, ProfileState>? shape = null)
    {
        var validator = new EventValidator(TimeSpan.FromMinutes(5));
        var definitions = await app.Services.GetRequiredService<DefinitionStore>().GetAsync(tenantId);
        var audience = await app.Services.GetRequiredService<AudienceStore>().GetAsync(tenantId);
        var now = DateTimeOffset.UtcNow;
        var people = new List<(string Partition, List<TableTransactionAction> Rows)>();
        var claims = new List<(string IdentityKey, string ProfileId)>();
        var incoming = events.Select((e, i) =>
        {
            using var json = JsonDocument.Parse(JsonSerializer.Serialize(e, JsonSerializerOptions.Web));
            return validator.TryValidate(json.RootElement, i, now, out var evt, out var error) ? evt! : throw new InvalidOperationException(error!.Message);
        });
        foreach (var person in incoming.GroupBy(e => e.PrimaryIdentity.Key))
        {
            var state = ProfileState.New(Ids.NewProfileId(), now);
            var list = person.ToList();
            foreach (var e in list) ProfileFold.Apply(state, e, definitions);
            audience.Refresh(state, list, definitions, now);
            shape?.Invoke(person.Key, state);
            var rows = list.Select(e => new TableTransactionAction(TableTransactionActionType.Add, ProfileStore.ToEventEntity(tenantId, state.ProfileId, definitions.ForHistory(e))))
                .Prepend(new TableTransactionAction(TableTransactionActionType.Add, ProfileStore.ToEntity(tenantId, state))).ToList();
            people.Add((ProfileStore.Partition(tenantId, state.ProfileId), rows));
            claims.Add((person.Key, state.ProfileId));
        }
        var transactions = people.GroupBy(p => p.Partition).SelectMany(partition =>
        {
            var packed = new List<List<TableTransactionAction>> { new() };
            foreach (var (_, rows) in partition)
            {
                if (packed[^1].Count + rows.Count > 100) packed.Add(new());
                packed[^1].AddRange(rows);
            }
            return packed;
        }).ToList();
        var table = app.Services.GetRequiredService<ProfileStore>().Table;
        await Parallel.ForEachAsync(transactions, new ParallelOptions { MaxDegreeOfParallelism = 8 }, async (tx, ct) => await table.SubmitTransactionAsync(tx, ct));
        await app.Services.GetRequiredService<IdentityStore>().ClaimAsync(tenantId, claims);
        return claims.ToDictionary(c => c.IdentityKey, c => c.ProfileId, StringComparer.Ordinal);
    }

    /// <summary>
    /// Profile rows per second read with the sweep's own query from as many partitions as the sweep runs at once (one
    /// round of its work: partitions are alike in size); with <paramref name="rewrite"/>, for at most
    /// <paramref name="rewriteFor"/>, each row also written back unchanged under its ETag (UpdateReplace, 100 per
    /// transaction), which is the least a backfill writes.
    /// </summary>
    private static async Task<double> ScanAsync(TableClient table, string tenantId, int parallelism, bool rewrite, TimeSpan rewriteFor = default)
    {
        var rows = 0;
        var clock = Stopwatch.StartNew();
        await Parallel.ForEachAsync(Enumerable.Range(0, Math.Min(parallelism, Ids.ProfileBuckets)), new ParallelOptions { MaxDegreeOfParallelism = parallelism }, async (bucket, ct) =>
        {
            var filter = TableClient.CreateQueryFilter($"PartitionKey eq {StorageTables.BucketPartition(tenantId, bucket)} and Kind eq {"profile"}");
            var pending = new List<TableTransactionAction>();
            await foreach (var row in table.QueryAsync<TableEntity>(filter, maxPerPage: 1000, cancellationToken: ct))
            {
                if (!rewrite)
                {
                    Interlocked.Increment(ref rows);
                    continue;
                }
                pending.Add(new TableTransactionAction(TableTransactionActionType.UpdateReplace, row, row.ETag));
                if (pending.Count < 100) continue;
                await table.SubmitTransactionAsync(pending, ct);
                Interlocked.Add(ref rows, pending.Count);
                pending.Clear();
                if (clock.Elapsed > rewriteFor) return;
            }
            if (pending.Count > 0) await table.SubmitTransactionAsync(pending, ct);
            Interlocked.Add(ref rows, pending.Count);
        });
        var perSecond = rows / clock.Elapsed.TotalSeconds;
        Console.WriteLine($"raw {(rewrite ? "read and rewrite" : "scan")}: {rows:N0} profile rows in {clock.Elapsed.TotalSeconds:F1} s ({perSecond:F0} rows/s)");
        return perSecond;
    }

    private static async Task<SweepRun> SweepAllAsync(AudienceSweep sweep, string tenantId, int parallelism)
    {
        int evaluated = 0, changed = 0, repaired = 0;
        var clock = Stopwatch.StartNew();
        await Parallel.ForEachAsync(Enumerable.Range(0, Ids.ProfileBuckets), new ParallelOptions { MaxDegreeOfParallelism = parallelism }, async (bucket, ct) =>
        {
            var report = await sweep.SweepAsync(tenantId, bucket, ct);
            Interlocked.Add(ref evaluated, report.Evaluated);
            Interlocked.Add(ref changed, report.Changed);
            Interlocked.Add(ref repaired, report.IndexRowsFixed);
        });
        return new SweepRun(evaluated, changed, repaired, clock.Elapsed.TotalSeconds);
    }

    /// <summary>
    /// Person p: lives in 上海 (even p) or 北京; gold level when p % 3 == 0; p % 3 purchases, the j-th
    /// (p + 7j) % 40 days ago; one visit p % 10 days ago unless p % 4 == 0.
    /// </summary>
    private static IEnumerable<object> SeedEvents(int p, DateTimeOffset at)
    {
        yield return Identify(p, at.AddDays(-60));
        for (var j = 0; j < p % 3; j++) yield return Track($"s-buy-{p}-{j}", p, "purchase", at.AddDays(-PurchaseAge(p, j)));
        if (p % 4 != 0) yield return Track($"s-visit-{p}", p, "visit", at.AddDays(-(p % 10)));
    }

    private static int PurchaseAge(int p, int j) => (p + 7 * j) % 40;

    /// <summary>Whether person p belongs in a segment, <paramref name="daysLater"/> calendar days after seeding.</summary>
    private static bool Expected(string segment, int p, int daysLater)
    {
        int Purchases(int withinDays) => Enumerable.Range(0, p % 3).Count(j => PurchaseAge(p, j) + daysLater < withinDays);
        var visits7 = p % 4 != 0 && p % 10 + daysLater < 7 ? 1 : 0;
        return segment switch
        {
            "sh-repeat" => p % 2 == 0 && Purchases(30) >= 2,
            "lapsed" => Purchases(180) >= 1 && Purchases(30) == 0,
            "no-visit-7d" => visits7 == 0,
            "gold-or-vip" => p % 3 == 0,
            "recent-buyers" => Purchases(7) >= 1,
            _ => throw new ArgumentException(segment),
        };
    }

    // ---- 3. bulk tagging ------------------------------------------------------------------------------------------

    private static async Task<TagResult> TagAsync(Args o, string operatorKey, CommitCounter committed)
    {
        await using var azurite = await AzuriteProcess.StartAsync();
        await using var app = await BenchApp.StartAsync(azurite.ConnectionString, "tags", operatorKey, listeners: true);
        var tenant = await Tenant.CreateAsync(new HttpClient(), app.BaseAddress, operatorKey, "bench-tags");
        using var marketer = await KeyedClientAsync(app.BaseAddress, operatorKey, tenant.Id, "marketer");
        // A segment on the tag, so each tagging also moves the person into it, as in a tenant that uses its tags.
        await DefineAsync(marketer, [BulkTag], [(BulkTag, "忠实客户", $$"""{"tag":"{{BulkTag}}"}""")]);

        var seedAt = DateTimeOffset.UtcNow;
        var target = committed.Value + o.TagProfiles;
        await ConsentBench.PostAll(tenant.Ingest, "/api/events", "batch", Enumerable.Range(0, o.TagProfiles).Select(p => Identify(p, seedAt)), 8);
        await committed.WaitFor(target, TimeSpan.FromMinutes(5));
        await SettleAsync(app);
        var ids = await ProfileIdsAsync(app, tenant.Id, o.TagProfiles);

        var clock = Stopwatch.StartNew();
        using var posted = await marketer.PostAsJsonAsync($"/api/tags/{BulkTag}/bulk", new { profileIds = ids });
        var body = await posted.Content.ReadAsStringAsync();
        if ((int)posted.StatusCode is 404 or 405)
        {
            var reason = $"this build has no bulk tagging API (POST /api/tags/{{name}}/bulk answered {(int)posted.StatusCode})";
            Console.WriteLine($"bulk tagging: skipped: {reason}");
            return new TagResult(reason, o.TagProfiles, 0, 0, 0, 0, 0, "");
        }
        if ((int)posted.StatusCode != 202) throw new InvalidOperationException($"bulk tagging: {(int)posted.StatusCode} {body}");
        var jobId = JsonDocument.Parse(body).RootElement.GetProperty("jobId").GetString()!;

        JsonElement job;
        var lastReport = TimeSpan.Zero;
        while (true)
        {
            job = await marketer.GetFromJsonAsync<JsonElement>($"/api/tags/jobs/{jobId}");
            if (job.GetProperty("status").GetString() == "done") break;
            if (clock.Elapsed > TimeSpan.FromMinutes(10)) throw new TimeoutException($"bulk tagging job not done after 10 minutes: {job}");
            if (clock.Elapsed - lastReport > TimeSpan.FromSeconds(5))
            {
                lastReport = clock.Elapsed;
                Console.WriteLine($"  bulk tagging: {job} after {clock.Elapsed.TotalSeconds:F0} s");
            }
            await Task.Delay(50);
        }
        var seconds = clock.Elapsed.TotalSeconds;
        Console.WriteLine($"bulk tagging: {o.TagProfiles} profiles in {seconds:F1} s ({o.TagProfiles / seconds:F0}/s); job {job}");

        var profiles = app.Services.GetRequiredService<ProfileStore>();
        var verified = 0;
        await Parallel.ForEachAsync(ids, new ParallelOptions { MaxDegreeOfParallelism = 32 }, async (id, ct) =>
        {
            if ((await profiles.ReadAsync(tenant.Id, id, ct))?.State.Tags.ContainsKey(BulkTag) == true) Interlocked.Increment(ref verified);
        });
        var sample = ids.OrderBy(_ => Random.Shared.Next()).Take(Math.Min(500, ids.Length)).ToList();
        var sampleOk = 0;
        await Parallel.ForEachAsync(sample, new ParallelOptions { MaxDegreeOfParallelism = 16 }, async (id, ct) =>
        {
            var view = await marketer.GetFromJsonAsync<JsonElement>($"/api/profiles/{id}", ct);
            if (view.GetProperty("tags").TryGetProperty(BulkTag, out _)) Interlocked.Increment(ref sampleOk);
        });
        var size = (await marketer.GetFromJsonAsync<JsonElement>($"/api/segments/{BulkTag}")).GetProperty("size").GetInt64();
        Console.WriteLine($"bulk tagging: {verified} of {ids.Length} rows carry the tag; {sampleOk} of {sample.Count} over HTTP; segment size {size}");
        return new TagResult(null, ids.Length, seconds, verified, sampleOk, sample.Count, size, job.GetRawText());
    }

    // ---- helpers ----------------------------------------------------------------------------------------------------

    private static object Identify(int p, DateTimeOffset at) => new
    {
        type = "identify", messageId = $"id-{p}", identities = new { userId = $"u{p}" }, timestamp = at.ToString("O"),
        traits = new { name = $"会员{p}", city = p % 2 == 0 ? "上海" : "北京", level = p % 3 == 0 ? "gold" : "silver" },
    };

    private static object Track(string messageId, int p, string name, DateTimeOffset at) => new
    {
        type = "track", messageId, @event = name, identities = new { userId = $"u{p}" }, timestamp = at.ToString("O"),
        properties = new { source = "mini-program" },
    };

    private static HttpClient Client(Uri baseAddress, string key)
    {
        var client = new HttpClient { BaseAddress = baseAddress, Timeout = TimeSpan.FromMinutes(2) };
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
        return client;
    }

    /// <summary>A client with a fresh key of <paramref name="role"/>: keys outlive an app restart, clients do not follow it.</summary>
    internal static async Task<HttpClient> KeyedClientAsync(Uri baseAddress, string operatorKey, string tenantId, string role)
    {
        using var op = Client(baseAddress, operatorKey);
        using var response = await op.PostAsJsonAsync($"/api/operator/tenants/{tenantId}/keys", new { role });
        response.EnsureSuccessStatusCode();
        return Client(baseAddress, (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("key").GetString()!);
    }

    private static async Task DefineAsync(HttpClient marketer, IEnumerable<string> tags, IEnumerable<(string Id, string Name, string Rule)> segments)
    {
        foreach (var tag in tags)
            await Expect(await marketer.PutAsJsonAsync($"/api/tags/{tag}", new { group = "bench" }), $"tag {tag}");
        foreach (var (id, name, rule) in segments)
            await Expect(await marketer.PutAsJsonAsync($"/api/segments/{id}", new { name, rule = JsonNode.Parse(rule) }), $"segment {id}");
    }

    private static async Task Expect(HttpResponseMessage response, string what)
    {
        using (response)
            if (!response.IsSuccessStatusCode) throw new InvalidOperationException($"{what}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
    }

    /// <summary>Waits until the ingest queues hold nothing, in flight or waiting (the sweep is an orchestration now, with no queue of its own).</summary>
    private static async Task SettleAsync(BenchApp app)
    {
        var names = app.Services.GetRequiredService<QueueNames>();
        var queues = app.Services.GetRequiredService<IQueueService>();
        var deadline = Stopwatch.StartNew();
        while ((await Task.WhenAll(names.Ingest.Select(q => queues.Queue(q).GetApproximateCountAsync()))).Sum() > 0)
        {
            if (deadline.Elapsed > TimeSpan.FromMinutes(5)) throw new TimeoutException("queues did not drain");
            await Task.Delay(50);
        }
    }

    internal static async Task<string[]> ProfileIdsAsync(BenchApp app, string tenantId, int count)
    {
        var identities = app.Services.GetRequiredService<IdentityStore>();
        var ids = new string[count];
        await Parallel.ForEachAsync(Enumerable.Range(0, count), new ParallelOptions { MaxDegreeOfParallelism = 32 }, async (p, ct) =>
            ids[p] = await identities.LookupAsync(tenantId, $"userId:u{p}", ct) ?? throw new InvalidOperationException($"person u{p} has no profile"));
        return ids;
    }
}
