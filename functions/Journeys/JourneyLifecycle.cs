using Microsoft.Azure.Functions.Worker;
using Microsoft.DurableTask;
using Siyu.Functions.Operations;
using Siyu.Storage.Journeys;

namespace Siyu.Functions.Journeys;

/// <summary>A published journey version, by ids (all the task hub keeps of it).</summary>
public sealed record JourneyVersionRef(string Tenant, string Journey, int Version);

/// <summary>Where a version is in its life, and how many of its runs are still going.</summary>
public sealed record JourneyVersionLook(string Phase, long Active);

/// <summary>A version's phases. Live and paused follow the journey; a version stops being current when a newer one is published or the journey is archived, then drains.</summary>
public static class VersionPhase
{
    public const string Live = "live";
    public const string Paused = "paused";
    /// <summary>A newer version is published: no one enters this one, its runs go on to their end.</summary>
    public const string Superseded = "superseded";
    /// <summary>The journey is archived: its runs leave at their next step.</summary>
    public const string Archived = "archived";
    /// <summary>Not current, and its last run has ended.</summary>
    public const string Drained = "drained";

    public static bool IsCurrent(string phase) => phase is Live or Paused;
}

/// <summary>
/// One orchestration per published journey version (instance <see cref="OperationIds.Journey"/>): it follows the
/// version through live and paused (the <see cref="ChangedEvent"/> the endpoints raise after they change the journey:
/// pause, resume, archive, a newer version) and, once the version is no longer current, waits on durable timers until
/// its last run has ended, then records it drained. The journey row stays the truth the engine reads at every step, so
/// a pause holds runs at once; each event only makes the orchestration look again.
/// </summary>
public static class JourneyLifecycle
{
    public const string Name = "RunJourneyVersion";
    public const string ChangedEvent = "changed";
    private const int LooksPerGeneration = 100;
    private static readonly TimeSpan FirstDrainLook = TimeSpan.FromSeconds(5);
    private static readonly TimeSpan LongestDrainLook = TimeSpan.FromMinutes(10);

    [Function(Name)]
    public static async Task<string> Run([OrchestrationTrigger] TaskOrchestrationContext context)
    {
        var version = context.GetInput<JourneyVersionRef>()!;
        var look = await LookAsync(context, version);
        for (var looks = 0; VersionPhase.IsCurrent(look.Phase); looks++)
        {
            if (looks == LooksPerGeneration) { context.ContinueAsNew(version, preserveUnprocessedEvents: true); return look.Phase; }
            context.SetCustomStatus(look);
            await context.WaitForExternalEvent<string>(ChangedEvent);
            look = await LookAsync(context, version);
        }
        var wait = FirstDrainLook;
        for (var looks = 0; look.Active > 0; looks++)
        {
            if (looks == LooksPerGeneration) { context.ContinueAsNew(version); return look.Phase; }
            context.SetCustomStatus(look);
            await context.CreateTimer(wait, CancellationToken.None);
            wait = TimeSpan.FromTicks(Math.Min(wait.Ticks * 2, LongestDrainLook.Ticks));
            look = await LookAsync(context, version);
        }
        await context.CallActivityAsync(nameof(JourneyLifecycleActivities.JourneyVersionDrained), version, Steps.Retried);
        context.SetCustomStatus(new JourneyVersionLook(VersionPhase.Drained, 0));
        return VersionPhase.Drained;
    }

    private static Task<JourneyVersionLook> LookAsync(TaskOrchestrationContext context, JourneyVersionRef version) =>
        context.CallActivityAsync<JourneyVersionLook>(nameof(JourneyLifecycleActivities.JourneyVersionLook), version, Steps.Retried);
}

public sealed class JourneyLifecycleActivities(JourneyStore journeys, RunStore runs, TimeProvider clock)
{
    [Function(nameof(JourneyVersionLook))]
    public async Task<JourneyVersionLook> JourneyVersionLook([ActivityTrigger] JourneyVersionRef v, CancellationToken ct)
    {
        var journey = await journeys.GetAsync(v.Tenant, v.Journey, ct);
        var active = (await runs.StatsAsync(v.Tenant, v.Journey, ct)).ActiveIn(v.Version);
        var phase = journey switch
        {
            null or { Status: JourneyStatus.Archived } => VersionPhase.Archived,
            _ when journey.Version > v.Version => VersionPhase.Superseded,
            { Status: JourneyStatus.Paused } => VersionPhase.Paused,
            _ => VersionPhase.Live,
        };
        return new JourneyVersionLook(phase, Math.Max(0, active));
    }

    [Function(nameof(JourneyVersionDrained))]
    public Task JourneyVersionDrained([ActivityTrigger] JourneyVersionRef v, CancellationToken ct) =>
        journeys.MarkDrainedAsync(v.Tenant, v.Journey, v.Version, clock.GetUtcNow(), ct);
}

/// <summary>What the journey endpoints and housekeeping do with the version orchestrations.</summary>
public sealed class JourneyVersions(DurableAccess durable)
{
    /// <summary>After a publish: the new version's orchestration starts (once) and the one before it looks again.</summary>
    /// <summary>True when this call started it.</summary>
    public async Task<bool> PublishedAsync(string tenantId, string journeyId, int version, CancellationToken ct)
    {
        var started = await durable.StartOnceAsync(JourneyLifecycle.Name, OperationIds.Journey(tenantId, journeyId, version), new JourneyVersionRef(tenantId, journeyId, version), ct);
        if (version > 1) await ChangedAsync(tenantId, journeyId, version - 1, ct);
        return started;
    }

    /// <summary>After pause, resume or archive: the version looks again (the journey row already says what changed).</summary>
    public Task ChangedAsync(string tenantId, string journeyId, int version, CancellationToken ct) =>
        durable.SignalAsync(OperationIds.Journey(tenantId, journeyId, version), JourneyLifecycle.ChangedEvent, "changed", ct);

    public async Task<OperationView?> ViewAsync(string tenantId, string journeyId, int version, CancellationToken ct) =>
        await durable.Client.GetInstanceAsync(OperationIds.Journey(tenantId, journeyId, version), ct) is { } m ? OperationView.Of(m) : null;
}
