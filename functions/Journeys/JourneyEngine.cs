using System.Text.Json.Nodes;
using Azure;
using Microsoft.Extensions.Options;
using Siyu.Core.Journeys;
using Siyu.Core.Profiles;
using Siyu.Core.Segments;
using Siyu.Storage.Audience;
using Siyu.Storage.Journeys;
using Siyu.Storage.Profiles;
using Siyu.Storage.Tables;

namespace Siyu.Functions.Journeys;

/// <summary>An event as journeys see it.</summary>
public sealed record JourneyEvent(string Id, string Name, DateTimeOffset At, JsonObject? Properties);

/// <summary>Something for the runs of one partition to react to.</summary>
public abstract record RunWork
{
    /// <summary>A timer is due for a run (<paramref name="DueAt"/>: when it was due, if the message says).</summary>
    public sealed record Timer(string RunKey, long Generation, DateTimeOffset? DueAt = null) : RunWork;
    /// <summary>A person did something: it may start runs, end them, resume their waits or count as a conversion.</summary>
    public sealed record Event(string ProfileId, JourneyEvent E) : RunWork;
    /// <summary>A run must leave now (the person was merged into another, or erased).</summary>
    public sealed record Leave(string RunKey, string Reason) : RunWork;
}

/// <summary>Configuration section "Journeys".</summary>
public sealed class JourneySettings
{
    /// <summary>Journey work queues; a person's runs always go to the same one (by profile bucket).</summary>
    public int Partitions { get; set; } = 4;
    /// <summary>While a journey is paused, its due runs look again this often.</summary>
    public TimeSpan PausedRecheck { get; set; } = TimeSpan.FromSeconds(30);
    /// <summary>Timers per queue message: one partition's due runs, so they share reads and writes.</summary>
    public int TimersPerMessage { get; set; } = 100;
    /// <summary>
    /// Timers handed on by the sweep are deleted at least this long after, once the journey queues are nearly empty
    /// (the steps they started come first), and at most <see cref="TimerClearDelayMax"/> after (see <see cref="TimerSweep"/>).
    /// </summary>
    public TimeSpan TimerClearDelay { get; set; } = TimeSpan.FromSeconds(30);
    public TimeSpan TimerClearDelayMax { get; set; } = TimeSpan.FromMinutes(10);
    /// <summary>People per <c>POST /api/journeys/{id}/enter</c>.</summary>
    public int MaxEntriesPerRequest { get; set; } = 1000;
}

/// <summary>Test seam: lets a test stop the engine at the two moments a crash matters. Does nothing in production.</summary>
public interface IJourneyFaults
{
    /// <summary>After a step's writes committed (and before its outside effect, if any).</summary>
    Task AfterCommitAsync(string runKey, CancellationToken ct);
    /// <summary>After an outside effect was carried out, before the run records it.</summary>
    Task AfterEffectAsync(string effectKey, CancellationToken ct);
}

public sealed class NoJourneyFaults : IJourneyFaults
{
    public Task AfterCommitAsync(string runKey, CancellationToken ct) => Task.CompletedTask;
    public Task AfterEffectAsync(string effectKey, CancellationToken ct) => Task.CompletedTask;
}

/// <summary>
/// Moves the runs of one (tenant, profile bucket) partition: reads them together, steps each through
/// <see cref="JourneyInterpreter"/>, arms the timers the new states need, then writes states, delivery requests and
/// counters together under each run's ETag. A run someone else wrote first is read again and stepped again. An outside
/// effect is recorded as pending, carried out, then reported back, so a crash anywhere repeats the effect under the
/// same key at most, and never skips it. Safe to run twice on the same work: stale timers and repeated events are no-ops.
/// </summary>
public sealed class JourneyEngine(RunStore runs, TimerArming timers, JourneyCatalog catalog, ProfileStore profiles, AudienceStore audience,
    JourneyEffects effects, IJourneyFaults faults, IOptions<JourneySettings> settings, TimeProvider clock, ILogger<JourneyEngine> log,
    Delivery.DeliveryQueue? deliveries = null)
{
    private const int MaxRounds = 25;
    /// <summary>
    /// Timers are written before the state that needs them, so a timer due at once (an entry's) can be taken before
    /// that state is stored. Such a timer (its run missing, or behind its generation) looks again this often, for as
    /// long as <see cref="EarlyTimerGrace"/> after it was due; after that, the state it was armed for was never written.
    /// </summary>
    private static readonly TimeSpan EarlyTimerRecheck = TimeSpan.FromSeconds(2);
    private static readonly TimeSpan EarlyTimerGrace = TimeSpan.FromMinutes(2);
    private readonly JourneySettings _settings = settings.Value;

    /// <summary>One run being worked on: what was read, and what is still to be applied to it.</summary>
    private sealed class Slot(string runKey, JourneyInstance? stored, ETag? etag)
    {
        public string RunKey { get; } = runKey;
        public JourneyInstance? Stored { get; set; } = stored;
        public ETag? ETag { get; set; } = etag;
        public List<Stimulus> Stimuli { get; } = new();
        public bool NeedsProfile { get; set; }
    }

    public async Task RunAsync(string tenantId, int bucket, IReadOnlyList<RunWork> work, CancellationToken ct)
    {
        var partition = StorageTables.BucketPartition(tenantId, bucket);
        var early = new List<JourneyTimer>();
        var slots = await LoadAsync(tenantId, bucket, partition, work, early, ct);
        if (early.Count > 0) await timers.ArmAsync(early, clock.GetUtcNow(), ct);
        var profileCache = new Dictionary<string, ProfileState?>(StringComparer.Ordinal);
        var segments = Resolver(await audience.GetAsync(tenantId, ct));

        for (var round = 0; slots.Values.Any(s => s.Stimuli.Count > 0 || s.Stored?.Pending is not null && s.Stored.IsActive); round++)
        {
            if (round == MaxRounds) throw new InvalidOperationException($"journey runs of {partition} still moving after {MaxRounds} rounds");
            var now = clock.GetUtcNow();

            // Outside effects recorded as pending (by the last round, or by a process that stopped) are carried out first,
            // unless the person is leaving: an exit event ends the run where it is, effect or not.
            foreach (var slot in slots.Values.Where(s => s.Stored is { Pending: not null, IsActive: true }))
                if (!await LeavingAsync(tenantId, slot, ct)) await CarryOutAsync(tenantId, slot, profileCache, segments, ct);

            var planned = new List<(Slot Slot, RunChange Change, int Consumed, JourneyEffect? Effect)>();
            var rearm = new List<JourneyTimer>();
            foreach (var slot in slots.Values.Where(s => s.Stimuli.Count > 0))
            {
                var plan = await PlanAsync(tenantId, bucket, slot, profileCache, segments, rearm, now, ct);
                if (plan is { } p) planned.Add((slot, p.Change, p.Consumed, p.Effect));
            }
            await LoadProfilesAsync(tenantId, slots.Values.Where(s => s.NeedsProfile), profileCache, ct);
            foreach (var slot in slots.Values.Where(s => s.NeedsProfile))
            {
                slot.NeedsProfile = false;
                var plan = await PlanAsync(tenantId, bucket, slot, profileCache, segments, rearm, now, ct);
                if (plan is { } p) planned.Add((slot, p.Change, p.Consumed, p.Effect));
            }

            // Timers first: if the write below fails, a timer for a state that never was is stale and ignored; the other
            // way round, a crash in between would leave a run waiting for a timer that does not exist.
            var arms = planned.Where(p => p.Change.Instance is { IsActive: true, DueAt: { } } i && i.Generation != p.Slot.Stored?.Generation)
                .Select(p => new JourneyTimer(tenantId, bucket, p.Slot.RunKey, p.Change.Instance.Generation, p.Change.Instance.DueAt!.Value))
                .Concat(rearm).ToList();
            if (arms.Count > 0) await timers.ArmAsync(arms, now, ct);
            // Sends are queued before they are recorded, for the same reason: the delivery worker waits a while for a
            // row that is not there yet, and a send whose step never commits is never found and never sent.
            var sends = planned.SelectMany(p => p.Change.Sends.Select(s => new Delivery.DeliveryItem(p.Change.Instance.ProfileId, s.Key))).ToList();
            if (sends.Count > 0 && deliveries is not null) await deliveries.EnqueueAsync(tenantId, sends, ct: ct);

            var (conflicted, committed) = await runs.CommitAsync(partition, planned.Select(p => p.Change).ToList(), now, ct);
            JourneyMetrics.Steps.Add(committed.Count);
            foreach (var (slot, change, consumed, _) in planned)
            {
                if (!committed.TryGetValue(slot.RunKey, out var etag)) continue;
                slot.Stored = change.Instance;
                slot.ETag = etag;
                slot.Stimuli.RemoveRange(0, consumed);
                await faults.AfterCommitAsync(slot.RunKey, ct);
            }
            if (conflicted.Count > 0)
            {
                // Someone else moved these runs: start again from what they wrote.
                var fresh = await runs.GetManyAsync(partition, conflicted.Select(c => RunStore.RunKey(c.Instance)).ToList(), ct);
                foreach (var c in conflicted)
                {
                    var slot = slots[RunStore.RunKey(c.Instance)];
                    var found = fresh.GetValueOrDefault(slot.RunKey);
                    slot.Stored = found?.Instance;
                    slot.ETag = found?.ETag;
                    // A new run whose row someone else created meanwhile is theirs: our entry is a repeat.
                    if (found is not null && slot.Stimuli.FirstOrDefault() is Stimulus.Enter && c.ETag is null) slot.Stimuli.RemoveAt(0);
                    if (found is null) slot.Stimuli.Clear();
                }
                JourneyMetrics.Conflicts.Add(conflicted.Count);
            }
        }
    }

    /// <summary>
    /// Applies a run's stimuli in order, as far as it can without outside help: until an outside effect (which must
    /// happen before anything else does), or until the profile is needed and not loaded.
    /// </summary>
    private async Task<(RunChange Change, int Consumed, JourneyEffect? Effect)?> PlanAsync(string tenantId, int bucket, Slot slot,
        Dictionary<string, ProfileState?> profileCache, Func<string, SegmentCondition?> segments, List<JourneyTimer> rearm, DateTimeOffset now, CancellationToken ct)
    {
        if (slot.Stored is not { } state) { slot.Stimuli.Clear(); return null; }
        var journey = await catalog.VersionAsync(tenantId, state.JourneyId, state.Version, ct);
        if (journey is null)
        {
            log.LogError("Run {Run} of tenant {Tenant} is on journey {Journey} v{Version}, which cannot be found", slot.RunKey, tenantId, state.JourneyId, state.Version);
            slot.Stimuli.Clear();
            return null;
        }
        var status = await catalog.StatusAsync(tenantId, state.JourneyId, ct);
        var loaded = profileCache.TryGetValue(state.ProfileId, out var profile);
        var input = new StepInput(journey, profile, loaded, segments, now);

        var sends = new List<DeliveryRequest>();
        var delta = new JourneyStats();
        var moved = false;
        var consumed = 0;
        JourneyEffect? effect = null;
        foreach (var stimulus in slot.Stimuli)
        {
            var results = Apply(state, stimulus, journey, status, input, rearm, tenantId, bucket, slot.RunKey);
            var needsProfile = false;
            foreach (var r in results)
            {
                if (r.Outcome == StepOutcome.NeedsProfile) { needsProfile = true; break; }
                if (r.Outcome == StepOutcome.NotYet && r.TimerAt is { } at) rearm.Add(new JourneyTimer(tenantId, bucket, slot.RunKey, state.Generation, at));
                if (r.Outcome != StepOutcome.Moved) continue;
                state = r.Instance;
                sends.AddRange(r.Sends);
                delta.Add(r.Delta);
                moved = true;
                effect ??= r.Effect;
            }
            if (needsProfile)
            {
                if (loaded) throw new InvalidOperationException("a step asked for the profile it was given");
                slot.NeedsProfile = true;
                return null;
            }
            consumed++;
            if (effect is not null) break;
        }
        if (!moved)
        {
            slot.Stimuli.RemoveRange(0, consumed);
            return null;
        }
        return (new RunChange(state, slot.ETag, sends, delta), consumed, effect);
    }

    /// <summary>What one stimulus does to a run, given the journey's status: paused runs hold, archived ones leave.</summary>
    private List<StepResult> Apply(JourneyInstance state, Stimulus stimulus, JourneyDefinition journey, string status, StepInput input,
        List<JourneyTimer> rearm, string tenantId, int bucket, string runKey)
    {
        switch (stimulus)
        {
            case Stimulus.TimerFired t when state.IsActive && t.Generation == state.Generation:
                if (status == JourneyStatus.Archived)
                    return [JourneyInterpreter.Step(state, new Stimulus.Leave(JourneyInterpreter.ReasonArchived), input)];
                if (status == JourneyStatus.Paused)
                {
                    rearm.Add(new JourneyTimer(tenantId, bucket, runKey, state.Generation, input.Now + _settings.PausedRecheck));
                    return [];
                }
                // A run entered by API or campaign starts on its first timer.
                return [JourneyInterpreter.Step(state, state.Node is null ? new Stimulus.Enter() : t, input)];

            case Stimulus.EventArrived e:
            {
                // Each result starts from the one before it; the caller folds them in this order.
                var results = new List<StepResult>();
                var current = state;
                if (journey.Goal is not null)
                {
                    var goal = JourneyInterpreter.Convert(current, e, journey);
                    results.Add(goal);
                    if (goal.Outcome == StepOutcome.Moved) current = goal.Instance;
                }
                if (current.IsActive && current.Node is not null && journey.ExitOn.Any(x => x.Matches(e.Name, e.Properties, e.At)))
                    results.Add(JourneyInterpreter.Step(current, new Stimulus.Leave(JourneyInterpreter.ReasonExitEvent), input));
                else if (status == JourneyStatus.Paused)
                    results.Add(JourneyInterpreter.Hold(current, e, journey, input.Now));
                else
                    results.Add(JourneyInterpreter.Step(current, e, input));
                return results;
            }

            default:
                return [JourneyInterpreter.Step(state, stimulus, input)];
        }
    }

    private async Task<bool> LeavingAsync(string tenantId, Slot slot, CancellationToken ct)
    {
        var state = slot.Stored!;
        if (slot.Stimuli.Any(x => x is Stimulus.Leave)) return true;
        var journey = await catalog.VersionAsync(tenantId, state.JourneyId, state.Version, ct);
        return journey is not null && slot.Stimuli.OfType<Stimulus.EventArrived>().Any(e => journey.ExitOn.Any(x => x.Matches(e.Name, e.Properties, e.At)));
    }

    private async Task CarryOutAsync(string tenantId, Slot slot, Dictionary<string, ProfileState?> profileCache, Func<string, SegmentCondition?> segments, CancellationToken ct)
    {
        var state = slot.Stored!;
        var journey = await catalog.VersionAsync(tenantId, state.JourneyId, state.Version, ct)
            ?? throw new InvalidOperationException($"journey {state.JourneyId} v{state.Version} cannot be found");
        if (JourneyInterpreter.PendingNeedsProfile(state, journey) && !profileCache.ContainsKey(state.ProfileId))
            await LoadProfilesAsync(tenantId, [slot], profileCache, ct);
        var input = new StepInput(journey, profileCache.GetValueOrDefault(state.ProfileId), profileCache.ContainsKey(state.ProfileId), segments, clock.GetUtcNow());
        var effect = JourneyInterpreter.PendingEffect(state, input);
        string? note = null;
        if (effect is not null)
        {
            note = await effects.CarryOutAsync(tenantId, state, effect, ct);
            JourneyMetrics.Effects.Add(1);
            await faults.AfterEffectAsync(effect.Key, ct);
        }
        slot.Stimuli.Insert(0, new Stimulus.EffectDone(state.Pending!.Key, note));
    }

    private async Task<Dictionary<string, Slot>> LoadAsync(string tenantId, int bucket, string partition, IReadOnlyList<RunWork> work,
        List<JourneyTimer> early, CancellationToken ct)
    {
        var slots = new Dictionary<string, Slot>(StringComparer.Ordinal);
        var keyed = work.OfType<RunWork.Timer>().Select(t => t.RunKey).Concat(work.OfType<RunWork.Leave>().Select(l => l.RunKey)).ToList();
        foreach (var (key, run) in await runs.GetManyAsync(partition, keyed, ct)) slots[key] = new Slot(key, run.Instance, run.ETag);
        var people = work.OfType<RunWork.Event>().Select(e => e.ProfileId).Distinct(StringComparer.Ordinal).ToList();
        await Parallel.ForEachAsync(people, new ParallelOptions { MaxDegreeOfParallelism = 8, CancellationToken = ct }, async (pid, token) =>
        {
            var found = await runs.ForProfileAsync(tenantId, pid, token);
            lock (slots)
                foreach (var run in found) slots.TryAdd(RunStore.RunKey(run.Instance), new Slot(RunStore.RunKey(run.Instance), run.Instance, run.ETag));
        });

        var active = await catalog.ActiveAsync(tenantId, ct);
        var now = clock.GetUtcNow();
        foreach (var w in work)
        {
            switch (w)
            {
                case RunWork.Timer t when slots.TryGetValue(t.RunKey, out var slot) && slot.Stored?.Generation >= t.Generation:
                    slot.Stimuli.Add(new Stimulus.TimerFired(t.Generation));
                    break;
                case RunWork.Timer t when t.DueAt is { } due && now - due < EarlyTimerGrace:
                    // Armed for a state not stored yet (its write may still be on its way): look again shortly.
                    early.Add(new JourneyTimer(tenantId, bucket, t.RunKey, t.Generation, now + EarlyTimerRecheck));
                    break;
                case RunWork.Leave l when slots.TryGetValue(l.RunKey, out var slot):
                    slot.Stimuli.Add(new Stimulus.Leave(l.Reason));
                    break;
                case RunWork.Event e:
                    var arrived = new Stimulus.EventArrived(e.E.Id, e.E.Name, e.E.Properties, e.E.At);
                    foreach (var slot in slots.Values.Where(s => s.Stored?.ProfileId == e.ProfileId)) slot.Stimuli.Add(arrived);
                    foreach (var j in active.Where(j => j.Stored.Status == JourneyStatus.Live && Enters(j.Latest.Entry, e.E)))
                        Enter(tenantId, j, e.ProfileId, e.E, slots, now);
                    break;
            }
        }
        return slots;
    }

    private static bool Enters(JourneyEntry entry, JourneyEvent e) => entry.On switch
    {
        EntryKind.Event => entry.Event!.Matches(e.Name, e.Properties, e.At),
        EntryKind.Segment => e.Name == SegmentEvents.Entered && e.Properties?["segment"]?.GetValue<string>() == entry.Segment,
        _ => false,
    };

    /// <summary>Starts a run for an entering event, if the re-entry policy lets the person in.</summary>
    private static void Enter(string tenantId, ActiveJourney j, string profileId, JourneyEvent e, Dictionary<string, Slot> slots, DateTimeOffset now)
    {
        var entry = j.Latest.Entry;
        var slotName = entry.Reentry == ReentryPolicy.EveryTime ? RunSlots.Of(DedupeValue(entry.DedupeKey, e) ?? e.Id) : RunSlots.Single;
        var key = RunStore.RunKey(profileId, j.Stored.Id, slotName);
        var context = new JsonObject { ["event"] = e.Properties?.DeepClone() ?? new JsonObject() };
        slots.TryGetValue(key, out var existing);
        var previous = existing?.Stored;
        if (previous is not null && !(entry.Reentry == ReentryPolicy.AfterExit && !previous.IsActive && e.At > previous.EndedAt)) return;
        var run = JourneyInterpreter.NewRun(j.Stored.Id, j.Stored.Version, profileId, slotName, (previous?.Run ?? 0) + 1, context, $"event:{e.Id}", j.Latest, now);
        // Generations go on across runs of a slot, so no timer of an earlier run can ever match this one.
        run.Generation = (previous?.Generation ?? 0) + 1;
        var slot = new Slot(key, run, existing?.ETag);
        slot.Stimuli.Add(new Stimulus.Enter());
        slots[key] = slot;
        JourneyMetrics.Entered.Add(1, new KeyValuePair<string, object?>("tenant", tenantId));
    }

    private static string? DedupeValue(string? path, JourneyEvent e)
    {
        if (path is null) return null;
        JsonNode? current = e.Properties;
        foreach (var step in path.Split('.')) current = current is JsonObject o ? o[step] : null;
        return current switch { null => null, JsonValue v when v.TryGetValue<string>(out var s) => s, var other => other.ToJsonString() };
    }

    private async Task LoadProfilesAsync(string tenantId, IEnumerable<Slot> needing, Dictionary<string, ProfileState?> cache, CancellationToken ct)
    {
        var ids = needing.Select(s => s.Stored!.ProfileId).Where(id => !cache.ContainsKey(id)).Distinct(StringComparer.Ordinal).ToList();
        var loaded = new System.Collections.Concurrent.ConcurrentDictionary<string, ProfileState?>(StringComparer.Ordinal);
        await Parallel.ForEachAsync(ids, new ParallelOptions { MaxDegreeOfParallelism = 16, CancellationToken = ct }, async (id, token) =>
        {
            var found = await profiles.ReadAsync(tenantId, id, token);
            // An erased person, or one merged away (their runs move to the survivor), is gone for this run.
            loaded[id] = found is { State: { ErasureRequestedAt: null, MergedInto: null } s } ? s : null;
        });
        foreach (var (id, state) in loaded) cache[id] = state;
    }

    /// <summary>The tenant's segment rules by id, for conditions on segment membership.</summary>
    public static Func<string, SegmentCondition?> Resolver(Siyu.Core.Audience.AudienceDefinitions definitions)
    {
        var rules = definitions.Segments.ToDictionary(s => s.Id, s => s.Rule, StringComparer.Ordinal);
        return id => rules.GetValueOrDefault(id);
    }
}

/// <summary>Names of run slots: one per person for once/afterExit journeys, one per dedupe value for everyTime ones.</summary>
public static class RunSlots
{
    public const string Single = "0";

    public static string Of(string dedupeValue) =>
        Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(dedupeValue)))[..24];
}

public static class JourneyMetrics
{
    private static readonly System.Diagnostics.Metrics.Meter Meter = new("Siyu.Journeys");
    public static readonly System.Diagnostics.Metrics.Counter<long> Entered = Meter.CreateCounter<long>("siyu.journeys.entered");
    public static readonly System.Diagnostics.Metrics.Counter<long> Steps = Meter.CreateCounter<long>("siyu.journeys.steps");
    public static readonly System.Diagnostics.Metrics.Counter<long> Effects = Meter.CreateCounter<long>("siyu.journeys.effects");
    public static readonly System.Diagnostics.Metrics.Counter<long> Conflicts = Meter.CreateCounter<long>("siyu.journeys.conflicts");
    public static readonly System.Diagnostics.Metrics.Counter<long> TimersFired = Meter.CreateCounter<long>("siyu.journeys.timers_fired");
}
