using Azure;
using Azure.Data.Tables;
using Siyu.Core.Consent;
using Siyu.Core.Events;
using Siyu.Core.Identities;
using Siyu.Core.Privacy;
using Siyu.Core.Profiles;
using Siyu.Core.Storage;
using Siyu.Core.Audience;
using Siyu.Functions.Audience;
using Siyu.Functions.Hosting;
using Siyu.Functions.Merges;
using Siyu.Storage.Audience;
using Siyu.Storage.Caching;
using Siyu.Storage.Identities;
using Siyu.Storage.Privacy;
using Siyu.Storage.Profiles;

namespace Siyu.Functions.Ingestion;

/// <summary>
/// Turns queued events into profiles. For a batch of ingest messages it
/// <list type="number">
/// <item>resolves every event's identities to one profile, creating profiles for new people (identity claims are
/// conditional inserts, so two processors can never create two profiles for one identity);</item>
/// <item>folds each profile's new events into it and commits the profile row and the event rows together, many
/// profiles of one partition per transaction. An event row's key is its dedupe key, so a replayed event conflicts
/// instead of counting twice, and the profile row is written under its ETag, so concurrent writers never lose an
/// update.</item>
/// </list>
/// Consent decisions an event carries go into the profile's consent ledger in the same transaction.
/// Events about erased people are counted and dropped, unless they bring a fresh consent (see <see cref="ResolveAsync"/>).
/// Replaying any message changes nothing. A bad event fails only its own message.
/// </summary>
public sealed class IngestProcessor(
    ProfileStore profiles, IdentityStore identities, PrivacyStores privacy, AudienceStore audience, ProfileRefresher refresher,
    IngestQueue queue, ProfileMerger merger, TimeProvider clock, ILogger<IngestProcessor> log,
    int profileCacheCapacity = 100_000, TimeSpan? erasureWait = null, Journeys.JourneyTriggers? journeys = null, Delivery.DeliveryReceipts? receipts = null)
    : IQueueHandler
{
    /// <summary>A fresh consent for someone whose erasure is still running waits this long, as often as it takes.</summary>
    private readonly TimeSpan _erasureWait = erasureWait ?? TimeSpan.FromSeconds(30);

    private const int MaxActionsPerTransaction = 100;
    /// <summary>Table transactions carry at most 4 MiB; stay well inside it.</summary>
    private const int MaxTransactionChars = 1_500_000;
    private const int MaxAttempts = 12;

    private readonly BoundedCache<string, (ProfileState State, ETag ETag)> _profileCache = new(profileCacheCapacity, clock);

    /// <summary>
    /// One commit per partition at a time in this process: batches of one process would otherwise race each other
    /// for the same profiles. Other processes are kept honest by ETags.
    /// </summary>
    private readonly SemaphoreSlim[] _partitionLocks = Enumerable.Range(0, 256).Select(_ => new SemaphoreSlim(1, 1)).ToArray();

    private sealed class Work(int message, string tenantId, IncomingEvent evt)
    {
        public int Message { get; } = message;
        public string TenantId { get; } = tenantId;
        public IncomingEvent Event { get; } = evt;
        public IReadOnlyList<ConsentDecision> Decisions { get; } = ConsentFacts.From(evt);
        public string ProfileId { get; set; } = "";
        public string? Error { get; set; }
        public bool Permanent { get; set; }
        /// <summary>About an erased person: dropped and counted, its message done.</summary>
        public bool Suppressed { get; set; }
        /// <summary>A fresh consent that must wait for an erasure to finish: queued again, its message done.</summary>
        public bool Deferred { get; set; }
        public bool GrantsConsent => Decisions.Any(d => d.Status == ConsentStatus.Granted);
        /// <summary>
        /// A consent event is kept as its ledger row alone (the ledger id is the event's dedupe key, so the row dedupes
        /// it just as an event row would); any other event gets an event row, plus ledger rows for the consent it carries.
        /// </summary>
        public bool LedgerOnly => Event.Type == EventType.Consent && Decisions.Count == 1;
        public int Rows => (LedgerOnly ? 0 : 1) + Decisions.Count;
    }

    public async Task<IReadOnlyList<WorkOutcome>> HandleAsync(IReadOnlyList<QueueWorkItem> batch, CancellationToken ct)
    {
        var outcomes = new WorkOutcome?[batch.Count];
        var work = new List<Work>();
        for (var i = 0; i < batch.Count; i++)
        {
            try
            {
                var envelope = IngestEnvelope.Parse(batch[i].Text);
                work.AddRange(envelope.Events.Select(e => new Work(i, envelope.TenantId, e)));
            }
            catch (Exception e) when (e is System.Text.Json.JsonException or NotSupportedException or ArgumentException)
            {
                outcomes[i] = WorkOutcome.Poison($"unreadable ingest message: {e.Message}");
            }
        }

        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        var newProfiles = new HashSet<string>(StringComparer.Ordinal);
        foreach (var tenant in work.GroupBy(w => w.TenantId))
        {
            try { await ResolveAsync(tenant.Key, tenant.ToList(), newProfiles, ct); }
            catch (RequestFailedException e)
            {
                foreach (var w in tenant) w.Error = $"identity resolution failed: {e.Status} {e.ErrorCode}";
            }
            catch (InvalidOperationException e)
            {
                // A merge that could not finish now: it resumes from the merge queue, and these events are retried.
                foreach (var w in tenant) w.Error = $"identity resolution failed: {e.Message}";
            }
        }

        var resolved = work.Where(w => w.Error is null && !w.Suppressed).ToList();
        var toCommit = DropRepeats(resolved);
        IngestMetrics.EventsDuplicate.Add(resolved.Count - toCommit.Count);
        var partitions = toCommit.GroupBy(w => (w.TenantId, Partition: ProfileStore.Partition(w.TenantId, w.ProfileId))).ToList();
        var resolvedIn = System.Diagnostics.Stopwatch.GetElapsedTime(started);
        for (var round = 0; partitions.Count > 0; round++)
        {
            // Events for a profile that was merged into another follow it there, in a further round.
            var redirected = new List<Work>();
            await Parallel.ForEachAsync(partitions, new ParallelOptions { MaxDegreeOfParallelism = 16, CancellationToken = ct }, async (p, token) =>
            {
                var gate = _partitionLocks[Ids.Bucket(p.Key.Partition, _partitionLocks.Length)];
                await gate.WaitAsync(token);
                try
                {
                    var moved = await CommitPartitionAsync(p.Key.TenantId, p.Key.Partition, p.ToList(), newProfiles, token);
                    lock (redirected) redirected.AddRange(moved);
                }
                finally { gate.Release(); }
            });
            if (round == ProfileStore.MaxAliasHops)
            {
                foreach (var w in redirected) w.Error = "the profile kept being merged elsewhere";
                break;
            }
            partitions = DropRepeats(redirected).GroupBy(w => (w.TenantId, Partition: ProfileStore.Partition(w.TenantId, w.ProfileId))).ToList();
        }
        IngestMetrics.EventsSuppressed.Add(work.Count(w => w.Suppressed));
        await DeferAsync(work.Where(w => w.Deferred).ToList(), ct);
        await ForwardToJourneysAsync(work, ct);

        if (log.IsEnabled(LogLevel.Debug))
            log.LogDebug("Ingest round: {Events} events, {Profiles} profiles, {Partitions} partitions; resolved in {Resolve:F0} ms, committed in {Commit:F0} ms",
                toCommit.Count, toCommit.Select(w => w.ProfileId).Distinct().Count(), partitions.Count, resolvedIn.TotalMilliseconds,
                (System.Diagnostics.Stopwatch.GetElapsedTime(started) - resolvedIn).TotalMilliseconds);
        foreach (var failed in work.Where(w => w.Error is not null).GroupBy(w => w.Message))
        {
            var first = failed.OrderByDescending(w => w.Permanent).First();
            outcomes[failed.Key] = first.Permanent
                ? WorkOutcome.Poison($"event {first.Event.MessageId}: {first.Error}")
                : WorkOutcome.Retry($"event {first.Event.MessageId}: {first.Error}");
        }
        return outcomes.Select(o => o ?? WorkOutcome.Done).ToList();
    }

    /// <summary>
    /// Hands stored events to journeys. Events stored by an earlier try of the same message (deduplicated now) go
    /// too: that try may have stopped before handing them on, and journeys ignore what they have seen. If this fails,
    /// the whole batch is retried.
    /// </summary>
    private async Task ForwardToJourneysAsync(List<Work> work, CancellationToken ct)
    {
        foreach (var tenant in work.Where(w => w.Error is null && !w.Suppressed && !w.Deferred).GroupBy(w => w.TenantId))
        {
            // WeChat's delivery receipts settle their deliveries first, so a journey waiting on the outcome hears of it.
            if (receipts is not null) await receipts.FromEventsAsync(tenant.Key, tenant.Select(w => (w.ProfileId, w.Event)), ct);
            if (journeys is not null) await journeys.ForwardAsync(tenant.Key, tenant.Select(w => (w.ProfileId, w.Event)), ct);
        }
    }

    /// <summary>
    /// Gives every event a profile. Known identities come from the index; an event with none gets a new profile,
    /// claimed through its strongest identity first. If another processor claimed that identity in the meantime,
    /// the event follows the winner, and nothing was written for the loser.
    /// A would-be new person whose identifiers are on the suppression list was erased: their events are dropped and
    /// counted — unless one of them grants a consent, in which case suppression is lifted and they start afresh.
    /// </summary>
    private async Task ResolveAsync(string tenantId, List<Work> all, HashSet<string> newProfiles, CancellationToken ct)
    {
        foreach (var w in all.Where(w => w.Event.ProfileId is not null)) w.ProfileId = w.Event.ProfileId!;
        var work = all.Where(w => w.Event.ProfileId is null).ToList();
        var owners = new Dictionary<string, string>(StringComparer.Ordinal);
        var keys = work.SelectMany(w => w.Event.Identities).Select(i => i.Key).Distinct().ToList();
        await Parallel.ForEachAsync(keys, new ParallelOptions { MaxDegreeOfParallelism = 16, CancellationToken = ct }, async (key, token) =>
        {
            var owner = await identities.LookupAsync(tenantId, key, token);
            if (owner is not null) lock (owners) owners[key] = owner;
        });

        // The batch's people: events that share an identity are about one person, as they would be if they came one by one.
        var people = People(work);
        await MergeConflictsAsync(tenantId, people, owners, ct);

        var created = new Dictionary<string, string>(StringComparer.Ordinal); // new profile id -> its primary identity
        var claims = new Dictionary<string, string>(StringComparer.Ordinal);  // identity -> profile id, not yet stored
        foreach (var person in people)
        {
            var ordered = Ordered(person.SelectMany(w => w.Event.Identities));
            var profileId = ordered.Select(i => owners.GetValueOrDefault(i.Key)).FirstOrDefault(p => p is not null);
            if (profileId is null)
            {
                profileId = Ids.NewProfileId();
                created[profileId] = ordered[0].Key;
            }
            foreach (var i in ordered)
            {
                if (owners.ContainsKey(i.Key)) continue;
                owners[i.Key] = profileId;
                claims[i.Key] = profileId;
            }
            // Each event to the profile of its strongest identity: the person's, unless a merge could not be made (erasing).
            foreach (var w in person) w.ProfileId = Ordered(w.Event.Identities).Select(i => owners[i.Key]).First();
        }

        if (created.Count > 0) await SuppressErasedAsync(tenantId, work, created, claims, ct);

        // Phase 1: the strongest identity of each new profile. Losing one means someone else created this person.
        var primaries = created.Select(c => (IdentityKey: c.Value, ProfileId: c.Key)).ToList();
        var redirect = new Dictionary<string, string>(StringComparer.Ordinal);
        if (primaries.Count > 0)
        {
            var won = await identities.ClaimAsync(tenantId, primaries, ct);
            foreach (var (key, profileId) in primaries)
            {
                if (won[key] == profileId) newProfiles.Add(profileId);
                else redirect[profileId] = won[key];
            }
        }
        foreach (var w in work)
            if (redirect.TryGetValue(w.ProfileId, out var winner)) w.ProfileId = winner;

        // Phase 2: every other new identity, for whichever profile it now belongs to.
        var rest = claims
            .Where(c => !(created.TryGetValue(c.Value, out var primary) && primary == c.Key))
            .Select(c => (IdentityKey: c.Key, ProfileId: redirect.GetValueOrDefault(c.Value, c.Value)))
            .ToList();
        if (rest.Count == 0) return;
        var owned = await identities.ClaimAsync(tenantId, rest, ct);

        // An identity lost here was claimed meanwhile by another processor for another profile. The event names it
        // beside identities of its own profile, so the two are one person: merge them, as if the owner had been known
        // when we looked. Never leave the event's profile listing an identity the index gives to someone else.
        var lost = rest.Where(c => owned[c.IdentityKey] != c.ProfileId).Select(c => (Ours: c.ProfileId, Theirs: owned[c.IdentityKey])).Distinct().ToList();
        foreach (var (ours, theirs) in lost)
        {
            var (result, survivor) = await merger.MergeAsync(tenantId, ours, theirs, ct, fromIndex: true);
            if (result is not (MergeResult.Merged or MergeResult.AlreadyOne)) continue;
            foreach (var w in work.Where(w => w.ProfileId == ours || w.ProfileId == theirs)) w.ProfileId = survivor!;
        }
    }

    private static List<Identity> Ordered(IEnumerable<Identity> identities) =>
        identities.DistinctBy(i => i.Key).OrderBy(i => IdentityRules.Precedence(i.Type)).ThenBy(i => i.Key, StringComparer.Ordinal).ToList();

    /// <summary>Groups events into people: two events that name a common identity (directly or through others) are one person.</summary>
    private static List<List<Work>> People(List<Work> work)
    {
        var parent = new Dictionary<string, string>(StringComparer.Ordinal);
        string Root(string key)
        {
            parent.TryAdd(key, key);
            while (parent[key] != key) key = parent[key] = parent[parent[key]];
            return key;
        }
        foreach (var w in work)
        {
            var first = Root(w.Event.Identities[0].Key);
            foreach (var i in w.Event.Identities.Skip(1))
                if (Root(i.Key) is var other && other != first) parent[other] = first;
        }
        return work.GroupBy(w => Root(w.Event.Identities[0].Key), StringComparer.Ordinal).Select(g => g.ToList()).ToList();
    }

    /// <summary>
    /// A person whose identities belong to more than one profile is one person: merge them (OneID) before anything is
    /// folded, and point those identities at the survivor. A profile being erased is never merged: its events then stay
    /// with the profile of their strongest identity.
    /// </summary>
    private async Task MergeConflictsAsync(string tenantId, List<List<Work>> people, Dictionary<string, string> owners, CancellationToken ct)
    {
        foreach (var person in people)
        {
            var named = Ordered(person.SelectMany(w => w.Event.Identities)).Select(i => owners.GetValueOrDefault(i.Key)).OfType<string>().Distinct().ToList();
            for (var i = 1; i < named.Count; i++)
            {
                if (named[0] == named[i]) continue;
                // Both came from the index: a profile whose first commit has not landed yet is merged all the same.
                var (result, survivor) = await merger.MergeAsync(tenantId, named[0], named[i], ct, fromIndex: true);
                if (result is not (MergeResult.Merged or MergeResult.AlreadyOne)) continue;
                foreach (var key in owners.Where(o => o.Value == named[0] || o.Value == named[i]).Select(o => o.Key).ToList())
                    owners[key] = survivor!;
                named[0] = survivor!;
            }
        }
    }

    private async Task SuppressErasedAsync(string tenantId, List<Work> work, Dictionary<string, string> created, Dictionary<string, string> claims, CancellationToken ct)
    {
        var newcomers = work.Where(w => created.ContainsKey(w.ProfileId)).GroupBy(w => w.ProfileId).ToList();
        var suppressed = await privacy.Suppressions.FindAsync(tenantId,
            newcomers.SelectMany(g => g).SelectMany(w => w.Event.Identities).Select(i => i.Key).Distinct().ToList(), ct);
        if (suppressed.Count == 0) return;
        foreach (var person in newcomers)
        {
            var keys = person.SelectMany(w => w.Event.Identities).Select(i => i.Key).Where(suppressed.ContainsKey).Distinct().ToList();
            if (keys.Count == 0) continue;
            // Only a consent given after the erasure is fresh: a replayed old grant must not bring the old data back.
            var erasedAt = keys.Max(k => suppressed[k]);
            if (person.Any(w => w.Decisions.Any(d => d.Status == ConsentStatus.Granted && d.OccurredAt > erasedAt)))
            {
                log.LogInformation("An erased person of tenant {Tenant} came back with a fresh consent; suppression lifted", tenantId);
                await privacy.Suppressions.RemoveAsync(tenantId, keys, ct);
                foreach (var w in person.Where(w => w.Event.Timestamp <= erasedAt)) w.Suppressed = true;
                continue;
            }
            foreach (var w in person) w.Suppressed = true;
            created.Remove(person.Key);
            foreach (var claim in claims.Where(c => c.Value == person.Key).ToList()) claims.Remove(claim.Key);
        }
    }

    /// <summary>The same event twice in one batch (a client retry racing itself) is committed once.</summary>
    private static List<Work> DropRepeats(IEnumerable<Work> work)
    {
        var seen = new HashSet<(string, string, string)>();
        return work.Where(w => seen.Add((w.TenantId, w.ProfileId, w.Event.DedupeKey()))).ToList();
    }

    private sealed class ProfileGroup(string profileId)
    {
        public string ProfileId { get; } = profileId;
        public List<Work> Pending { get; } = new();
        public ProfileState? State { get; set; }
        public ETag ETag { get; set; }
        public bool Exists { get; set; }
        public bool Loaded { get; set; }
        /// <summary>The profile was expected (a known identity or id pointed to it) but has no row.</summary>
        public bool Missing { get; set; }
    }

    private async Task<List<Work>> CommitPartitionAsync(string tenantId, string partition, List<Work> work, HashSet<string> newProfiles, CancellationToken ct)
    {
        var redirected = new List<Work>();
        var committed = new List<(ProfileState, ProfileChanges)>();
        try { return await CommitAsync(tenantId, partition, work, newProfiles, redirected, committed, ct); }
        finally { await refresher.IndexAsync(tenantId, committed, ct); }
    }

    private async Task<List<Work>> CommitAsync(string tenantId, string partition, List<Work> work, HashSet<string> newProfiles,
        List<Work> redirected, List<(ProfileState, ProfileChanges)> committed, CancellationToken ct)
    {
        var groups = work.GroupBy(w => w.ProfileId).Select(g =>
        {
            var group = new ProfileGroup(g.Key);
            group.Pending.AddRange(g.OrderBy(w => w.Event.Timestamp));
            if (newProfiles.Contains(g.Key)) Start(group, ProfileState.New(g.Key, clock.GetUtcNow()));
            return group;
        }).ToList();

        var isolate = false; // after an unexplained refusal, commit one event per transaction to find the culprit
        for (var attempt = 1; groups.Any(g => g.Pending.Count > 0); attempt++)
        {
            if (attempt > MaxAttempts)
            {
                foreach (var w in groups.SelectMany(g => g.Pending)) w.Error = "gave up after repeated write conflicts";
                return redirected;
            }
            // Another process won the last round for some profile here: let it finish before trying again.
            if (attempt > 1) await Task.Delay(TimeSpan.FromMilliseconds(Random.Shared.Next(5, 20) * Math.Min(attempt, 6)), ct);
            try
            {
                var definitions = await privacy.Definitions.GetAsync(tenantId, ct);
                await LoadAsync(tenantId, groups.Where(g => g.Pending.Count > 0 && !g.Loaded), ct);
                Redirect(groups, redirected);
                await SetAsideErasedAsync(tenantId, groups, ct);
                var audienceDefinitions = await audience.GetAsync(tenantId, ct);
                foreach (var tx in Pack(tenantId, groups.Where(g => g.Pending.Count > 0), isolate, definitions, audienceDefinitions, clock.GetUtcNow()))
                    isolate |= await SubmitAsync(tenantId, partition, tx, committed, ct);
            }
            catch (Exception e) when (e is RequestFailedException or IOException or HttpRequestException)
            {
                // Storage is unwell: nothing here is the events' fault. Their messages will be retried.
                var status = e is RequestFailedException r ? $"{r.Status} {r.ErrorCode}" : e.GetType().Name;
                foreach (var w in groups.SelectMany(g => g.Pending)) w.Error = $"storage error {status}";
                return redirected;
            }
        }
        return redirected;
    }

    /// <summary>A profile that turned out to be an alias (merged into another) hands its events on to the survivor.</summary>
    private static void Redirect(List<ProfileGroup> groups, List<Work> redirected)
    {
        foreach (var g in groups.Where(g => g.Pending.Count > 0 && g.State?.MergedInto is not null))
        {
            foreach (var w in g.Pending) w.ProfileId = g.State!.MergedInto!;
            redirected.AddRange(g.Pending);
            g.Pending.Clear();
        }
    }

    private static void Start(ProfileGroup group, ProfileState state)
    {
        group.State = state;
        group.ETag = default;
        group.Exists = false;
        group.Loaded = true;
    }

    private async Task LoadAsync(string tenantId, IEnumerable<ProfileGroup> groups, CancellationToken ct)
    {
        await Parallel.ForEachAsync(groups, new ParallelOptions { MaxDegreeOfParallelism = 16, CancellationToken = ct }, async (g, token) =>
        {
            if (_profileCache.TryGet(CacheKey(tenantId, g.ProfileId), out var cached))
            {
                (g.State, g.ETag, g.Exists, g.Loaded) = (cached.State, cached.ETag, true, true);
                return;
            }
            var stored = await profiles.ReadAsync(tenantId, g.ProfileId, token);
            if (stored is { } s) (g.State, g.ETag, g.Exists, g.Loaded) = (s.State, s.ETag, true, true);
            else
            {
                Start(g, ProfileState.New(g.ProfileId, clock.GetUtcNow()));
                g.Missing = true;
            }
        });
    }

    /// <summary>
    /// Events for a person being erased, or erased already, are not folded in. A fresh consent among them is retried
    /// (by then the erasure has finished and the person starts again); the rest are dropped and counted.
    /// Identifiers these events brought that resolution linked to the person meanwhile are suppressed and unlinked
    /// too, so no identity row outlives the erasure. A profile named by id that does not exist is an error of that
    /// event alone.
    /// </summary>
    private async Task SetAsideErasedAsync(string tenantId, List<ProfileGroup> groups, CancellationToken ct)
    {
        foreach (var g in groups.Where(g => g.Pending.Count > 0 && (g.Missing || g.State?.ErasureRequestedAt is not null)))
        {
            // When the erasure was asked for: a consent given after it is fresh.
            var erasedAt = g.State?.ErasureRequestedAt ?? (await privacy.Erasures.GetAsync(tenantId, g.ProfileId, ct))?.RequestedAt;
            g.Missing = false;
            if (erasedAt is null)
            {
                // A known identity whose profile row was never committed: the profile is created now. But an id given by a
                // caller must name a profile that exists.
                foreach (var w in g.Pending.Where(w => w.Event.ProfileId is not null).ToList())
                {
                    w.Error = $"no profile '{w.Event.ProfileId}' in this tenant";
                    w.Permanent = true;
                    g.Pending.Remove(w);
                }
                continue;
            }
            var brought = g.Pending.SelectMany(w => w.Event.Identities).Select(i => i.Key).Distinct().ToList();
            if (brought.Count > 0)
            {
                await privacy.Suppressions.AddAsync(tenantId, brought, "erased", erasedAt.Value, ct);
                foreach (var key in brought) await identities.ReleaseAsync(tenantId, key, g.ProfileId, ct);
            }
            foreach (var w in g.Pending)
            {
                if (w.GrantsConsent && w.Event.ProfileId is null) w.Deferred = true;
                else w.Suppressed = true;
            }
            g.Pending.Clear();
            Reload(tenantId, g);
        }
    }

    /// <summary>
    /// Fresh consents for people still being erased go back on the queue as new messages, delayed: they wait for the
    /// erasure however long it takes, without using up their message's retries. If that put fails, their message is retried.
    /// </summary>
    private async Task DeferAsync(List<Work> deferred, CancellationToken ct)
    {
        foreach (var tenant in deferred.GroupBy(w => w.TenantId))
        {
            try { await queue.DeferAsync(tenant.Key, tenant.Select(w => w.Event).ToList(), _erasureWait, ct); }
            catch (RequestFailedException e)
            {
                foreach (var w in tenant) w.Error = $"a consent waiting for an erasure could not be queued again: {e.Status}";
            }
        }
    }

    private sealed record Slot(ProfileGroup Group, Work? Event, ProfileState? NewState, bool Ledger = false, ProfileChanges? Changes = null);

    private sealed record Transaction(List<TableTransactionAction> Actions, List<Slot> Slots);

    /// <summary>A profile with some of its pending events folded in and its derived state brought up to date.</summary>
    private sealed record Folded(ProfileState State, List<Work> Take, ProfileChanges Changes, List<TableEntity> Extra)
    {
        public int Actions => 1 + Take.Sum(w => w.Rows) + Extra.Count;
    }

    private static Folded Fold(string tenantId, ProfileGroup g, int take, DataDefinitions definitions, AudienceDefinitions audience, DateTimeOffset now)
    {
        var events = g.Pending.Take(take).ToList();
        var state = ProfileStore.Clone(g.State!);
        foreach (var w in events) ProfileFold.Apply(state, w.Event, definitions);
        var changes = audience.Refresh(state, events.Select(w => w.Event).ToList(), definitions, now);
        return new Folded(state, events, changes, ProfileRefresher.Rows(tenantId, g.ProfileId, changes, now).ToList());
    }

    /// <summary>
    /// Packs profiles and their events into transactions of at most 100 actions. Each profile's row goes with
    /// the events folded into it, their consent ledger rows, and the rows recording what that changed (tags given by
    /// rules, segment entries and exits), so they are atomic together; a profile with more events than fit waits for
    /// a later transaction.
    /// </summary>
    private static IEnumerable<Transaction> Pack(string tenantId, IEnumerable<ProfileGroup> groups, bool isolate, DataDefinitions definitions,
        AudienceDefinitions audience, DateTimeOffset now)
    {
        var tx = new Transaction(new(), new());
        var chars = 0;
        foreach (var g in groups)
        {
            var first = 1 + g.Pending[0].Rows; // the profile row, the event's rows
            if (tx.Actions.Count + first > MaxActionsPerTransaction || chars > MaxTransactionChars || (isolate && tx.Actions.Count > 0))
            {
                yield return tx;
                tx = new Transaction(new(), new());
                chars = 0;
            }
            Folded folded;
            while (true)
            {
                var room = MaxActionsPerTransaction - tx.Actions.Count - 1;
                var take = 0;
                foreach (var w in g.Pending)
                {
                    if (take > 0 && (w.Rows > room || isolate)) break;
                    take++;
                    room -= w.Rows;
                }
                folded = Fold(tenantId, g, take, definitions, audience, now);
                // What the events changed needs room too: fewer events, or a transaction of its own.
                while (tx.Actions.Count + folded.Actions > MaxActionsPerTransaction && folded.Take.Count > 1)
                    folded = Fold(tenantId, g, folded.Take.Count - 1, definitions, audience, now);
                if (tx.Actions.Count + folded.Actions <= MaxActionsPerTransaction || tx.Actions.Count == 0) break;
                yield return tx;
                tx = new Transaction(new(), new());
                chars = 0;
            }

            var entity = ProfileStore.ToEntity(tenantId, folded.State);
            tx.Actions.Add(g.Exists
                ? new TableTransactionAction(TableTransactionActionType.UpdateReplace, entity, g.ETag)
                : new TableTransactionAction(TableTransactionActionType.Add, entity));
            tx.Slots.Add(new Slot(g, null, folded.State, Changes: folded.Changes));
            foreach (var w in folded.Take)
            {
                if (!w.LedgerOnly)
                {
                    var row = ProfileStore.ToEventEntity(tenantId, g.ProfileId, definitions.ForHistory(w.Event));
                    chars += (row.GetString("Properties")?.Length ?? 0) + (row.GetString("Traits")?.Length ?? 0) + 512;
                    tx.Actions.Add(new TableTransactionAction(TableTransactionActionType.Add, row));
                    tx.Slots.Add(new Slot(g, w, null));
                }
                foreach (var d in w.Decisions)
                {
                    tx.Actions.Add(new TableTransactionAction(TableTransactionActionType.Add,
                        ProfileStore.ToLedgerEntity(tenantId, g.ProfileId, d, w.Event.MessageId, now)));
                    // The ledger row of a consent event stands for the event itself: its commit settles the event.
                    tx.Slots.Add(new Slot(g, w, null, Ledger: !w.LedgerOnly));
                    chars += 512 + (d.Evidence?.Length ?? 0);
                }
            }
            foreach (var row in folded.Extra)
            {
                tx.Actions.Add(new TableTransactionAction(TableTransactionActionType.UpsertReplace, row));
                tx.Slots.Add(new Slot(g, null, null, Ledger: true));
                chars += 512;
            }
            chars += EstimateChars(entity);
        }
        if (tx.Actions.Count > 0) yield return tx;
    }

    private static int EstimateChars(TableEntity entity) =>
        ((IDictionary<string, object>)entity).Values.Sum(v => v is string s ? s.Length : 16) + 256;

    /// <summary>Commits one transaction; on a refusal, fixes the plan. True when the culprit must be isolated.</summary>
    private async Task<bool> SubmitAsync(string tenantId, string partition, Transaction tx, List<(ProfileState, ProfileChanges)> committed, CancellationToken ct)
    {
        try
        {
            var response = await profiles.Table.SubmitTransactionAsync(tx.Actions, ct);
            for (var i = 0; i < tx.Slots.Count; i++)
            {
                var slot = tx.Slots[i];
                if (slot.Ledger) continue;
                if (slot.Event is not null)
                {
                    slot.Group.Pending.Remove(slot.Event);
                    IngestMetrics.EventsCommitted.Add(1);
                    continue;
                }
                var etag = response.Value[i].Headers.ETag;
                if (slot.Changes is { Segments.Changed: true }) committed.Add((slot.NewState!, slot.Changes));
                slot.Group.State = slot.NewState;
                slot.Group.Exists = true;
                if (etag is { } e)
                {
                    slot.Group.ETag = e;
                    _profileCache.Set(CacheKey(tenantId, slot.Group.ProfileId), (slot.NewState!, e));
                }
                else slot.Group.Loaded = false; // no ETag to go on: read it back before the next write
            }
            return false;
        }
        catch (RequestFailedException e) when (e.Status is 409 or 412 or 404 or 400 or 413)
        {
            return await ExplainFailureAsync(tenantId, partition, tx, e, ct);
        }
    }

    /// <summary>
    /// A transaction fails as a whole. Find out why and fix the plan: drop events that are already stored (a replay),
    /// re-read profiles that someone else changed, and set aside an event that storage refuses outright.
    /// </summary>
    private async Task<bool> ExplainFailureAsync(string tenantId, string partition, Transaction tx, RequestFailedException e, CancellationToken ct)
    {
        var index = FailedIndex(e);
        var failed = index is { } i && i < tx.Slots.Count ? tx.Slots[i]
            : tx.Slots.Count == 2 && e.Status is 400 or 413 ? tx.Slots[1] // one profile, one event: the event is the suspect
            : null;
        var involved = tx.Slots.Select(s => s.Group).Distinct().ToList();

        if (e.Status is 409 && failed is { Event: null })
        {
            Reload(tenantId, failed.Group); // the profile was created meanwhile
            return false;
        }
        if (e.Status is 409)
        {
            // Replayed events: find every one of them in this transaction at once, not one failure at a time.
            var keys = tx.Slots.Select((s, i) => (Slot: s, Index: i)).Where(x => x.Slot.Event is not null)
                .ToDictionary(x => tx.Actions[x.Index].Entity.RowKey, x => x.Slot);
            var existing = await profiles.ExistingRowKeysAsync(partition, keys.Keys, ct);
            foreach (var key in existing) keys[key].Group.Pending.Remove(keys[key].Event!);
            IngestMetrics.EventsDuplicate.Add(existing.Count);
            if (existing.Count == 0) foreach (var g in involved) Reload(tenantId, g);
            return false;
        }
        if (e.Status is 412 or 404)
        {
            foreach (var g in failed is null ? involved : [failed.Group]) Reload(tenantId, g);
            return false;
        }
        if (failed is { Event: { } bad })
        {
            bad.Error = $"storage refused the event: {e.Status} {e.ErrorCode}";
            bad.Permanent = true;
            failed.Group.Pending.Remove(bad);
        }
        else if (failed is not null)
        {
            foreach (var w in failed.Group.Pending) { w.Error = $"storage refused the profile: {e.Status} {e.ErrorCode}"; w.Permanent = true; }
            failed.Group.Pending.Clear();
        }
        return failed is null; // refused, and we cannot tell which action: narrow it down
    }

    private void Reload(string tenantId, ProfileGroup group)
    {
        _profileCache.Remove(CacheKey(tenantId, group.ProfileId));
        group.Loaded = false;
    }

    private static int? FailedIndex(RequestFailedException e) => e is TableTransactionFailedException t ? t.FailedTransactionActionIndex : null;

    private static string CacheKey(string tenantId, string profileId) => tenantId + "|" + profileId;
}
