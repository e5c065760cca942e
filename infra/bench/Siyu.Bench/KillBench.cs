using System.Diagnostics;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Azure.Data.Tables;
using Siyu.Azurite;
using Siyu.Core.Consent;
using Siyu.FakeProviders;
using Siyu.Functions.Operations;
using Siyu.Storage.Account;
using Siyu.Storage.Audit;
using Siyu.Storage.Identities;
using Siyu.Storage.Jobs;
using Siyu.Storage.Privacy;
using Siyu.Storage.Profiles;
using Siyu.Storage.Tables;

namespace Siyu.Bench;

/// <summary>
/// The kill benchmark (<c>--suite kill</c>): the app in a child process (<see cref="AppProcess"/>) is killed with SIGKILL
/// at a random moment of a campaign, a bulk tagging job and an erasure, trial after trial (10 of each unless told), and a
/// fresh child on the same Azurite and task hub finishes the work. Each process is first run once unkilled (trial 0):
/// its time is the window the kills fall in (uniformly between 0 and 95% of it, counted from the moment the request
/// was answered). After each trial the work is checked against the truth, read from storage and from the fake
/// provider, not from the app's own report alone:
/// <list type="bullet">
/// <item>campaign (to N people by phone; 97% with SMS consent, 2% withdrawn, 1% none): done, every consenting recipient
/// sent or recorded failed with an unknown outcome (a send in flight at the kill, where the provider does not dedupe),
/// none twice at the provider, the suppressed counted by reason, progress equal to the provider's count;</item>
/// <item>bulk tagging (the N people by profile id, a new tag each trial): done, one history row per person for the tag
/// (none lost, none twice), the job's counts equal to that (tagged N, nothing unchanged, skipped or failed);</item>
/// <item>erasure (M people each trial, erased at once): every receipt done, no row of the profile left, no identity
/// resolving, exactly one completion in the audit log per person, and the API answering 204.</item>
/// </list>
/// Every trial's orchestration must end Completed in the task hub. The children's leases are short (claims and queue
/// messages 20 s, the task hub's work items 10 s) so what a dead process held comes back soon; restart-to-done includes
/// that wait. The SMS provider does not dedupe (as Aliyun and Tencent Cloud SMS do not): sends are claimed first.
/// </summary>
public static class KillBench
{
    private const string Prefix = "kill";
    private const string Hub = "benchkill"; // BenchApp's task hub for the prefix
    private static readonly TimeSpan SendLease = TimeSpan.FromSeconds(20);
    private static readonly TimeSpan DoneWithin = TimeSpan.FromMinutes(5);
    private const int ProviderRate = 20_000;

    private static string Template(int trial) => $"kill_sms_{trial}";
    private static string ProviderTemplate(int trial) => $"SMS_KILL_{trial}";
    private static string Tag(int trial) => $"kill-tag-{trial}";
    /// <summary>Person p's phone as the identity index keys it.</summary>
    private static string PhoneKey(int p) => Siyu.Core.Identities.IdentityRules.NormaliseKey("phone:" + CampaignBench.Phone(p))!;

    /// <summary>What one trial came to. <see cref="Lost"/> and <see cref="Twice"/> count recipients, tagged people or erased people.</summary>
    private sealed record Trial(string Process, int Number, double? KilledAfter, string Moment, bool Done, double RestartToDone,
        bool Completed, long Lost, long Twice, bool ProgressTrue, string Detail)
    {
        public bool Passed => Done && Completed && Lost == 0 && Twice == 0 && ProgressTrue;

        public string Row() =>
            $"| {Process} | {(Number == 0 ? "0 (not killed)" : Number)} | {(KilledAfter is { } k ? $"{k:F1} s in, {Moment}" : Moment)} | " +
            (Done ? $"{RestartToDone:F1} s" : "**not done**") + $" | {(Completed ? "Completed" : "**not completed**")} | {Lost} | {Twice} | " +
            $"{(ProgressTrue ? "yes" : "**no**")} | {Detail} | {(Passed ? "passed" : "**failed**")} |";
    }

    /// <summary>One kind of work to kill in the middle of: how it starts, when it is done, what it was at the kill, whether it came out true.</summary>
    private interface ITarget
    {
        string Name { get; }
        Task<object> StartAsync(Child app, int trial);
        Task<bool> DoneAsync(Child app, int trial, object handle);
        Task<string> MomentAsync(int trial, object handle);
        Task<Trial> CheckAsync(Child app, int trial, object handle, double? killedAfter, string moment, bool done, double restartToDone);
    }

    /// <summary>The child app of the moment, with clients holding the tenant's keys (kept in storage, so every child knows them).</summary>
    private sealed class Child(string connectionString, string operatorKey, IReadOnlyDictionary<string, string?> settings, string marketerKey, string adminKey) : IDisposable
    {
        private AppProcess? _process;
        public HttpClient Marketer { get; private set; } = null!;
        public HttpClient Admin { get; private set; } = null!;

        public async Task StartAsync()
        {
            _process = await AppProcess.StartAsync(connectionString, Prefix, operatorKey, settings);
            Marketer = Client(_process.BaseAddress, marketerKey);
            Admin = Client(_process.BaseAddress, adminKey);
        }

        public void Kill() => _process?.Kill();

        public void Dispose()
        {
            _process?.Dispose();
            Marketer?.Dispose();
            Admin?.Dispose();
        }

        private static HttpClient Client(Uri baseAddress, string key) => new(new SocketsHttpHandler { MaxConnectionsPerServer = 64 })
        {
            BaseAddress = baseAddress, Timeout = TimeSpan.FromMinutes(2), DefaultRequestHeaders = { Authorization = new AuthenticationHeaderValue("Bearer", key) },
        };
    }

    public static async Task<int> RunAsync(Args o, string operatorKey)
    {
        var n = o.People;
        var trials = o.KillTrials;
        var m = o.Erasures;
        if ((trials + 1) * m > n) throw new ArgumentException($"--erasures {m} × {trials + 1} trials (with the unkilled one) is more than --people {n}");
        if (n > Siyu.Functions.Tags.BulkTagging.MaxTargets) throw new ArgumentException($"--people: at most {Siyu.Functions.Tags.BulkTagging.MaxTargets:N0} (one bulk tagging call)");

        RawAzurite.Ceilings raw;
        await using (var rawAzurite = await AzuriteProcess.StartAsync())
            raw = await RawAzurite.MeasureAsync(rawAzurite.ConnectionString, TimeSpan.FromSeconds(o.RawSeconds));
        Console.WriteLine($"raw Azurite: {raw}");

        await using var fake = await FakeProviderServer.StartAsync();
        await using var azurite = await AzuriteProcess.StartAsync();
        const string durable = "AzureFunctionsJobHost:extensions:durableTask:storageProvider:";
        var settings = new Dictionary<string, string?>
        {
            ["Channels:ProviderBaseUrls:sms"] = fake.BaseUrl.ToString().TrimEnd('/'),
            ["Channels:RatePerSecond"] = ProviderRate.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["Channels:Burst"] = "1000",
            // One key for every process: each reads the SMS account's API key the first one stored.
            ["Secrets:EncryptionKey"] = Convert.ToBase64String(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32)),
            // A send claimed by the dead process is settled (outcome unknown) after this; a failed queue message tried again after this.
            ["Delivery:SendTimeout"] = SendLease.ToString(),
            ["AzureFunctionsJobHost:extensions:queues:visibilityTimeout"] = SendLease.ToString(),
            // What the dead process had dequeued from the task hub reappears after these, not the default 5 minutes.
            [durable + "workItemQueueVisibilityTimeout"] = "00:00:10",
            [durable + "controlQueueVisibilityTimeout"] = "00:00:10",
        };

        // ---- set-up, by an app in this process that stops before the first child starts --------------------------------
        string tenantId, marketerKey, adminKey;
        Dictionary<string, string> claims;
        var seedClock = Stopwatch.StartNew();
        await using (var app = await BenchApp.StartAsync(azurite.ConnectionString, Prefix, operatorKey, listeners: false, settings))
        {
            var tenant = await Tenant.CreateAsync(new HttpClient(), app.BaseAddress, operatorKey, "bench-kill");
            tenantId = tenant.Id;
            using var op = new HttpClient { BaseAddress = app.BaseAddress, DefaultRequestHeaders = { Authorization = new AuthenticationHeaderValue("Bearer", operatorKey) } };
            async Task<string> Key(string role)
            {
                using var response = await op.PostAsJsonAsync($"/api/operator/tenants/{tenantId}/keys", new { role });
                return (await Ok(response, $"{role} key")).GetProperty("key").GetString()!;
            }
            marketerKey = await Key("marketer");
            adminKey = await Key("admin");
            var smsKey = "sms-" + Guid.NewGuid().ToString("N");
            fake.RegisterApiKey(smsKey, dedupes: false);
            await Ok(await tenant.Admin.PutAsJsonAsync("/api/tenants/current/channels/sms", new { apiKey = smsKey, sender = "BENCH", dedupes = false }), "sms account");
            for (var t = 0; t <= trials; t++)
            {
                await Ok(await tenant.Admin.PutAsJsonAsync($"/api/templates/{Template(t)}", new
                {
                    channel = "sms", providerTemplate = ProviderTemplate(t), fields = new { text = "hi {{name}} 回T退订" }, variables = new { name = new { @default = "Friend" } },
                }), "template");
                await Ok(await tenant.Admin.PutAsJsonAsync($"/api/tags/{Tag(t)}", new { group = "bench" }), "tag");
            }
            var decidedAt = DateTimeOffset.UtcNow.AddMinutes(-5);
            var events = Enumerable.Range(0, n).Select(p => (object)new
            {
                type = "identify", messageId = $"seed-{p}", identities = new { phone = CampaignBench.Phone(p) }, traits = new { name = $"会员{p}" },
            }).ToList();
            claims = await AudienceBench.SeedDirectAsync(app, tenantId, events, (key, state) =>
            {
                var p = int.Parse(key[^8..], System.Globalization.CultureInfo.InvariantCulture) - 10_000_000;
                if (CampaignBench.NoConsent(p)) return;
                state.Consent.Apply(new ConsentDecision
                {
                    Id = $"bench-{p}", Purpose = ConsentVocabulary.Marketing, Channel = "sms",
                    Status = CampaignBench.Withdrawn(p) ? ConsentStatus.Withdrawn : ConsentStatus.Granted, Source = ConsentSources.Api, OccurredAt = decidedAt,
                });
            });
            if (claims.Count != n) throw new InvalidOperationException($"seeded {claims.Count} of {n}");
        }
        Console.WriteLine($"set-up: {n:N0} people seeded, {trials + 1} templates and tags, in {seedClock.Elapsed.TotalSeconds:F1} s");

        var storage = new Storage(azurite.ConnectionString, tenantId);
        var people = Enumerable.Range(0, n).Select(p => claims[PhoneKey(p)]).ToArray();
        var withdrawn = Enumerable.Range(0, n).Count(CampaignBench.Withdrawn);
        var noConsent = Enumerable.Range(0, n).Count(CampaignBench.NoConsent);
        ITarget[] targets =
        [
            new CampaignTarget(n, n - withdrawn - noConsent, withdrawn, noConsent, fake, storage),
            new BulkTagTarget(people, storage),
            // Last: it erases people the others worked on (their deliveries, their tags), and erased people are gone.
            new ErasureTarget(people, m, storage),
        ];

        var results = new List<Trial>();
        using var child = new Child(azurite.ConnectionString, operatorKey, settings, marketerKey, adminKey);
        await child.StartAsync();
        foreach (var target in targets)
        {
            // Trial 0, not killed: its time is the kill window.
            var clock = Stopwatch.StartNew();
            var handle = await target.StartAsync(child, 0);
            var answered = clock.Elapsed.TotalSeconds;
            clock.Restart();
            var warmDone = await WaitAsync(() => target.DoneAsync(child, 0, handle));
            var window = clock.Elapsed.TotalSeconds;
            var warm = await target.CheckAsync(child, 0, handle, null, $"request {answered:F1} s, then done in {window:F1} s", warmDone, window);
            Console.WriteLine($"{target.Name} 0: {warm.Row()}");
            results.Add(warm);

            for (var t = 1; t <= trials; t++)
            {
                handle = await target.StartAsync(child, t);
                clock.Restart();
                await Task.Delay(TimeSpan.FromSeconds(window * 0.95 * Random.Shared.NextDouble()));
                child.Kill();
                var killedAfter = clock.Elapsed.TotalSeconds;
                var moment = await target.MomentAsync(t, handle);
                var restart = Stopwatch.StartNew();
                child.Dispose();
                await child.StartAsync();
                var done = await WaitAsync(() => target.DoneAsync(child, t, handle));
                var trial = await target.CheckAsync(child, t, handle, killedAfter, moment, done, restart.Elapsed.TotalSeconds);
                Console.WriteLine($"{target.Name} {t}: {trial.Row()}");
                results.Add(trial);
            }
        }

        // ---- report ---------------------------------------------------------------------------------------------------
        var killed = results.Where(r => r.Number > 0).ToList();
        var report = new List<string>
        {
            $"Run {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC on {Environment.ProcessorCount} cores; Azurite in memory; the app in a child process under the local Functions host, " +
            $"killed with SIGKILL and started again on the same storage and task hub; {n:N0} people (campaign and bulk tag), {m} erasures per trial; " +
            "child leases: sends and queue messages 20 s, task hub work items 10 s.",
            "",
            "| Process | Trials killed | Passed | Lost | Twice | Restart to done p50 / max | Unkilled run (the kill window) |",
            "|---|---|---|---|---|---|---|",
        };
        foreach (var group in results.GroupBy(r => r.Process))
        {
            var k = group.Where(r => r.Number > 0).ToList();
            var warm = group.First(r => r.Number == 0);
            report.Add($"| {group.Key} | {k.Count} | **{k.Count(r => r.Passed)} of {k.Count}** | {k.Sum(r => r.Lost)} | {k.Sum(r => r.Twice)} | " +
                       (k.Count > 0 ? $"{Stats.Of(k.Select(r => r.RestartToDone)).P50:F1} s / {k.Max(r => r.RestartToDone):F1} s" : "–") +
                       $" | {warm.RestartToDone:F1} s ({(warm.Passed ? "passed" : "**failed**")}) |");
        }
        report.AddRange([
            "",
            $"Raw Azurite ceilings in the same run: single upsert {raw.SingleUpsertsPerSecond:N0}/s, batch transaction of 100 {raw.BatchTransactionsPerSecond:N0}/s, " +
            $"queue put {raw.QueuePutsPerSecond:N0}/s, point read {raw.PointReadsPerSecond:N0}/s. Restart to done is bound by the leases above, not by throughput.",
            "",
            "| Process | Trial | Killed | Restart to done | Orchestration | Lost | Twice | Progress = truth | Detail | Result |",
            "|---|---|---|---|---|---|---|---|---|---|",
            .. results.Select(r => r.Row()),
        ]);
        var passed = results.All(r => r.Passed);
        if (!passed) report.Add($"{Environment.NewLine}**{results.Count(r => !r.Passed)} trial(s) failed.**");
        report.AddRange(["", $"Command: `dotnet run -c Release --project infra/bench/Siyu.Bench -- {string.Join(' ', Environment.GetCommandLineArgs().Skip(1))}`"]);
        var text = string.Join(Environment.NewLine, report);
        Console.WriteLine();
        Console.WriteLine(text);
        if (o.Out is not null) await File.WriteAllTextAsync(o.Out, text + Environment.NewLine);
        return passed ? 0 : 1;
    }

    /// <summary>Polls until done; false after <see cref="DoneWithin"/>. A request to a child still starting is tried again.</summary>
    private static async Task<bool> WaitAsync(Func<Task<bool>> done)
    {
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < DoneWithin)
        {
            try { if (await done()) return true; }
            catch (HttpRequestException) { }
            await Task.Delay(250);
        }
        return false;
    }

    private static async Task<JsonElement> Ok(HttpResponseMessage response, string what)
    {
        using (response)
        {
            var body = await response.Content.ReadAsStringAsync();
            if (!response.IsSuccessStatusCode) throw new InvalidOperationException($"{what}: {(int)response.StatusCode} {body}");
            return body.Length == 0 ? default : JsonDocument.Parse(body).RootElement.Clone();
        }
    }

    /// <summary>The truth, read from storage directly: the stores the app writes, and the task hub's Instances table.</summary>
    private sealed class Storage(string connectionString, string tenantId)
    {
        public string TenantId => tenantId;
        public StorageTables Tables { get; } = new(StorageAccount.Parse(connectionString), Prefix);
        private readonly TableClient _instances = new(connectionString, Hub + "Instances");

        /// <summary>
        /// The orchestration's status once it ends (or after a minute): the work can be done, as its own rows say, a moment
        /// before the orchestration records its last step; after a kill that can take the task hub's visibility timeout.
        /// </summary>
        public async Task<string?> RuntimeStatusAsync(string instanceId)
        {
            var clock = Stopwatch.StartNew();
            while (true)
            {
                var row = await _instances.GetEntityIfExistsAsync<TableEntity>(instanceId, "", ["RuntimeStatus"]);
                var status = row.HasValue ? row.Value!.GetString("RuntimeStatus") : null;
                if (status is "Completed" or "Failed" or "Terminated" || clock.Elapsed > TimeSpan.FromMinutes(1)) return status;
                await Task.Delay(250);
            }
        }
    }

    // ---- a campaign ---------------------------------------------------------------------------------------------------

    private sealed class CampaignTarget(int n, int consenting, int withdrawn, int noConsent, FakeProviderServer fake, Storage storage) : ITarget
    {
        private readonly string[] _identities = Enumerable.Range(0, n).Select(p => "phone:" + CampaignBench.Phone(p)).ToArray();
        private int _requestsBefore;

        public string Name => "campaign";

        private int Taken(int trial) => fake.Accepted.Count(a => a.Template == ProviderTemplate(trial));

        public async Task<object> StartAsync(Child app, int trial)
        {
            _requestsBefore = fake.Requests;
            return await CampaignBench.StartAsync(app.Marketer, new
            {
                name = $"kill {trial}", audience = new { identities = _identities },
                message = new { template = Template(trial), variables = new Dictionary<string, string> { ["name"] = "{{attributes.name}}" } },
            });
        }

        public async Task<bool> DoneAsync(Child app, int trial, object handle) =>
            (await CampaignBench.ViewAsync(app.Marketer, (string)handle)).GetProperty("done").GetBoolean();

        public Task<string> MomentAsync(int trial, object handle) => Task.FromResult($"{Taken(trial):N0} of {consenting:N0} sent");

        public async Task<Trial> CheckAsync(Child app, int trial, object handle, double? killedAfter, string moment, bool done, double restartToDone)
        {
            var id = (string)handle;
            await Task.Delay(1000); // anything still on its way to the provider
            var p = (await CampaignBench.ViewAsync(app.Marketer, id)).GetProperty("progress");
            long Count(string name) => p.GetProperty(name).GetInt64();
            var suppressed = p.GetProperty("suppressed");
            long Suppressed(string reason) => suppressed.TryGetProperty(reason, out var v) ? v.GetInt64() : 0;
            var messages = fake.Accepted.Where(a => a.Template == ProviderTemplate(trial)).ToList();
            var recipients = messages.Select(a => a.Recipient).Distinct().Count();
            var twice = messages.GroupBy(a => a.Recipient).Count(g => g.Count() > 1);
            long sent = Count("sent"), failed = Count("failed"), pending = Count("pending");
            var unknown = await OutcomeUnknownAsync(id);
            // Every consenting recipient is sent or failed with an unknown outcome (in flight at the kill); the provider
            // took each sent one, and at most the unknown ones besides; the suppressed are as seeded.
            var lost = consenting - sent - failed + pending;
            var progressTrue = Count("targeted") == n && Suppressed("withdrawn") == withdrawn && Suppressed("no_consent") == noConsent && pending == 0
                               && sent <= recipients && recipients <= sent + unknown && failed == unknown;
            var status = await storage.RuntimeStatusAsync(OperationIds.Campaign(storage.TenantId, id));
            return new Trial(Name, trial, killedAfter, moment, done, restartToDone, status == "Completed", lost, twice, progressTrue,
                $"sent {sent:N0}, unknown outcome {unknown}, provider took {recipients:N0} ({fake.Requests - _requestsBefore:N0} requests)");
        }

        private async Task<long> OutcomeUnknownAsync(string campaignId)
        {
            var filter = TableClient.CreateQueryFilter($"Campaign eq {campaignId} and Reason eq {Siyu.Core.Delivery.SendOnce.OutcomeUnknown}");
            long count = 0;
            await foreach (var _ in storage.Tables.JourneyRuns.QueryAsync<TableEntity>(filter, select: ["RowKey"])) count++;
            return count;
        }
    }

    // ---- a bulk tagging job -------------------------------------------------------------------------------------------

    private sealed class BulkTagTarget(string[] people, Storage storage) : ITarget
    {
        private readonly TagJobStore _jobs = new(storage.Tables, TimeProvider.System);

        public string Name => "bulk tag";

        public async Task<object> StartAsync(Child app, int trial)
        {
            using var response = await app.Marketer.PostAsJsonAsync($"/api/tags/{Tag(trial)}/bulk", new { profileIds = people });
            return (await Ok(response, "bulk tag")).GetProperty("jobId").GetString()!;
        }

        public async Task<bool> DoneAsync(Child app, int trial, object handle) =>
            (await app.Marketer.GetFromJsonAsync<JsonElement>($"/api/tags/jobs/{handle}")).GetProperty("status").GetString() == "done";

        public async Task<string> MomentAsync(int trial, object handle)
        {
            // Chunks run side by side and record themselves done at their end: the history rows say how far the tagging was.
            var tagged = (await HistoryAsync(trial)).Count;
            return $"{tagged:N0} of {people.Length:N0} tagged, {(await _jobs.GetAsync(storage.TenantId, (string)handle))?.Processed ?? 0:N0} in chunks recorded done";
        }

        /// <summary>The tag's history rows per person, written in the same transaction as each person's tag.</summary>
        private async Task<Dictionary<string, int>> HistoryAsync(int trial)
        {
            var rows = new Dictionary<string, int>(StringComparer.Ordinal);
            var filter = TableClient.CreateQueryFilter($"Kind eq {"tag"} and Tag eq {Tag(trial)}");
            await foreach (var row in storage.Tables.Profiles.QueryAsync<TableEntity>(filter, select: ["RowKey"]))
            {
                var profile = row.RowKey[..row.RowKey.IndexOf('~')];
                rows[profile] = rows.GetValueOrDefault(profile) + 1;
            }
            return rows;
        }

        public async Task<Trial> CheckAsync(Child app, int trial, object handle, double? killedAfter, string moment, bool done, double restartToDone)
        {
            var job = await app.Marketer.GetFromJsonAsync<JsonElement>($"/api/tags/jobs/{handle}");
            int Count(string name) => job.GetProperty(name).GetInt32();
            // The truth: the tag's history rows.
            var rows = await HistoryAsync(trial);
            var lost = people.Count(p => !rows.ContainsKey(p));
            var twice = rows.Count(r => r.Value > 1);
            var progressTrue = Count("processed") == people.Length && Count("tagged") == rows.Count && Count("unchanged") == 0 && Count("skipped") == 0 && Count("failed") == 0;
            var status = await storage.RuntimeStatusAsync(OperationIds.BulkTag(storage.TenantId, (string)handle));
            return new Trial(Name, trial, killedAfter, moment, done, restartToDone, status == "Completed", lost, twice, progressTrue,
                $"job: processed {Count("processed"):N0}, tagged {Count("tagged"):N0}, unchanged {Count("unchanged")}, skipped {Count("skipped")}, failed {Count("failed")}; history rows {rows.Values.Sum():N0}");
        }
    }

    // ---- erasures -----------------------------------------------------------------------------------------------------

    private sealed class ErasureTarget(string[] people, int perTrial, Storage storage) : ITarget
    {
        private readonly ErasureStore _receipts = new(storage.Tables);
        private readonly AuditStore _audit = new(storage.Tables);
        private readonly IdentityStore _identities = new(storage.Tables, TimeProvider.System);

        public string Name => "erasure";

        private string[] Of(int trial) => people.Skip(trial * perTrial).Take(perTrial).ToArray();

        public async Task<object> StartAsync(Child app, int trial)
        {
            await Parallel.ForEachAsync(Of(trial), new ParallelOptions { MaxDegreeOfParallelism = 8 }, async (profile, _) =>
            {
                using var response = await app.Admin.DeleteAsync($"/api/profiles/{profile}");
                if (response.StatusCode != System.Net.HttpStatusCode.Accepted)
                    throw new InvalidOperationException($"erase {profile}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
            });
            return Of(trial);
        }

        private async Task<int> ErasedAsync(string[] profiles)
        {
            var erased = 0;
            foreach (var profile in profiles)
                if ((await _receipts.GetAsync(storage.TenantId, profile))?.Status == ErasureStatus.Done) erased++;
            return erased;
        }

        public async Task<bool> DoneAsync(Child app, int trial, object handle) => await ErasedAsync((string[])handle) == ((string[])handle).Length;

        public async Task<string> MomentAsync(int trial, object handle)
        {
            // The receipt is marked last: how many had their profile row deleted (the step before) says more of where the kill fell.
            var profiles = (string[])handle;
            var rowGone = 0;
            foreach (var profile in profiles)
                if (!(await storage.Tables.Profiles.GetEntityIfExistsAsync<TableEntity>(ProfileStore.Partition(storage.TenantId, profile), profile, ["RowKey"])).HasValue) rowGone++;
            return $"{await ErasedAsync(profiles)} of {perTrial} erased, {rowGone} with their profile row deleted";
        }

        public async Task<Trial> CheckAsync(Child app, int trial, object handle, double? killedAfter, string moment, bool done, double restartToDone)
        {
            var profiles = (string[])handle;
            int lost = 0, twice = 0, rowsLeft = 0, resolving = 0, notGone = 0, notCompleted = 0;
            var index = Array.IndexOf(people, profiles[0]);
            for (var i = 0; i < profiles.Length; i++)
            {
                var profile = profiles[i];
                var completions = 0;
                var filter = TableClient.CreateQueryFilter($"PartitionKey eq {storage.TenantId} and Action eq {"profile.erase.completed"} and ProfileId eq {profile}");
                await foreach (var _ in storage.Tables.Audit.QueryAsync<TableEntity>(filter, select: ["RowKey"])) completions++;
                var left = 0;
                var partition = ProfileStore.Partition(storage.TenantId, profile);
                var rows = TableClient.CreateQueryFilter($"PartitionKey eq {partition} and RowKey ge {profile} and RowKey lt {profile + "\u007f"}");
                await foreach (var _ in storage.Tables.Profiles.QueryAsync<TableEntity>(rows, select: ["RowKey"])) left++;
                var resolves = await _identities.LookupAsync(storage.TenantId, PhoneKey(index + i), fresh: true) is not null;
                using var again = await app.Admin.DeleteAsync($"/api/profiles/{profile}");
                var receiptDone = (await _receipts.GetAsync(storage.TenantId, profile))?.Status == ErasureStatus.Done;
                var status = await storage.RuntimeStatusAsync(OperationIds.Erasure(storage.TenantId, profile));
                if (!receiptDone || left > 0 || resolves || completions == 0) lost++;
                if (completions > 1) twice++;
                rowsLeft += left;
                if (resolves) resolving++;
                if (again.StatusCode != System.Net.HttpStatusCode.NoContent) notGone++;
                if (status != "Completed") notCompleted++;
            }
            return new Trial(Name, trial, killedAfter, moment, done, restartToDone, notCompleted == 0, lost, twice, notGone == 0,
                $"{profiles.Length} erased: rows left {rowsLeft}, identities resolving {resolving}, API not 204 {notGone}, orchestrations not completed {notCompleted}");
        }
    }
}
