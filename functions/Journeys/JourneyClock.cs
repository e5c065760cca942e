using Microsoft.Azure.Functions.Worker;
using Microsoft.DurableTask;
using Siyu.Functions.Operations;
using Siyu.Storage.Journeys;

namespace Siyu.Functions.Journeys;

/// <summary>What one tick of the clock did, and when it should wake next.</summary>
public sealed record ClockTick(int Dispatched, DateTime WakeAt);

/// <summary>
/// The journey clock: one orchestration for the deployment (instance <see cref="OperationIds.JourneyClock"/>). It sleeps
/// on a durable timer until the earliest timer in the index falls due (or the next hour opens), then sweeps (the
/// <see cref="TimerSweep"/>, which hands due runs to the journey queues) and plans its next wake. A timer filed earlier
/// than the planned wake rings it awake at once (<see cref="ClockBell"/>). An idle deployment makes one tick an hour.
/// </summary>
public static class JourneyClock
{
    public const string Name = "RunJourneyClock";
    public const string WakeEvent = "wake";
    /// <summary>Ticks per generation of the instance before it continues as new (keeps its history short).</summary>
    private const int TicksPerGeneration = 100;

    [Function(Name)]
    public static async Task Run([OrchestrationTrigger] TaskOrchestrationContext context)
    {
        // One waiter for the bell, renewed each time it rings: an abandoned waiter would swallow the next ring.
        var bell = context.WaitForExternalEvent<bool>(WakeEvent);
        for (var tick = 0; tick < TicksPerGeneration; tick++)
        {
            var result = await context.CallActivityAsync<ClockTick>(nameof(JourneyClockActivities.JourneyClockTick), null, Steps.Retried);
            if (result.WakeAt <= context.CurrentUtcDateTime) continue;
            context.SetCustomStatus(new { wakeAt = result.WakeAt, dispatched = result.Dispatched });
            using var timerCancel = new CancellationTokenSource();
            var timer = context.CreateTimer(result.WakeAt, timerCancel.Token);
            if (await Task.WhenAny(timer, bell) == bell)
            {
                timerCancel.Cancel();
                bell = context.WaitForExternalEvent<bool>(WakeEvent);
            }
        }
        context.ContinueAsNew(null, preserveUnprocessedEvents: true);
    }
}

public sealed class JourneyClockActivities(TimerSweep sweep, TimerStore timers, TimeProvider clock)
{
    /// <summary>A busy sweep goes on for up to this long in one tick.</summary>
    private static readonly TimeSpan Longest = TimeSpan.FromSeconds(30);

    [Function(nameof(JourneyClockTick))]
    public async Task<ClockTick> JourneyClockTick([ActivityTrigger] object? input, CancellationToken ct)
    {
        // "Sweeping" first: a timer filed while this tick runs rings the bell, so it is never left to a plan made without it.
        await timers.WriteClockWakeAsync(DateTimeOffset.MaxValue, ct);
        var until = clock.GetUtcNow() + Longest;
        var dispatched = 0;
        int round;
        do dispatched += round = await sweep.RunOnceAsync(ct);
        while (round > 0 && clock.GetUtcNow() < until);
        var now = clock.GetUtcNow();
        var wake = round > 0 ? now : sweep.NextWake(now);
        await timers.WriteClockWakeAsync(wake, ct);
        return new ClockTick(dispatched, wake.UtcDateTime);
    }
}

/// <summary>
/// Rings the journey clock when a timer is filed earlier than its planned wake, and starts the clock if it is not
/// running. One point read per filing round; a ring only when the plan would be late.
/// </summary>
public sealed class ClockBell(TimerStore timers, DurableAccess durable, ILogger<ClockBell> log)
{
    public async Task FiledAsync(DateTimeOffset earliestDue, CancellationToken ct)
    {
        var wake = await timers.ReadClockWakeAsync(ct);
        if (wake is { } planned && planned <= earliestDue) return;
        await RingAsync(ct);
    }

    public async Task RingAsync(CancellationToken ct)
    {
        if (await durable.SignalAsync(OperationIds.JourneyClock, JourneyClock.WakeEvent, true, ct)) return;
        if (await durable.StartUnlessRunningAsync(JourneyClock.Name, OperationIds.JourneyClock, new object(), ct))
            log.LogInformation("Journey clock started");
    }
}
