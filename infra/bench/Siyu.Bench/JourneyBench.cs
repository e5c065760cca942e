using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;
using Azure;
using Azure.Data.Tables;
using Siyu.Azurite;
using Siyu.Core.Journeys;
using Siyu.Core.Storage;
using Siyu.Storage.Journeys;
using Siyu.Storage.Tables;

namespace Siyu.Bench;

/// <summary>
/// The journey benchmark (<c>--suite journeys</c>), on a fresh Azurite beside raw ceilings measured in the same run.
/// A tenant of N profiles (100,000 unless told otherwise) and one journey, <c>delay → waitForEvent → condition → send → exit</c>:
/// <list type="number">
/// <item>entry: everyone is entered through <c>POST /api/journeys/{id}/enter</c>, 1,000 people a request, several
/// requests at a time; each entry writes the run and a timer due now;</item>
/// <item>first steps: the sweep hands those timers to the journey queues and each run takes its first step (the delay,
/// which reads the person's date attribute and arms a timer);</item>
/// <item>the wait: every delay falls due at the same instant (the delay is <c>untilAttribute</c> on a date every person
/// shares, plus an offset chosen at publishing), so N timers fall due together; lateness is when each run left the
/// delay (its path's time at the wait node, and the storage timestamp of that write) against that instant;</item>
/// <item>the timeout: no one pays, so every wait times out, each <c>--timeout-seconds</c> after its own start; the
/// condition (level is gold: every third person) sends an SMS, then the run ends.</item>
/// </list>
/// Then every run and delivery request is read back: one delivery request per gold person, none for anyone else, no
/// run unfinished, and the stats endpoint agreeing.
/// </summary>
public static class JourneyBench
{
    private const string JourneyId = "bench-paid-reminder";
    private const string DueAttribute = "bench_at";
    private const string Hold = "hold", WaitPay = "wait_pay", Check = "check", Sms = "sms", Done = "done";
    private const string Template = "order_reminder";
    private const int PerRequest = 1000;

    public static async Task<int> RunAsync(Args o, string operatorKey, CommitCounter committed)
    {
        RawAzurite.Ceilings raw;
        await using (var rawAzurite = await AzuriteProcess.StartAsync())
            raw = await RawAzurite.MeasureAsync(rawAzurite.ConnectionString, TimeSpan.FromSeconds(o.RawSeconds));
        Console.WriteLine($"raw Azurite: {raw}");

        var n = o.Profiles;
        // Every delay must be armed before it falls due, and the timeouts should fall due once the due runs have moved.
        var delaySeconds = o.DelaySeconds > 0 ? o.DelaySeconds : 60 + n / 120;
        var timeoutSeconds = o.TimeoutSeconds > 0 ? o.TimeoutSeconds : 60 + n / 200;

        await using var azurite = await AzuriteProcess.StartAsync();
        await using var app = await BenchApp.StartAsync(azurite.ConnectionString, "journeys", operatorKey, listeners: true);
        var tenant = await Tenant.CreateAsync(new HttpClient(), app.BaseAddress, operatorKey, "bench-journeys");
        var admin = tenant.Admin;
        using var monitor = new Monitor();
        using var ops = new StorageOps();
        var runsTable = app.Services.GetRequiredService<RunStore>().Table;

        // ---- seeding: N people, every third gold, all sharing one date attribute (the delay's anchor) -------------
        var anchor = WholeSecond(DateTimeOffset.UtcNow);
        var events = Enumerable.Range(0, n).Select(p => Identify(p, anchor)).ToList();
        var direct = o.Seed != "ingest";
        var seedClock = Stopwatch.StartNew();
        string[] ids;
        if (direct)
        {
            var claims = await AudienceBench.SeedDirectAsync(app, tenant.Id, events);
            ids = Enumerable.Range(0, n).Select(p => claims[$"userId:u{p}"]).ToArray();
        }
        else
        {
            var target = committed.Value + n;
            await ConsentBench.PostAll(tenant.Ingest, "/api/events", "batch", events, 8);
            await committed.WaitFor(target, TimeSpan.FromMinutes(15));
            ids = await AudienceBench.ProfileIdsAsync(app, tenant.Id, n);
        }
        var seedSeconds = seedClock.Elapsed.TotalSeconds;
        Console.WriteLine($"seeding ({(direct ? "direct" : "ingest")}): {n:N0} profiles in {seedSeconds:F1} s ({n / seedSeconds:F0}/s)");
        var person = new Dictionary<string, int>(n, StringComparer.Ordinal);
        for (var p = 0; p < n; p++) person[ids[p]] = p;
        events.Clear();

        // ---- the journey: every delay due at one instant, delay-seconds after publishing ---------------------------
        var dueAt = WholeSecond(DateTimeOffset.UtcNow.AddSeconds(delaySeconds + 1));
        var offset = Durations.Format(dueAt - anchor);
        // Publishing checks the send's template and variables, so the template comes first.
        await Expect(await admin.PutAsJsonAsync($"/api/templates/{Template}", new JsonObject
        {
            ["channel"] = "sms", ["providerTemplate"] = "SMS_REMIND", ["fields"] = new JsonObject { ["text"] = "{{name}}, your order is waiting 回T退订" },
            ["variables"] = new JsonObject { ["name"] = new JsonObject { ["default"] = "Hi" } },
        }), "template", problemsAllowed: false);
        await Expect(await admin.PutAsJsonAsync($"/api/journeys/{JourneyId}", Journey(offset, timeoutSeconds)), "journey draft", problemsAllowed: false);
        await Expect(await admin.PostAsync($"/api/journeys/{JourneyId}/publish", null), "publish", problemsAllowed: true);
        Console.WriteLine($"journey published: delays due at {dueAt:HH:mm:ss} (in {(dueAt - DateTimeOffset.UtcNow).TotalSeconds:F0} s), waits time out after {timeoutSeconds} s");

        // ---- 1. entry ------------------------------------------------------------------------------------------------
        var batches = ids.Chunk(PerRequest).ToList();
        var requestMs = new ConcurrentBag<double>();
        var outcomes = new ConcurrentDictionary<string, int>();
        var next = -1;
        var entryStart = DateTimeOffset.UtcNow;
        var entryTick = monitor.Now;
        var entryClock = Stopwatch.StartNew();
        var progress = ProgressAsync(admin, monitor, entryClock, n);
        await Task.WhenAll(Enumerable.Range(0, o.EnterConcurrency).Select(_ => Task.Run(async () =>
        {
            int i;
            while ((i = Interlocked.Increment(ref next)) < batches.Count)
            {
                var people = batches[i].Select(id => o.EnterBy == "identity" ? (object)new { identity = $"userId:u{person[id]}" } : new { profileId = id }).ToList();
                var started = Stopwatch.GetTimestamp();
                using var response = await admin.PostAsJsonAsync($"/api/journeys/{JourneyId}/enter", new { people });
                var body = await response.Content.ReadAsStringAsync();
                if (!response.IsSuccessStatusCode) throw new InvalidOperationException($"enter: {(int)response.StatusCode} {body}");
                requestMs.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
                var answer = JsonDocument.Parse(body).RootElement;
                foreach (var key in new[] { "entered", "alreadyIn", "notFound", "busy" })
                    outcomes.AddOrUpdate(key, answer.GetProperty(key).GetInt32(), (_, v) => v + answer.GetProperty(key).GetInt32());
            }
        })));
        var entrySeconds = entryClock.Elapsed.TotalSeconds;
        var entered = outcomes.GetValueOrDefault("entered");
        var entryRate = n / entrySeconds;
        Console.WriteLine($"entry: {n:N0} people in {entrySeconds:F1} s ({entryRate:F0}/s), request {Stats.Of(requestMs)}; " +
            string.Join(", ", outcomes.OrderBy(x => x.Key).Select(x => $"{x.Key} {x.Value}")));

        if (!o.Runs(2))
        {
            // --phases 1: entry only (a quick look at the entry rate at full size; nothing after it is measured).
            var line = $"Entry only ({DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC, {Environment.ProcessorCount} cores): {n:N0} people by {o.EnterBy}, {PerRequest:N0} a request, " +
                $"{o.EnterConcurrency} at a time: {entrySeconds:F1} s, {entryRate:N0} profiles/s (request {Stats.Of(requestMs)}); entered {entered:N0}; " +
                $"raw Azurite in the same run: batch writes {raw.BatchedEntitiesPerSecond:N0} entities/s ({entryRate / raw.BatchedEntitiesPerSecond:F2}×), " +
                $"point reads {raw.PointReadsPerSecond:N0}/s ({entryRate / raw.PointReadsPerSecond:F2}×).";
            Console.WriteLine(line);
            if (o.Out is not null) await File.WriteAllTextAsync(o.Out, line + Environment.NewLine);
            return entered == n ? 0 : 1;
        }

        // ---- 2. first steps: every run at the delay, its timer armed -------------------------------------------------
        var stall = TimeSpan.FromSeconds(Math.Max(180, timeoutSeconds + 60));
        await WaitForAsync(admin, s => Node(s, Hold), n, "runs at the delay", stall, entryClock, runsTable, tenant.Id);
        var firstDoneTick = monitor.Now;
        var first = await ScanRunsAsync(runsTable, tenant.Id, (run, written) => new FirstStep(
            run.EnteredAt, At(run, Hold), written, run.Node == Hold && run.DueAt == dueAt));
        var armedAfterDue = first.Count(f => f.Written >= dueAt);
        var firstStart = first.Min(f => f.HoldAt ?? DateTimeOffset.MaxValue);
        var firstEnd = first.Max(f => f.Written);
        var firstRate = n / (firstEnd - firstStart).TotalSeconds;
        var entryToArmed = Stats.Of(first.Select(f => (f.Written - f.EnteredAt).TotalMilliseconds));
        var firstStepsRate = monitor.PeakRate(entryTick, firstDoneTick, m => m.Steps);
        Console.WriteLine($"first steps: {first.Count(f => f.AtDelay):N0} of {n:N0} runs at the delay with the shared due time; " +
            $"{n:N0} steps between {(firstStart - entryStart).TotalSeconds:F1} s and {(firstEnd - entryStart).TotalSeconds:F1} s after entry began ({firstRate:F0} steps/s; " +
            $"best second {firstStepsRate:F0}/s); entry → armed {entryToArmed}; {armedAfterDue} armed after the due time");
        var entryCpu = monitor.CpuOver(entryTick, firstDoneTick);
        Console.WriteLine($"  CPU during entry and first steps: {entryCpu}");
        if (armedAfterDue > 0) Console.WriteLine($"  WARNING: {armedAfterDue} delays were armed after they were due: raise --delay-seconds");
        first = null!;

        // ---- 3. the wait: N runs wait, nothing in memory but the app ------------------------------------------------
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        var heapWaiting = GC.GetTotalMemory(forceFullCollection: true) / 1024.0 / 1024.0;
        var waitTick = monitor.Now;
        var untilDue = dueAt - DateTimeOffset.UtcNow;
        if (untilDue > TimeSpan.Zero)
        {
            Console.WriteLine($"waiting {untilDue.TotalSeconds:F0} s for the {n:N0} delays to fall due together");
            await Task.Delay(untilDue - TimeSpan.FromMilliseconds(Math.Min(200, untilDue.TotalMilliseconds)));
        }
        var dueTick = monitor.Now;
        var opsAtDue = ops.Snapshot();
        var waitingMemory = monitor.Window(waitTick, dueTick);
        var waitCpu = monitor.CpuOver(waitTick, dueTick);
        Console.WriteLine($"while {n:N0} runs waited ({(dueTick - waitTick) / (double)Stopwatch.Frequency:F0} s): working set max {waitingMemory.MaxWorkingSetMb:F0} MiB, " +
            $"managed heap after a full collection {heapWaiting:F0} MiB; Azurite processes {waitingMemory.MaxAzuriteMb:F0} MiB; CPU {waitCpu}");

        // ---- 4. N delays due at one instant ---------------------------------------------------------------------------
        await WaitForAsync(admin, s => Node(s, WaitPay), n, "runs past the delay", stall, entryClock, runsTable, tenant.Id);
        var waveTick = monitor.Now;
        var wave = await ScanRunsAsync(runsTable, tenant.Id, (run, written) => new DueStep(At(run, WaitPay), run.Node == WaitPay ? written : null));
        var lateStart = Stats.Of(wave.Where(w => w.WaitAt is not null).Select(w => (w.WaitAt!.Value - dueAt).TotalMilliseconds));
        var lateCommit = Stats.Of(wave.Where(w => w.Written is not null).Select(w => (w.Written!.Value - dueAt).TotalMilliseconds));
        var waveEnd = wave.Max(w => w.Written ?? w.WaitAt ?? dueAt);
        var waveRate = n / (waveEnd - dueAt).TotalSeconds;
        var waveBest = monitor.PeakRate(dueTick, waveTick, m => m.Steps);
        Console.WriteLine($"due together: {n:N0} runs left the delay within {(waveEnd - dueAt).TotalSeconds:F1} s ({waveRate:F0} steps/s, best second {waveBest:F0}/s); " +
            $"lateness at the step {lateStart}; at its commit {lateCommit}");
        var waveCpu = monitor.CpuOver(dueTick, waveTick);
        Console.WriteLine($"  CPU while the due runs moved: {waveCpu}");
        var waveOps = ops.Report(opsAtDue, n, "step");
        var opsAtWaveEnd = ops.Snapshot();
        Console.WriteLine(waveOps);
        wave = null!;

        // ---- 5. the timeouts: condition, send, exit ---------------------------------------------------------------------
        await WaitForAsync(admin, s => s.GetProperty("completed").GetInt64() + s.GetProperty("exited").GetInt64(), n, "runs ended", stall, entryClock, runsTable, tenant.Id);
        var endTick = monitor.Now;
        var timeout = TimeSpan.FromSeconds(timeoutSeconds);
        var ends = await ScanRunsAsync(runsTable, tenant.Id, (run, written) => new Ended(run.ProfileId, run.Status, run.EndReason,
            string.Join(">", run.Path.Select(s => $"{s.Node}:{s.Branch}")), At(run, WaitPay), At(run, Check), written));
        var lateTimeout = Stats.Of(ends.Where(e => e.WaitAt is not null && e.CheckAt is not null)
            .Select(e => (e.CheckAt!.Value - (e.WaitAt!.Value + timeout)).TotalMilliseconds));
        var lateTimeoutCommit = Stats.Of(ends.Where(e => e.WaitAt is not null).Select(e => (e.Written - (e.WaitAt!.Value + timeout)).TotalMilliseconds));
        var timeoutsFrom = ends.Where(e => e.WaitAt is not null).Min(e => e.WaitAt!.Value) + timeout;
        var timeoutsTo = ends.Max(e => e.Written);
        var timeoutRate = n / (timeoutsTo - timeoutsFrom).TotalSeconds;
        var timeoutBest = monitor.PeakRate(waveTick, endTick, m => m.Steps);
        var timeoutCpu = monitor.CpuOver(waveTick, endTick);
        var timeoutOps = ops.Report(opsAtWaveEnd, n, "run");
        Console.WriteLine(timeoutOps);
        Console.WriteLine($"timeouts: {n:N0} runs timed out, checked and ended between {(timeoutsFrom - dueAt).TotalSeconds:F1} s and {(timeoutsTo - dueAt).TotalSeconds:F1} s " +
            $"after the delays' due time ({timeoutRate:F0} steps/s, best second {timeoutBest:F0}/s); lateness at the step {lateTimeout}; at its commit {lateTimeoutCommit}; CPU {timeoutCpu}");

        // ---- verification ------------------------------------------------------------------------------------------------
        string ExpectedPath(int p) => p % 3 == 0
            ? $"{Hold}:next>{WaitPay}:timedOut>{Check}:then>{Sms}:next>{Done}:end"
            : $"{Hold}:next>{WaitPay}:timedOut>{Check}:else>{Done}:end";
        var wrongRuns = ends.Count(e => e.Status != InstanceStatus.Completed || e.EndReason != JourneyInterpreter.ReasonExitNode
                                        || !person.TryGetValue(e.ProfileId, out var p) || e.Path != ExpectedPath(p));
        var sampleWrong = ends.FirstOrDefault(e => !person.TryGetValue(e.ProfileId, out var p) || e.Path != ExpectedPath(p) || e.Status != InstanceStatus.Completed);
        if (sampleWrong is not null) Console.WriteLine($"  a wrong run: {sampleWrong}");
        var runCount = ends.Count;
        ends = null!;
        var deliveries = await ScanDeliveriesAsync(runsTable, tenant.Id);
        var expectedSends = Enumerable.Range(0, n).Count(p => p % 3 == 0);
        var perProfile = deliveries.GroupBy(d => d.ProfileId).ToDictionary(g => g.Key, g => g.ToList(), StringComparer.Ordinal);
        var duplicates = perProfile.Values.Sum(l => l.Count - 1);
        var missing = Enumerable.Range(0, n).Count(p => p % 3 == 0 && !perProfile.ContainsKey(ids[p]));
        var unwanted = perProfile.Keys.Count(id => !person.TryGetValue(id, out var p) || p % 3 != 0);
        var badContent = deliveries.Count(d => d.Channel != "sms" || d.Template != Template || !person.TryGetValue(d.ProfileId, out var p) || d.Name != $"会员{p}");
        var stats = await StatsAsync(admin);
        var statsSms = Node(stats, Sms);
        Console.WriteLine($"verify: {runCount:N0} runs read, {wrongRuns} not completed on their expected path; {deliveries.Count:N0} delivery requests for {expectedSends:N0} gold people " +
            $"({missing} missing, {duplicates} duplicates, {unwanted} for people not gold, {badContent} with wrong content); stats: entered {stats.GetProperty("entered")}, " +
            $"completed {stats.GetProperty("completed")}, exited {stats.GetProperty("exited")}, sms entered {statsSms}; " +
            $"ETag conflicts {monitor.Conflicts}, timers fired {monitor.TimersFired:N0}, steps {monitor.Steps:N0}");

        var peakMb = Process.GetCurrentProcess().PeakWorkingSet64 / 1024.0 / 1024.0;
        var all = monitor.Window(entryTick, endTick);

        // ---- what a step's storage work costs this Azurite now, with every run and delivery request in the table ----------------
        // Measured once the sweep has cleared this run's fired timers (it does so after the journey queues fall quiet), so
        // the two do not share the emulator.
        var timersTable = app.Services.GetRequiredService<Siyu.Storage.Journeys.TimerStore>().Table;
        var clearing = Stopwatch.StartNew();
        while (clearing.Elapsed < TimeSpan.FromMinutes(10))
        {
            var left = false;
            await foreach (var _ in timersTable.QueryAsync<TableEntity>(TableClient.CreateQueryFilter($"Tenant eq {tenant.Id}"), maxPerPage: 1, select: ["RowKey"]))
            {
                left = true;
                break;
            }
            if (!left) break;
            await Task.Delay(TimeSpan.FromSeconds(5));
        }
        Console.WriteLine($"fired timers cleared by the sweep {clearing.Elapsed.TotalSeconds:F0} s after the last run ended");
        var tableRows = runCount + deliveries.Count;
        var floor = await StepCeilingsAsync(runsTable, tenant.Id, ids, TimeSpan.FromSeconds(o.RawSeconds));
        Console.WriteLine($"raw Azurite at the end ({tableRows:N0} runs and delivery requests in journeyruns): {floor}");

        // ---- report --------------------------------------------------------------------------------------------------------
        var batched = raw.BatchedEntitiesPerSecond;
        var report = new List<string>
        {
            $"Run {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC on {Environment.ProcessorCount} cores; Azurite in memory; app on Kestrel over loopback HTTP, queue listeners and timer sweep in this process. " +
            $"{n:N0} profiles; journey `delay (untilAttribute, all due at one instant {delaySeconds} s after publishing) → waitForEvent order_paid (timeout {timeoutSeconds} s, no one pays) → " +
            "condition (level is gold: every third person) → send sms → exit`.",
            "",
            "| Measure | Result | Raw Azurite in the same run | Ratio |",
            "|---|---|---|---|",
            $"| Seeding {n:N0} profiles " + (direct ? "written directly (profile, event row and identity claim each)" : "via `POST /api/events`") +
                $" | {n / seedSeconds:N0} profiles/s ({seedSeconds:F0} s) | batch writes {batched:N0} entities/s | {n / seedSeconds / batched:F2}× |",
            $"| **Entry**, `POST /api/journeys/{{id}}/enter` × {PerRequest:N0} people by {o.EnterBy}, {o.EnterConcurrency} requests at a time | **{entryRate:N0} profiles/s; " +
                $"{n:N0} in {entrySeconds:F1} s** (target < 120 s); request p50 {Stats.Of(requestMs).P50:N0} ms, p99 {Stats.Of(requestMs).P99:N0} ms; {entered:N0} entered | " +
                $"batch writes {batched:N0} entities/s; point reads {raw.PointReadsPerSecond:N0}/s | {entryRate / batched:F2}× / {entryRate / raw.PointReadsPerSecond:F2}× |",
            $"| **First steps** (run at the delay, timer armed: taken by the entry itself when it has read the person, else by the engine on an entry timer) | **{firstRate:N0} steps/s** (all {n:N0} armed {(firstEnd - entryStart).TotalSeconds:F1} s " +
                $"after entry began; best second {firstStepsRate:N0}/s); entry → armed p50 {entryToArmed.P50 / 1000:F1} s, p99 {entryToArmed.P99 / 1000:F1} s | batch writes {batched:N0} entities/s; " +
                $"step floor with a profile read {floor.WithProfile(floor.PointReads):N0}/s | {firstRate / batched:F2}× / {firstRate / floor.WithProfile(floor.PointReads):F2}× |",
            $"| **{n:N0} timers due at one instant**: lateness of leaving the delay (step start / its commit) | **p50 {lateStart.P50 / 1000:F1} s, p99 {lateStart.P99 / 1000:F1} s, max {lateStart.Max / 1000:F1} s** / " +
                $"p50 {lateCommit.P50 / 1000:F1} s, p99 {lateCommit.P99 / 1000:F1} s, max {lateCommit.Max / 1000:F1} s (n={lateCommit.Count:N0}) | | |",
            $"| … all {n:N0} processed (delay → wait armed) | **{(waveEnd - dueAt).TotalSeconds:F1} s, {waveRate:N0} steps/s** (best second {waveBest:N0}/s) | batch writes {batched:N0} entities/s; " +
                $"step floor {floor.Step(floor.Spans):N0}/s (with point reads of runs {floor.Step(floor.PointReads):N0}/s) | {waveRate / batched:F2}× / {waveRate / floor.Step(floor.Spans):F2}× |",
            $"| Wait timeouts (each due {timeoutSeconds} s after its own wait began): condition, send, exit | {timeoutRate:N0} steps/s over {(timeoutsTo - timeoutsFrom).TotalSeconds:F1} s " +
                $"(best second {timeoutBest:N0}/s); lateness at the step p50 {lateTimeout.P50 / 1000:F1} s, p99 {lateTimeout.P99 / 1000:F1} s, max {lateTimeout.Max / 1000:F1} s | batch writes {batched:N0} entities/s; " +
                $"step floor with a profile read {floor.WithProfile(floor.PointReads):N0}/s | {timeoutRate / batched:F2}× / {timeoutRate / floor.WithProfile(floor.PointReads):F2}× |",
            $"| Delivery requests written vs gold people | {deliveries.Count:N0} of {expectedSends:N0}: {missing} missing, {duplicates} duplicates, {unwanted} unwanted, {badContent} wrong content; " +
                $"stats endpoint sms {statsSms:N0}, completed {stats.GetProperty("completed").GetInt64():N0} | | |",
            $"| Runs read back on their expected path, completed | {runCount - wrongRuns:N0} of {n:N0} | | |",
            $"| **Memory while {n:N0} runs wait** (app + load generator process) | working set max **{waitingMemory.MaxWorkingSetMb:N0} MiB**; managed heap after a full collection {heapWaiting:N0} MiB | " +
                $"Azurite's two processes {waitingMemory.MaxAzuriteMb:N0} MiB | |",
            $"| CPU, share of one core (app + load generator / Azurite table / Azurite queue) | entry and first steps {entryCpu.App:P0} / {entryCpu.Table:P0} / {entryCpu.Queue:P0}; " +
                $"waiting {waitCpu.App:P0} / {waitCpu.Table:P0} / {waitCpu.Queue:P0}; due runs moving {waveCpu.App:P0} / {waveCpu.Table:P0} / {waveCpu.Queue:P0}; " +
                $"timeouts {timeoutCpu.App:P0} / {timeoutCpu.Table:P0} / {timeoutCpu.Queue:P0} | | |",
            $"| Peak working set over the whole run (entry to last exit: {all.MaxWorkingSetMb:N0} MiB) | {peakMb:N0} MiB | | |",
            "",
            $"Raw Azurite ceilings: batch transaction of 100 {raw.BatchTransactionsPerSecond:N0}/s = {batched:N0} entities/s (8 in flight), single upsert {raw.SingleUpsertsPerSecond:N0}/s, " +
            $"point read {raw.PointReadsPerSecond:N0}/s, queue put {raw.QueuePutsPerSecond:N0}/s (32 in flight). " +
            $"On the run's own emulator at the end ({tableRows:N0} runs and delivery requests in `journeyruns`): reading runs by range queries over 100 " +
            $"consecutive run keys of a partition, as the engine reads one message of due runs, {floor.Spans:N0} runs/s (8 in flight), by point reads {floor.PointReads:N0}/s " +
            $"(32 in flight, as scattered runs are read); rewriting run rows by merge {floor.Rewrites:N0}/s, adding rows {floor.Inserts:N0}/s, deleting them {floor.Deletes:N0}/s (transactions of 100, 8 in flight). The **step floor** is the least " +
            "storage work of one timer step done back to back on this one emulator process, nothing else running: read the run, rewrite it, add the next timer, delete the " +
            "fired one (first steps and timeouts also read the profile); the sweep deletes fired timers later, once the journey queues are nearly empty, so a burst of due " +
            "runs can move faster than this floor. Azurite answers every query by scanning the whole table, and its updates and deletes slow as a table " +
            "grows (point reads and adds do not), unlike Table Storage.",
            "A step is one committed move of a run (its row written under its ETag, with its delivery requests and the partition's counters); lateness \"at the step\" is the " +
            "time the engine stamped on the run's path when it moved it, \"at its commit\" the storage timestamp of that write. " +
            $"ETag conflicts during the run: {monitor.Conflicts:N0}.",
        };
        report.AddRange(["", $"Storage requests of the app while the {n:N0} due runs moved (with the progress polls of the stats endpoint):", "", waveOps,
            "", $"… and while the {n:N0} wait timeouts ran (condition, send, exit; the sends are queued to the delivery worker, which is part of this):", "", timeoutOps]);
        if (armedAfterDue > 0) report.Add($"**{armedAfterDue:N0} delays were armed after their due time**: the lateness figures understate; rerun with a larger `--delay-seconds`.");

        var text = string.Join(Environment.NewLine, report);
        Console.WriteLine();
        Console.WriteLine(text);
        if (o.Out is not null) await File.WriteAllTextAsync(o.Out, text + Environment.NewLine);
        await progress.DisposeAsync();
        var wrong = wrongRuns + missing + duplicates + unwanted + badContent + (runCount - n) + (n - entered) + (statsSms == expectedSends ? 0 : 1);
        return wrong == 0 ? 0 : 1;
    }

    // ---- the journey and the people ----------------------------------------------------------------------------------------

    private static JsonObject Journey(string offset, int timeoutSeconds) => new()
    {
        ["name"] = "Bench: remind unpaid gold members",
        ["entry"] = new JsonObject { ["on"] = "api", ["reentry"] = "once" },
        ["start"] = Hold,
        ["nodes"] = new JsonObject
        {
            [Hold] = new JsonObject { ["type"] = "delay", ["untilAttribute"] = DueAttribute, ["offset"] = offset, ["next"] = WaitPay },
            [WaitPay] = new JsonObject { ["type"] = "waitForEvent", ["event"] = "order_paid", ["timeout"] = Durations.Format(TimeSpan.FromSeconds(timeoutSeconds)), ["arrived"] = Done, ["timedOut"] = Check },
            [Check] = new JsonObject { ["type"] = "condition", ["if"] = new JsonObject { ["attribute"] = "level", ["op"] = "eq", ["value"] = "gold" }, ["then"] = Sms, ["else"] = Done },
            [Sms] = new JsonObject { ["type"] = "send", ["channel"] = "sms", ["template"] = Template, ["variables"] = new JsonObject { ["name"] = "{{attributes.name}}" }, ["next"] = Done },
            [Done] = new JsonObject { ["type"] = "exit" },
        },
    };

    private static object Identify(int p, DateTimeOffset anchor) => new
    {
        type = "identify", messageId = $"id-{p}", identities = new { userId = $"u{p}" }, timestamp = anchor.ToString("O"),
        traits = new Dictionary<string, object> { ["name"] = $"会员{p}", ["level"] = p % 3 == 0 ? "gold" : "silver", [DueAttribute] = anchor.ToString("O") },
    };

    private static DateTimeOffset WholeSecond(DateTimeOffset t) => new(t.UtcTicks - t.UtcTicks % TimeSpan.TicksPerSecond, TimeSpan.Zero);

    // ---- reading back ---------------------------------------------------------------------------------------------------------

    private sealed record FirstStep(DateTimeOffset EnteredAt, DateTimeOffset? HoldAt, DateTimeOffset Written, bool AtDelay);

    private sealed record DueStep(DateTimeOffset? WaitAt, DateTimeOffset? Written);

    private sealed record Ended(string ProfileId, string Status, string? EndReason, string Path, DateTimeOffset? WaitAt, DateTimeOffset? CheckAt, DateTimeOffset Written);

    private sealed record Delivery(string ProfileId, string Channel, string Template, string? Name);

    private static DateTimeOffset? At(JourneyInstance run, string node) => run.Path.LastOrDefault(s => s.Node == node)?.At;

    /// <summary>Every run of the tenant, each reduced by <paramref name="project"/> (with its row's storage timestamp) as it is read.</summary>
    private static async Task<List<T>> ScanRunsAsync<T>(TableClient table, string tenantId, Func<JourneyInstance, DateTimeOffset, T> project)
    {
        var clock = Stopwatch.StartNew();
        var found = new ConcurrentBag<T>();
        await Parallel.ForEachAsync(Enumerable.Range(0, Ids.ProfileBuckets), new ParallelOptions { MaxDegreeOfParallelism = 8 }, async (bucket, ct) =>
        {
            var filter = TableClient.CreateQueryFilter($"PartitionKey eq {StorageTables.BucketPartition(tenantId, bucket)} and Kind eq {"run"}");
            await foreach (var row in table.QueryAsync<TableEntity>(filter, maxPerPage: 1000, cancellationToken: ct))
                found.Add(project(RunStore.ToRun(row).Instance, row.Timestamp ?? default));
        });
        Console.WriteLine($"  read {found.Count:N0} runs in {clock.Elapsed.TotalSeconds:F1} s");
        return [.. found];
    }

    private static async Task<List<Delivery>> ScanDeliveriesAsync(TableClient table, string tenantId)
    {
        var found = new ConcurrentBag<Delivery>();
        await Parallel.ForEachAsync(Enumerable.Range(0, Ids.ProfileBuckets), new ParallelOptions { MaxDegreeOfParallelism = 8 }, async (bucket, ct) =>
        {
            var filter = TableClient.CreateQueryFilter($"PartitionKey eq {StorageTables.BucketPartition(tenantId, bucket)} and Kind eq {"delivery"}");
            await foreach (var row in table.QueryAsync<TableEntity>(filter, maxPerPage: 1000, cancellationToken: ct))
            {
                var variables = JsonSerializer.Deserialize<Dictionary<string, string>>(row.GetString("Variables") ?? "{}") ?? new();
                found.Add(new Delivery(row.RowKey[..row.RowKey.IndexOf('~')], row.GetString("Channel") ?? "", row.GetString("Template") ?? "", variables.GetValueOrDefault("name")));
            }
        });
        return [.. found];
    }

    /// <summary>What one step's storage work costs this emulator, per operation, measured on the runs table as the run left it.</summary>
    private sealed record StepCeilings(double PointReads, double Spans, double Rewrites, double Inserts, double Deletes)
    {
        /// <summary>Steps per second if a step's storage work ran back to back: read the run, rewrite it, add a timer, delete the fired one.</summary>
        public double Step(double runReads) => 1 / (1 / runReads + 1 / Rewrites + 1 / Inserts + 1 / Deletes);

        /// <summary>The same with a profile read (the first step's delay on a date attribute, the condition).</summary>
        public double WithProfile(double runReads) => 1 / (1 / Step(runReads) + 1 / PointReads);

        public override string ToString() =>
            $"runs read by range queries of 100 keys {Spans:F0}/s (8 in flight), by point reads {PointReads:F0}/s (32 in flight); run rows rewritten by merge {Rewrites:F0}/s, " +
            $"rows added {Inserts:F0}/s, deleted {Deletes:F0}/s (transactions of 100, 8 in flight); step floor {Step(Spans):F0}/s ({Step(PointReads):F0}/s with point reads), " +
            $"with a profile read {WithProfile(PointReads):F0}/s";
    }

    /// <summary>
    /// Run rows per second by point reads and by range queries over 100 consecutive run keys of a partition (how
    /// <see cref="RunStore.GetManyAsync"/> reads one message of due runs); run rows rewritten unchanged by merge, timer-sized rows
    /// added and deleted, 100 per transaction; all on the runs table as the run left it.
    /// </summary>
    private static async Task<StepCeilings> StepCeilingsAsync(TableClient table, string tenantId, string[] ids, TimeSpan duration)
    {
        var byPartition = ids.GroupBy(id => RunStore.Partition(tenantId, id))
            .Select(g => (Partition: g.Key, Keys: g.Select(id => RunStore.RunKey(id, JourneyId, "0")).Order(StringComparer.Ordinal).ToArray())).ToArray();
        async Task<double> Run(int workers, Func<int, Task<int>> work)
        {
            var done = 0;
            var clock = Stopwatch.StartNew();
            await Task.WhenAll(Enumerable.Range(0, workers).Select(w => Task.Run(async () =>
            {
                for (var i = w; clock.Elapsed < duration; i += workers) Interlocked.Add(ref done, await work(i));
            })));
            return done / clock.Elapsed.TotalSeconds;
        }
        var point = await Run(32, async i =>
        {
            var (partition, keys) = byPartition[i % byPartition.Length];
            return (await table.GetEntityIfExistsAsync<TableEntity>(partition, keys[i / byPartition.Length % keys.Length])).HasValue ? 1 : 0;
        });
        var spans = await Run(8, async i =>
        {
            var (partition, keys) = byPartition[i % byPartition.Length];
            var chunk = keys.Skip(i / byPartition.Length * 100 % Math.Max(1, keys.Length - 100)).Take(100).ToArray();
            var wanted = chunk.ToHashSet(StringComparer.Ordinal);
            var filter = TableClient.CreateQueryFilter($"PartitionKey eq {partition} and RowKey ge {chunk[0]} and RowKey le {chunk[^1]}");
            var found = 0;
            await foreach (var row in table.QueryAsync<TableEntity>(filter, maxPerPage: 1000)) if (wanted.Contains(row.RowKey)) found++;
            return found;
        });

        // Up to 100 runs of each partition, written back unchanged again and again.
        var rows = new ConcurrentBag<(string Partition, List<TableEntity> Rows)>();
        await Parallel.ForEachAsync(byPartition, new ParallelOptions { MaxDegreeOfParallelism = 8 }, async (p, ct) =>
        {
            var list = new List<TableEntity>();
            foreach (var key in p.Keys.Take(100))
                if ((await table.GetEntityIfExistsAsync<TableEntity>(p.Partition, key, cancellationToken: ct)) is { HasValue: true } row) list.Add(row.Value!);
            rows.Add((p.Partition, list));
        });
        var batches = rows.Where(r => r.Rows.Count > 0).ToArray();
        var rewrites = await Run(8, async i =>
        {
            var (_, list) = batches[i % batches.Length];
            await table.SubmitTransactionAsync(list.Select(r => new TableTransactionAction(TableTransactionActionType.UpdateMerge, r, ETag.All)));
            return list.Count;
        });

        // Timer-sized rows added, then deleted again, 100 per transaction.
        var added = new ConcurrentBag<(string Partition, string[] Keys)>();
        var inserts = await Run(8, async i =>
        {
            var partition = byPartition[i % byPartition.Length].Partition;
            var keys = Enumerable.Range(0, 100).Select(k => $"~raw~{i}~{k}").ToArray();
            await table.SubmitTransactionAsync(keys.Select(k => new TableTransactionAction(TableTransactionActionType.Add, new TableEntity(partition, k)
            {
                ["Tenant"] = tenantId, ["Bucket"] = 0, ["Run"] = k, ["Generation"] = 1L, ["DueAt"] = DateTimeOffset.UtcNow,
            })));
            added.Add((partition, keys));
            return keys.Length;
        });
        var toDelete = added.ToArray();
        var deleteClock = Stopwatch.StartNew();
        await Parallel.ForEachAsync(toDelete, new ParallelOptions { MaxDegreeOfParallelism = 8 }, async (batch, ct) =>
            await table.SubmitTransactionAsync(batch.Keys.Select(k => new TableTransactionAction(TableTransactionActionType.Delete, new TableEntity(batch.Partition, k), ETag.All)), ct));
        var deletes = toDelete.Sum(b => b.Keys.Length) / deleteClock.Elapsed.TotalSeconds;
        return new StepCeilings(point, spans, rewrites, inserts, deletes);
    }

    // ---- waiting on the app ------------------------------------------------------------------------------------------------------

    private static async Task<JsonElement> StatsAsync(HttpClient admin)
    {
        using var response = await admin.GetAsync($"/api/journeys/{JourneyId}/stats");
        var body = await response.Content.ReadAsStringAsync();
        if (!response.IsSuccessStatusCode) throw new HttpRequestException($"GET stats: {(int)response.StatusCode} {body}");
        return JsonDocument.Parse(body).RootElement.Clone();
    }

    private static long Node(JsonElement stats, string node) =>
        stats.GetProperty("nodes").EnumerateArray().FirstOrDefault(x => x.GetProperty("id").GetString() == node) is { ValueKind: JsonValueKind.Object } x
            ? x.GetProperty("entered").GetInt64() : 0;

    /// <summary>
    /// Polls the stats endpoint until <paramref name="measure"/> reaches <paramref name="target"/>; gives up when it has
    /// not moved for <paramref name="stall"/>, saying where the runs are.
    /// </summary>
    private static async Task WaitForAsync(HttpClient admin, Func<JsonElement, long> measure, long target, string what, TimeSpan stall, Stopwatch clock,
        TableClient runs, string tenantId)
    {
        long last = -1;
        var lastMove = Stopwatch.StartNew();
        while (true)
        {
            var value = measure(await StatsAsync(admin));
            if (value >= target) return;
            if (value != last) { last = value; lastMove.Restart(); }
            if (lastMove.Elapsed > stall)
            {
                var where = await ScanRunsAsync(runs, tenantId, (run, _) => $"{run.Status} at {run.Node ?? "(not started)"}");
                throw new TimeoutException($"{what}: stuck at {value:N0} of {target:N0} after {clock.Elapsed.TotalSeconds:F0} s; runs: " +
                    string.Join(", ", where.GroupBy(x => x).OrderBy(g => g.Key).Select(g => $"{g.Key} {g.Count():N0}")));
            }
            await Task.Delay(500);
        }
    }

    /// <summary>Prints the journey's counters every 10 s until disposed.</summary>
    private static IAsyncDisposable ProgressAsync(HttpClient admin, Monitor monitor, Stopwatch clock, int n)
    {
        var stop = new CancellationTokenSource();
        var task = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                try { await Task.Delay(TimeSpan.FromSeconds(10), stop.Token); } catch (OperationCanceledException) { return; }
                try
                {
                    var s = await StatsAsync(admin);
                    Console.WriteLine($"  {clock.Elapsed.TotalSeconds:F0} s: entered {s.GetProperty("entered")}, at/after delay {Node(s, Hold):N0}, wait {Node(s, WaitPay):N0}, " +
                        $"check {Node(s, Check):N0}, sms {Node(s, Sms):N0}, ended {s.GetProperty("completed").GetInt64() + s.GetProperty("exited").GetInt64():N0} of {n:N0}; " +
                        $"steps {monitor.Steps:N0}, timers fired {monitor.TimersFired:N0}, working set {monitor.LastWorkingSetMb:F0} MiB");
                }
                catch (Exception e) when (e is HttpRequestException or TaskCanceledException) { }
            }
        });
        return new Stopper(stop, task);
    }

    private sealed class Stopper(CancellationTokenSource stop, Task task) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync()
        {
            await stop.CancelAsync();
            await task;
        }
    }

    private static async Task Expect(HttpResponseMessage response, string what, bool problemsAllowed)
    {
        using (response)
        {
            var body = await response.Content.ReadAsStringAsync();
            if (!response.IsSuccessStatusCode) throw new InvalidOperationException($"{what}: {(int)response.StatusCode} {body}");
            if (!problemsAllowed && JsonNode.Parse(body)?["problems"] is JsonArray { Count: > 0 } problems) throw new InvalidOperationException($"{what}: {problems.ToJsonString()}");
        }
    }

    /// <summary>
    /// The journey engine's own counters (steps committed, timers fired, ETag conflicts), and, every 200 ms, this
    /// process's working set and CPU time and those of Azurite's two Node processes (from /proc).
    /// </summary>
    internal sealed class Monitor : IDisposable
    {
        public sealed record Sample(long Tick, long Steps, long Fired, double WorkingSetMb, double AzuriteMb, double AppCpu, double TableCpu, double QueueCpu);
        public sealed record Memory(double MaxWorkingSetMb, double MaxAzuriteMb);
        /// <summary>Share of one core used over a window: this process, Azurite's table service, its queue service.</summary>
        public sealed record Cpu(double App, double Table, double Queue)
        {
            public override string ToString() => $"app {App:P0}, Azurite table {Table:P0}, Azurite queue {Queue:P0} of one core";
        }

        private readonly MeterListener _listener = new();
        private readonly List<Sample> _samples = new();
        private readonly CancellationTokenSource _stop = new();
        private readonly Task _sampler;
        private readonly List<(int Pid, bool Table)> _azurite;
        private long _steps, _fired, _conflicts;

        public long Steps => Interlocked.Read(ref _steps);
        public long TimersFired => Interlocked.Read(ref _fired);
        public long Conflicts => Interlocked.Read(ref _conflicts);
        public long Now => Stopwatch.GetTimestamp();
        public double LastWorkingSetMb { get { lock (_samples) return _samples.Count == 0 ? 0 : _samples[^1].WorkingSetMb; } }

        public Monitor()
        {
            _listener.InstrumentPublished = (instrument, l) =>
            {
                if (instrument.Meter.Name == "Siyu.Journeys") l.EnableMeasurementEvents(instrument);
            };
            _listener.SetMeasurementEventCallback<long>((instrument, value, _, _) =>
            {
                switch (instrument.Name)
                {
                    case "siyu.journeys.steps": Interlocked.Add(ref _steps, value); break;
                    case "siyu.journeys.timers_fired": Interlocked.Add(ref _fired, value); break;
                    case "siyu.journeys.conflicts": Interlocked.Add(ref _conflicts, value); break;
                }
            });
            _listener.Start();
            using (var me = Process.GetCurrentProcess()) _azurite = AzuriteProcesses(me.Id);
            _sampler = Task.Run(async () =>
            {
                while (!_stop.IsCancellationRequested)
                {
                    using var me = Process.GetCurrentProcess();
                    double rss = 0, table = 0, queue = 0;
                    foreach (var (pid, isTable) in _azurite)
                    {
                        var (mb, cpu) = Read(pid);
                        rss += mb;
                        if (isTable) table += cpu; else queue += cpu;
                    }
                    lock (_samples)
                        _samples.Add(new Sample(Stopwatch.GetTimestamp(), Steps, TimersFired, me.WorkingSet64 / 1024.0 / 1024.0, rss, me.TotalProcessorTime.TotalSeconds, table, queue));
                    try { await Task.Delay(200, _stop.Token); } catch (OperationCanceledException) { }
                }
            });
        }

        private List<Sample> Inside(long from, long to)
        {
            lock (_samples) return _samples.Where(s => s.Tick >= from && s.Tick <= to).ToList();
        }

        public Memory Window(long from, long to)
        {
            var inside = Inside(from, to);
            return inside.Count == 0 ? new Memory(double.NaN, double.NaN) : new Memory(inside.Max(s => s.WorkingSetMb), inside.Max(s => s.AzuriteMb));
        }

        public Cpu CpuOver(long from, long to)
        {
            var inside = Inside(from, to);
            if (inside.Count < 2) return new Cpu(double.NaN, double.NaN, double.NaN);
            var (a, b) = (inside[0], inside[^1]);
            var wall = (b.Tick - a.Tick) / (double)Stopwatch.Frequency;
            return new Cpu((b.AppCpu - a.AppCpu) / wall, (b.TableCpu - a.TableCpu) / wall, (b.QueueCpu - a.QueueCpu) / wall);
        }

        /// <summary>The most of a counter done in any one second between two moments.</summary>
        public double PeakRate(long from, long to, Func<Sample, long> counter)
        {
            var inside = Inside(from, to);
            var best = 0.0;
            for (int a = 0, b = 0; b < inside.Count; b++)
            {
                while (inside[b].Tick - inside[a].Tick > Stopwatch.Frequency) a++;
                var span = (inside[b].Tick - inside[a].Tick) / (double)Stopwatch.Frequency;
                if (span >= 0.8) best = Math.Max(best, (counter(inside[b]) - counter(inside[a])) / span);
            }
            return best;
        }

        /// <summary>The Node processes this process started and that still run: Azurite's table and queue services.</summary>
        private static List<(int Pid, bool Table)> AzuriteProcesses(int parent)
        {
            var found = new List<(int, bool)>();
            if (!Directory.Exists("/proc")) return found;
            foreach (var dir in Directory.EnumerateDirectories("/proc"))
            {
                if (!int.TryParse(Path.GetFileName(dir), out var pid)) continue;
                try
                {
                    var stat = File.ReadAllText(Path.Combine(dir, "stat"));
                    var close = stat.LastIndexOf(')');
                    var comm = stat[(stat.IndexOf('(') + 1)..close];
                    var ppid = int.Parse(stat[(close + 2)..].Split(' ')[1], CultureInfo.InvariantCulture);
                    if (ppid != parent || comm != "node") continue;
                    var cmdline = File.ReadAllText(Path.Combine(dir, "cmdline"));
                    found.Add((pid, cmdline.Contains("table", StringComparison.Ordinal)));
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException or IndexOutOfRangeException) { }
            }
            return found;
        }

        /// <summary>Resident MiB and CPU seconds (user + system) of a process, from /proc; zeros once it is gone.</summary>
        private static (double Mb, double Cpu) Read(int pid)
        {
            try
            {
                var stat = File.ReadAllText($"/proc/{pid}/stat");
                var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
                // Fields after the command: state is [0], so utime (14th overall) is [11] and stime [12]; in clock ticks of 1/100 s.
                var cpu = (long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture)) / 100.0;
                var rss = File.ReadLines($"/proc/{pid}/status").FirstOrDefault(l => l.StartsWith("VmRSS:", StringComparison.Ordinal));
                var kb = rss is null ? 0 : long.Parse(rss.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture);
                return (kb / 1024.0, cpu);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException or IndexOutOfRangeException) { return (0, 0); }
        }

        public void Dispose()
        {
            _stop.Cancel();
            try { _sampler.Wait(); } catch (AggregateException) { }
            _listener.Dispose();
        }
    }
}
