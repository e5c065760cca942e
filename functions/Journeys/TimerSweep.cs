using System.Collections.Concurrent;
using Azure;
using Microsoft.Extensions.Options;
using Siyu.Functions.Hosting;
using Siyu.Storage.Journeys;

namespace Siyu.Functions.Journeys;

/// <summary>
/// Moves due timers from the timer table to the journey queues, one message per partition's worth of runs.
/// <para>Each partition is read onward from the last row handed on, and handed-on rows are deleted only later: at
/// least <see cref="JourneySettings.TimerClearDelay"/> after, once the journey queues are nearly empty; at most
/// <see cref="JourneySettings.TimerClearDelayMax"/> after; or when their hour closes. When many timers fall due at
/// once, storage works on the steps they start first (on Azurite a delete costs more the bigger the table).</para>
/// <para>Reading onward misses nothing, because no timer is filed within <see cref="TimerArming.QueueWindow"/> of
/// falling due. Should a write still land behind the position (a clock far off, a write held up that long), it is
/// found when the partition is cleared, after which reading starts from its beginning again.</para>
/// <para>It runs when the journey clock (<see cref="JourneyClock"/>) wakes, and says when it should wake next
/// (<see cref="NextWake"/>): the earliest timer filed in the open hours, the next clearing of handed-on rows, or the
/// next hour, whichever is first. A timer filed earlier than that wakes the clock itself (<see cref="ClockBell"/>).</para>
/// <para>A crash before clearing hands the same timers on again: the runs see a stale generation and ignore the
/// repeat. The sweep keeps a cursor (the earliest hour that may still hold timers), so it never scans the past twice.</para>
/// </summary>
public sealed class TimerSweep(TimerStore timers, JourneyQueue queue, IOptions<JourneySettings> settings, TimeProvider clock)
{
    /// <summary>An hour is closed this long after it ends: a writer whose clock is a little behind can still file into it.</summary>
    public static readonly TimeSpan Grace = TimeSpan.FromMinutes(5);
    private const int PageSize = 1000;
    /// <summary>Rows handed on and kept, per partition, before they are cleared however recent.</summary>
    private const int MaxKept = 50_000;
    /// <summary>Journey queue messages (waiting or being worked on) at or below which the queues count as nearly empty.</summary>
    private const long QuietBacklog = 16;
    private readonly JourneySettings _settings = settings.Value;
    private readonly SemaphoreSlim _one = new(1, 1);
    private readonly ConcurrentDictionary<string, Swept> _swept = new(StringComparer.Ordinal);
    private string? _cursor;

    /// <summary>Where reading a partition goes on from, and the rows handed on since it was last cleared.</summary>
    private sealed class Swept
    {
        public string? After { get; set; }
        public List<(string RowKey, ETag ETag)> Fired { get; } = new();
        public DateTimeOffset Since { get; set; }
        /// <summary>The first timer not yet handed on, when one is filed.</summary>
        public DateTimeOffset? NextDue { get; set; }
    }

    /// <summary>Dispatches every timer due now; returns how many.</summary>
    public async Task<int> RunOnceAsync(CancellationToken ct)
    {
        // One sweep at a time in this process; a second process sweeping too only causes ignored repeats.
        if (!await _one.WaitAsync(0, ct)) return 0;
        try
        {
            var now = clock.GetUtcNow();
            _cursor ??= await timers.ReadCursorAsync(ct) ?? TimerStore.Hour(now - TimeSpan.FromDays(1));
            var hours = new List<string>();
            for (var h = TimerStore.HourStart(_cursor); h <= now; h = h.AddHours(1)) hours.Add(TimerStore.Hour(h));

            var dispatched = 0;
            var closed = true;
            var cursor = _cursor;
            // Asked only when some handed-on timers are old enough to clear.
            var quiet = _swept.Values.Any(s => s.Fired.Count > 0 && now - s.Since >= _settings.TimerClearDelay)
                        && await queue.BacklogAsync(ct) <= QuietBacklog;
            foreach (var hour in hours)
            {
                // Past hours, once drained and cleared, are closed for good; the cursor moves over them.
                var closing = TimerStore.HourStart(hour).AddHours(1) + Grace <= now;
                var counts = await Task.WhenAll(Enumerable.Range(0, TimerStore.Shards).Select(shard => DrainAsync(TimerStore.Partition(hour, shard), now, closing, quiet, ct)));
                dispatched += counts.Sum();
                closed &= closing;
                if (closed) cursor = TimerStore.Hour(TimerStore.HourStart(hour).AddHours(1));
            }
            if (cursor != _cursor)
            {
                await timers.WriteCursorAsync(cursor, ct);
                _cursor = cursor;
            }
            return dispatched;
        }
        finally { _one.Release(); }
    }

    /// <summary>When the clock should next run <see cref="RunOnceAsync"/>, as seen by the sweep just done.</summary>
    public DateTimeOffset NextWake(DateTimeOffset now)
    {
        // The next hour's timers are looked at once it opens; the last hour is cleared and closed once its grace is over.
        var hourStart = TimerStore.HourStart(TimerStore.Hour(now));
        var wake = hourStart.AddHours(1);
        if (now < hourStart + Grace) wake = hourStart + Grace;
        foreach (var swept in _swept.Values)
        {
            if (swept.NextDue is { } due && due < wake) wake = due;
            if (swept.Fired.Count == 0) continue;
            // Handed-on rows are cleared once the queues are quiet (from TimerClearDelay on), or at the latest after TimerClearDelayMax.
            var clear = now < swept.Since + _settings.TimerClearDelay ? swept.Since + _settings.TimerClearDelay : swept.Since + _settings.TimerClearDelayMax;
            if (clear <= now) clear = now + _settings.TimerClearDelay;
            if (clear < wake) wake = clear;
        }
        return wake;
    }

    private async Task<int> DrainAsync(string partition, DateTimeOffset now, bool closing, bool quiet, CancellationToken ct)
    {
        var swept = _swept.GetOrAdd(partition, _ => new Swept());
        var total = 0;
        if (closing && swept.Fired.Count > 0)
        {
            // A closing hour is cleared, then read once more from its start: after this, nobody looks at it again.
            await timers.DeleteAsync(partition, swept.Fired, ct);
            _swept[partition] = swept = new Swept();
        }
        while (true)
        {
            var due = await timers.DueAsync(partition, swept.After, now, PageSize, ct);
            if (due.Count > 0)
            {
                // In run-key order, so one message's runs lie together and are read by one range query (RunStore.GetManyAsync).
                var messages = due.GroupBy(d => (d.Timer.TenantId, d.Timer.Bucket))
                    .SelectMany(g => g.OrderBy(d => d.Timer.RunKey, StringComparer.Ordinal).Chunk(_settings.TimersPerMessage).Select(chunk => new JourneyMessage(
                        JourneyMessage.TimersKind, g.Key.TenantId, g.Key.Bucket, Timers: chunk.Select(c => new TimerItem(c.Timer.RunKey, c.Timer.Generation, c.Timer.DueAt)).ToList())));
                await Parallel.ForEachAsync(messages, new ParallelOptions { MaxDegreeOfParallelism = 8, CancellationToken = ct }, (m, token) => new ValueTask(queue.SendAsync(m, token)));
                if (swept.Fired.Count == 0) swept.Since = now;
                swept.Fired.AddRange(due.Select(d => (d.RowKey, d.ETag)));
                swept.After = due[^1].RowKey;
                JourneyMetrics.TimersFired.Add(due.Count);
                total += due.Count;
            }
            if (due.Count < PageSize)
            {
                swept.NextDue = await timers.NextDueAsync(partition, now, ct);
                break;
            }
        }
        if (closing)
        {
            if (swept.Fired.Count > 0) await timers.DeleteAsync(partition, swept.Fired, ct);
            _swept.TryRemove(partition, out _);
        }
        else if (swept.Fired.Count > 0 && (now - swept.Since >= (quiet ? _settings.TimerClearDelay : _settings.TimerClearDelayMax) || swept.Fired.Count >= MaxKept))
        {
            await timers.DeleteAsync(partition, swept.Fired, ct);
            // Read from the start again, at once: a row written behind the position is found now.
            _swept[partition] = new Swept();
        }
        return total;
    }
}
