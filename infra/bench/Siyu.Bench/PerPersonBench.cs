using System.Diagnostics;
using System.Net.Http.Json;
using System.Reflection;
using System.Text.Json.Nodes;
using Azure.Data.Tables;
using Microsoft.DurableTask;
using Microsoft.DurableTask.Client;
using Siyu.Azurite;
using Siyu.Core.Journeys;
using Siyu.Core.Storage;
using Siyu.LocalHost;
using Siyu.Storage.Journeys;
using Siyu.Storage.Tables;

namespace Siyu.Bench;

/// <summary>
/// The per-person benchmark (<c>--suite per-person</c>): why a person's journey run is a row and not an orchestration
/// (shared DESIGN.md, "Runtime shape"), measured again in one run. N people (1,000 unless told otherwise) go through
/// <c>delay (2 s) → wait for an event (timeout 3 s) → send</c>; every even-numbered person gets the event once seen
/// waiting, the others time out. Done two ways, each on a fresh Azurite, beside raw ceilings measured first:
/// <list type="number">
/// <item>one Durable orchestration per person (<c>infra/bench/Siyu.Bench.PerPerson</c>: CreateTimer → WaitForExternalEvent
/// raced with a timer → CallActivity "send", one Table upsert), on DurableTask.AzureStorage under the local host as the
/// app runs its own orchestrations, events raised through the DurableTaskClient;</item>
/// <item>the product's journey engine: the same shape published as a journey, the N people entered through the API,
/// the events posted to <c>POST /api/events</c>.</item>
/// </list>
/// Both are watched the same way, by a scan of their state (the Instances table; the runs table) every 500 ms: that
/// scan decides when a person is at the wait (an event before the wait does not count for a journey, and would be
/// buffered by Durable) and when everyone is done. Then every person's branch and send are checked.
/// </summary>
public static class PerPersonBench
{
    private const string Hub = "perperson";
    // The per-person app (infra/bench/Siyu.Bench.PerPerson) is built beside this one, not referenced: its names, as it declares them.
    private const string PersonApp = "Siyu.Bench.PerPerson";
    private const string Orchestrator = "PersonJourney", DurableEvent = "paid", SendsTable = "perpersonsends", WaitingStatus = "waiting";
    private const string JourneyId = "bench-per-person";
    private const string Hold = "hold", Wait = "wait", Send = "send", Done = "done";
    private const string PaidEvent = "bench_paid", Template = "per_person_sms";
    private static readonly TimeSpan Poll = TimeSpan.FromMilliseconds(500);
    /// <summary>No one moved for this long: stop watching and report who is not done.</summary>
    private static readonly TimeSpan Stall = TimeSpan.FromMinutes(3);

    private static bool GetsEvent(int p) => p % 2 == 0;
    private static string Expected(int p) => GetsEvent(p) ? "arrived" : "timedOut";

    /// <summary>A person as a scan saw them: at the wait, done, by which branch, when they started and ended (the system's own stamps).</summary>
    private sealed record Seen(int P, bool Waiting, bool Done, string? Branch, DateTimeOffset Started, DateTimeOffset? Ended);

    private sealed record Outcome(int People, double Seconds, IReadOnlyList<Seen> Last, int Sends, int SendsWrong, long Steps, double BestStepsPerSecond)
    {
        public double PeoplePerSecond => People / Seconds;
        public int Right => Last.Count(s => s.Done && s.Branch == Expected(s.P));
        /// <summary>Sent the event while waiting, yet timed out: the event reached the run after its timeout (a race both systems may lose under load).</summary>
        public int Late => Last.Count(s => s.Done && GetsEvent(s.P) && s.Branch == "timedOut");
        /// <summary>On a branch the person could not take: arrived without an event, or no branch at all.</summary>
        public int Wrong => Last.Count(s => s.Done && s.Branch != Expected(s.P)) - Late;
        public int NotDone => People - Last.Count(s => s.Done);
        public int RightOf(bool events) => Last.Count(s => s.Done && GetsEvent(s.P) == events && s.Branch == Expected(s.P));
        /// <summary>Seconds from a person's start to their end, for those who should take <paramref name="events"/>' branch.</summary>
        public Stats Latency(bool events) => Stats.Of(Last.Where(s => s.Ended is not null && GetsEvent(s.P) == events).Select(s => (s.Ended!.Value - s.Started).TotalSeconds));
        public bool Correct => NotDone == 0 && Wrong == 0 && Sends == People && SendsWrong == 0;
    }

    public static async Task<int> RunAsync(Args o, string operatorKey)
    {
        var n = o.People;
        var delay = o.DelaySeconds > 0 ? o.DelaySeconds : 2;
        var timeout = o.TimeoutSeconds > 0 ? o.TimeoutSeconds : 3;
        var command = "dotnet run -c Release --project infra/bench/Siyu.Bench -- " + string.Join(' ', Environment.GetCommandLineArgs().Skip(1));

        RawAzurite.Ceilings raw;
        await using (var rawAzurite = await AzuriteProcess.StartAsync())
            raw = await RawAzurite.MeasureAsync(rawAzurite.ConnectionString, TimeSpan.FromSeconds(o.RawSeconds));
        Console.WriteLine($"raw Azurite: {raw}");

        var durable = await DurableAsync(n, delay, timeout);
        Console.WriteLine($"durable: {Brief(durable)}");
        var journey = await JourneyAsync(o, operatorKey, n, delay, timeout);
        Console.WriteLine($"journey: {Brief(journey)}");

        var single = raw.SingleUpsertsPerSecond;
        string Lat(Outcome x) =>
            $"arrived p50 {x.Latency(true).P50:F1} s, p99 {x.Latency(true).P99:F1} s; timed out p50 {x.Latency(false).P50:F1} s, p99 {x.Latency(false).P99:F1} s";
        string Check(Outcome x, string sends) =>
            $"{x.Right:N0} of {n:N0} completed on the expected branch (arrived {x.RightOf(true):N0} of {(n + 1) / 2:N0} sent the event, timed out {x.RightOf(false):N0} of {n / 2:N0}); " +
            $"**{x.Late:N0} sent the event while waiting timed out** (it reached the run after the timeout); {x.Wrong:N0} on a branch they could not take, {x.NotDone:N0} not done; " +
            $"{sends} {x.Sends:N0} ({x.SendsWrong:N0} missing, doubled or not matching the branch taken)";
        var report = new List<string>
        {
            $"Run {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC on {Environment.ProcessorCount} cores; Azurite in memory, a fresh one for each way; both in this process under the local Functions host. " +
            $"{n:N0} people through `delay {delay} s → wait for an event (timeout {timeout} s) → send`; every other person gets the event (raised once seen at the wait by a scan every " +
            $"{Poll.TotalMilliseconds:F0} ms), the rest time out. End to end: from the first start until the last person ended (by the system's own end stamps).",
            "",
            "| Measure | Result | Raw Azurite in the same run | Ratio |",
            "|---|---|---|---|",
            $"| **(a) One Durable orchestration per person** (CreateTimer → WaitForExternalEvent with a timer → CallActivity send, one upsert; DurableTask.AzureStorage, product host.json) | " +
                $"**{durable.PeoplePerSecond:N1} people/s** ({n:N0} in {durable.Seconds:F1} s) | single upserts {single:N0}/s | {durable.PeoplePerSecond / single:F3}× |",
            $"| **(b) The journey engine** (one run row each, stepped in batches; entered by `POST /api/journeys/{{id}}/enter`, events by `POST /api/events`) | " +
                $"**{journey.PeoplePerSecond:N1} people/s** ({n:N0} in {journey.Seconds:F1} s); **{journey.Steps / journey.Seconds:N0} steps/s** ({journey.Steps:N0} steps; best second {journey.BestStepsPerSecond:N0}/s) | " +
                $"single upserts {single:N0}/s | {journey.PeoplePerSecond / single:F3}× / {journey.Steps / journey.Seconds / single:F3}× |",
            $"| (b) ÷ (a), people/s | {journey.PeoplePerSecond / durable.PeoplePerSecond:F1}× (no one can end before delay + timeout = {delay + timeout} s after their start: " +
                $"{n:N0} people started at once give at most {n / (double)(delay + timeout):N0} people/s; a side near that is bound by the shape's own time, not by its throughput) | | |",
            $"| Correctness (a) | {Check(durable, "send rows")} | | |",
            $"| Correctness (b) | {Check(journey, "delivery requests")} | | |",
            $"| Per person, start → end (ideal: {delay} s + the event's way for arrived, {delay + timeout} s for timed out) | (a) {Lat(durable)}; (b) {Lat(journey)} | | |",
            "",
            $"Raw Azurite ceilings: single upsert {single:N0}/s (32 in flight), batch transaction of 100 {raw.BatchTransactionsPerSecond:N0}/s = {raw.BatchedEntitiesPerSecond:N0} entities/s " +
            $"(8 in flight), queue put {raw.QueuePutsPerSecond:N0}/s, point read {raw.PointReadsPerSecond:N0}/s (32 in flight)." +
            (durable.Correct && journey.Correct ? "" : " **Checks failed: see the correctness rows.**"),
            "",
            $"Command: `{command}`",
        };
        var text = string.Join(Environment.NewLine, report);
        Console.WriteLine();
        Console.WriteLine(text);
        if (o.Out is not null) await File.WriteAllTextAsync(o.Out, text + Environment.NewLine);
        return durable.Correct && journey.Correct ? 0 : 1;
    }

    private static string Brief(Outcome x) =>
        $"{x.People:N0} people in {x.Seconds:F1} s ({x.PeoplePerSecond:F1}/s), {x.Right:N0} expected branch, {x.Late:N0} event too late, {x.Wrong:N0} wrong, {x.NotDone:N0} not done; sends {x.Sends:N0} ({x.SendsWrong:N0} wrong); steps {x.Steps:N0}";

    // ---- (a) one Durable orchestration per person ---------------------------------------------------------------------

    private static async Task<Outcome> DurableAsync(int n, int delay, int timeout)
    {
        await using var azurite = await AzuriteProcess.StartAsync();
        var connection = azurite.ConnectionString;
        var sends = new TableClient(connection, SendsTable);
        await sends.CreateIfNotExistsAsync();
        // Its own build output folder: the local host reads functions.metadata and host.json beside the assembly.
        var app = Assembly.LoadFrom(Path.Combine(AppContext.BaseDirectory, "perperson", PersonApp + ".dll"));
        await using var host = await LocalFunctionsHost.StartAsync(app, new LocalHostOptions
        {
            Url = "http://127.0.0.1:0",
            Settings = new Dictionary<string, string?>
            {
                ["SiyuStorage"] = connection, ["Durable:HubName"] = Hub,
                ["Logging:LogLevel:Default"] = "Warning", ["Logging:LogLevel:DurableTask"] = "Warning",
            },
        });
        var client = host.DurableClient ?? throw new InvalidOperationException("the per-person app has no task hub");
        var instances = new TableClient(connection, Hub + "Instances");

        async Task<List<Seen>> Look()
        {
            var seen = new List<Seen>(n);
            await foreach (var row in instances.QueryAsync<TableEntity>(select: ["PartitionKey", "RuntimeStatus", "CustomStatus", "Output", "CreatedTime", "CompletedTime", "LastUpdatedTime"]))
            {
                if (!row.PartitionKey.StartsWith('p') || !int.TryParse(row.PartitionKey[1..], out var p)) continue;
                var status = row.GetString("RuntimeStatus");
                var done = status is "Completed" or "Failed" or "Terminated";
                var waiting = status == "Running" && row.GetString("CustomStatus")?.Contains(WaitingStatus, StringComparison.Ordinal) == true;
                seen.Add(new Seen(p, waiting, done, done ? row.GetString("Output")?.Trim('"') : null, Time(row, "CreatedTime") ?? default,
                    done ? Time(row, "CompletedTime") ?? Time(row, "LastUpdatedTime") : null));
            }
            return seen;
        }
        Task Raise(IReadOnlyList<int> people) => Parallel.ForEachAsync(people, new ParallelOptions { MaxDegreeOfParallelism = 16 }, async (p, ct) =>
            await client.RaiseEventAsync(Id(p), DurableEvent, true, ct));

        var first = DateTimeOffset.UtcNow;
        var watch = WatchAsync("durable", n, Look, Raise);
        // Started as fast as the task hub takes them, 16 at a time, while the watch runs (the first are waiting before the last start).
        var next = -1;
        await Task.WhenAll(Enumerable.Range(0, 16).Select(_ => Task.Run(async () =>
        {
            int p;
            while ((p = Interlocked.Increment(ref next)) < n)
                await client.ScheduleNewOrchestrationInstanceAsync(Orchestrator, new { DelaySeconds = delay, TimeoutSeconds = timeout }, new StartOrchestrationOptions(Id(p)));
        })));
        Console.WriteLine($"  durable: {n:N0} orchestrations started in {(DateTimeOffset.UtcNow - first).TotalSeconds:F1} s");
        var last = await watch;

        // The send records: one per person, carrying the branch it was sent from.
        var rows = new List<(int P, string? Branch)>();
        await foreach (var row in sends.QueryAsync<TableEntity>())
            if (int.TryParse(row.RowKey[1..], out var p)) rows.Add((p, row.GetString("Branch")));
        var taken = last.ToDictionary(s => s.P, s => s.Branch);
        var sendsWrong = rows.GroupBy(r => r.P).Count(g => g.Count() != 1 || g.First().Branch != taken.GetValueOrDefault(g.Key)) + (n - rows.Select(r => r.P).Distinct().Count());
        return new Outcome(n, Seconds(first, last), last, rows.Count, sendsWrong, 0, 0);
    }

    private static string Id(int p) => $"p{p:D6}";

    private static DateTimeOffset? Time(TableEntity row, string name) => row.TryGetValue(name, out var v) ? v switch
    {
        DateTimeOffset d => d,
        DateTime d => new DateTimeOffset(DateTime.SpecifyKind(d, DateTimeKind.Utc)),
        _ => null,
    } : null;

    // ---- (b) the journey engine ------------------------------------------------------------------------------------

    private static async Task<Outcome> JourneyAsync(Args o, string operatorKey, int n, int delay, int timeout)
    {
        await using var azurite = await AzuriteProcess.StartAsync();
        await using var app = await BenchApp.StartAsync(azurite.ConnectionString, "perperson", operatorKey, listeners: true);
        var tenant = await Tenant.CreateAsync(new HttpClient(), app.BaseAddress, operatorKey, "bench-per-person");
        using var monitor = new JourneyBench.Monitor();

        var events = Enumerable.Range(0, n).Select(p => (object)new { type = "identify", messageId = $"id-{p}", identities = new { userId = $"u{p}" }, traits = new { name = $"会员{p}" } }).ToList();
        var claims = await AudienceBench.SeedDirectAsync(app, tenant.Id, events);
        var ids = Enumerable.Range(0, n).Select(p => claims[$"userId:u{p}"]).ToArray();
        var person = new Dictionary<string, int>(n, StringComparer.Ordinal);
        for (var p = 0; p < n; p++) person[ids[p]] = p;

        // Publishing checks the send's template, so it comes first. The send reads no attribute: the orchestration's send reads no profile either.
        await Ok(await tenant.Admin.PutAsJsonAsync($"/api/templates/{Template}", new JsonObject
        {
            ["channel"] = "sms", ["providerTemplate"] = "SMS_PER_PERSON", ["fields"] = new JsonObject { ["text"] = "{{name}}, thanks 回T退订" },
            ["variables"] = new JsonObject { ["name"] = new JsonObject { ["default"] = "Hi" } },
        }), "template");
        await Ok(await tenant.Admin.PutAsJsonAsync($"/api/journeys/{JourneyId}", new JsonObject
        {
            ["name"] = "Bench: per person",
            ["entry"] = new JsonObject { ["on"] = "api", ["reentry"] = "once" },
            ["start"] = Hold,
            ["nodes"] = new JsonObject
            {
                [Hold] = new JsonObject { ["type"] = "delay", ["for"] = $"{delay}s", ["next"] = Wait },
                [Wait] = new JsonObject { ["type"] = "waitForEvent", ["event"] = PaidEvent, ["timeout"] = $"{timeout}s", ["arrived"] = Send, ["timedOut"] = Send },
                [Send] = new JsonObject { ["type"] = "send", ["channel"] = "sms", ["template"] = Template, ["next"] = Done },
                [Done] = new JsonObject { ["type"] = "exit" },
            },
        }), "journey draft");
        await Ok(await tenant.Admin.PostAsync($"/api/journeys/{JourneyId}/publish", null), "publish");

        var runs = app.Services.GetRequiredService<RunStore>().Table;
        async Task<List<Seen>> Look()
        {
            var seen = new System.Collections.Concurrent.ConcurrentBag<Seen>();
            await Parallel.ForEachAsync(Enumerable.Range(0, Ids.ProfileBuckets), new ParallelOptions { MaxDegreeOfParallelism = 8 }, async (bucket, ct) =>
            {
                var filter = TableClient.CreateQueryFilter($"PartitionKey eq {StorageTables.BucketPartition(tenant.Id, bucket)} and Kind eq {"run"}");
                await foreach (var row in runs.QueryAsync<TableEntity>(filter, maxPerPage: 1000, cancellationToken: ct))
                {
                    var run = RunStore.ToRun(row).Instance;
                    if (!person.TryGetValue(run.ProfileId, out var p)) continue;
                    var done = run.Status != InstanceStatus.Active;
                    seen.Add(new Seen(p, !done && run.Node == Wait, done, run.Path.LastOrDefault(s => s.Node == Wait)?.Branch, run.EnteredAt, done ? run.EndedAt : null));
                }
            });
            return [.. seen];
        }
        Task Raise(IReadOnlyList<int> people) => ConsentBench.PostAll(tenant.Ingest, "/api/events", "batch",
            people.Select(p => (object)new { type = "track", messageId = $"paid-{p}", @event = PaidEvent, identities = new { userId = $"u{p}" } }), 4);

        var steps = monitor.Steps;
        var from = monitor.Now;
        var first = DateTimeOffset.UtcNow;
        var watch = WatchAsync("journey", n, Look, Raise);
        var batches = ids.Chunk(1000).ToList();
        var next = -1;
        await Task.WhenAll(Enumerable.Range(0, o.EnterConcurrency).Select(_ => Task.Run(async () =>
        {
            int i;
            while ((i = Interlocked.Increment(ref next)) < batches.Count)
                await Ok(await tenant.Admin.PostAsJsonAsync($"/api/journeys/{JourneyId}/enter", new { people = batches[i].Select(id => new { profileId = id }) }), "enter");
        })));
        Console.WriteLine($"  journey: {n:N0} people entered in {(DateTimeOffset.UtcNow - first).TotalSeconds:F1} s");
        var last = await watch;
        steps = monitor.Steps - steps;
        var best = monitor.PeakRate(from, monitor.Now, m => m.Steps);

        // The sends: one delivery request per person, written with the step that sent it.
        var requests = new System.Collections.Concurrent.ConcurrentBag<string>();
        await Parallel.ForEachAsync(Enumerable.Range(0, Ids.ProfileBuckets), new ParallelOptions { MaxDegreeOfParallelism = 8 }, async (bucket, ct) =>
        {
            var filter = TableClient.CreateQueryFilter($"PartitionKey eq {StorageTables.BucketPartition(tenant.Id, bucket)} and Kind eq {"delivery"}");
            await foreach (var row in runs.QueryAsync<TableEntity>(filter, maxPerPage: 1000, select: ["RowKey"], cancellationToken: ct)) requests.Add(row.RowKey[..row.RowKey.IndexOf('~')]);
        });
        var perProfile = requests.GroupBy(r => r).ToDictionary(g => g.Key, g => g.Count());
        var sendsWrong = ids.Count(id => perProfile.GetValueOrDefault(id) != 1) + perProfile.Keys.Count(id => !person.ContainsKey(id));
        return new Outcome(n, Seconds(first, last), last, requests.Count, sendsWrong, steps, best);
    }

    private static async Task Ok(HttpResponseMessage response, string what)
    {
        using (response)
            if (!response.IsSuccessStatusCode) throw new InvalidOperationException($"{what}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
    }

    // ---- the watch, the same for both -----------------------------------------------------------------------------

    /// <summary>
    /// Looks at everyone every <see cref="Poll"/> until all are done (or no one has moved for <see cref="Stall"/>); raises
    /// the event for those who get it the first time they are seen at the wait. Answers the last look.
    /// </summary>
    private static async Task<List<Seen>> WatchAsync(string what, int n, Func<Task<List<Seen>>> look, Func<IReadOnlyList<int>, Task> raise)
    {
        var raised = new bool[n];
        var clock = Stopwatch.StartNew();
        var moved = Stopwatch.StartNew();
        var lastPrint = 0.0;
        (int, int, int) lastCounts = default;
        while (true)
        {
            var seen = await look();
            var due = seen.Where(s => s.Waiting && GetsEvent(s.P) && !raised[s.P]).Select(s => s.P).ToList();
            foreach (var p in due) raised[p] = true;
            if (due.Count > 0) await raise(due);
            var counts = (seen.Count, seen.Count(s => s.Waiting), seen.Count(s => s.Done));
            if (counts.Item3 >= n) return seen;
            if (counts != lastCounts) { lastCounts = counts; moved.Restart(); }
            if (moved.Elapsed > Stall)
            {
                Console.WriteLine($"  {what}: no one moved for {Stall.TotalSeconds:F0} s; stopping the watch");
                return seen;
            }
            if (clock.Elapsed.TotalSeconds - lastPrint >= 10)
            {
                lastPrint = clock.Elapsed.TotalSeconds;
                Console.WriteLine($"  {what} {lastPrint:F0} s: {counts.Item1:N0} started, {counts.Item2:N0} waiting, {counts.Item3:N0} done of {n:N0}; events raised {raised.Count(r => r):N0}");
            }
            await Task.Delay(Poll);
        }
    }

    /// <summary>From the first start until the last end stamp the system wrote.</summary>
    private static double Seconds(DateTimeOffset first, List<Seen> last) =>
        ((last.Where(s => s.Ended is not null).Select(s => s.Ended!.Value).DefaultIfEmpty(DateTimeOffset.UtcNow).Max()) - first).TotalSeconds;
}
