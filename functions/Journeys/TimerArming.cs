using Microsoft.Extensions.Options;
using Siyu.Storage.Journeys;

namespace Siyu.Functions.Journeys;

/// <summary>
/// Arms journey timers. A timer due within <see cref="QueueWindow"/> goes straight to its journey queue, hidden until
/// it falls due (the queue holds only seconds of such messages, so stays fast); a later one is filed in the timer
/// index (<see cref="TimerStore"/>) for the sweep. So every row in the index is written at least that long before it
/// falls due, which is what lets the sweep read each partition onward from where it stopped (see <see cref="TimerSweep"/>);
/// the journey clock is rung when a filed timer falls due before it means to wake.
/// </summary>
public sealed class TimerArming(TimerStore store, JourneyQueue queue, ClockBell bell, IOptions<JourneySettings> settings)
{
    public static readonly TimeSpan QueueWindow = TimeSpan.FromSeconds(10);
    /// <summary>Queued timers due close together share a message, shown when the last of them is due.</summary>
    private static readonly TimeSpan Slot = TimeSpan.FromMilliseconds(250);
    private readonly JourneySettings _settings = settings.Value;

    public async Task ArmAsync(IEnumerable<JourneyTimer> timers, DateTimeOffset now, CancellationToken ct)
    {
        var all = timers.ToList();
        var later = all.Where(t => t.DueAt - now > QueueWindow).ToList();
        if (later.Count > 0)
        {
            await store.ArmAsync(later, now, ct);
            // After filing: a clock that planned past these is rung (see JourneyClockActivities for why this order).
            await bell.FiledAsync(later.Min(t => t.DueAt), ct);
        }
        var soon = all.Where(t => t.DueAt - now <= QueueWindow)
            .GroupBy(t => (t.TenantId, t.Bucket, Wait: t.DueAt <= now ? 0 : (long)Math.Ceiling((t.DueAt - now) / Slot)))
            .SelectMany(g => g.Chunk(_settings.TimersPerMessage).Select(chunk => (Delay: g.Key.Wait * Slot, Message: new JourneyMessage(JourneyMessage.TimersKind,
                g.Key.TenantId, g.Key.Bucket, Timers: chunk.Select(t => new TimerItem(t.RunKey, t.Generation, t.DueAt)).ToList()))))
            .ToList();
        await Parallel.ForEachAsync(soon, new ParallelOptions { MaxDegreeOfParallelism = 8, CancellationToken = ct },
            (m, token) => new ValueTask(queue.SendAsync(m.Message, token, m.Delay)));
    }
}
