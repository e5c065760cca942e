using System.Collections.Concurrent;

namespace Siyu.Functions.Hosting;

/// <summary>
/// Lets an idle listener wake soon after this process has enqueued work for it, instead of waiting out its poll
/// delay. Work enqueued by other processes is still found by polling. A woken listener waits a short
/// <see cref="Gather"/> before it receives, so a burst of sends is taken in one receive, not one each.
/// </summary>
public sealed class QueueWakeups
{
    private readonly ConcurrentDictionary<string, SemaphoreSlim> _signals = new();

    public void Wake(string queue) { var s = Signal(queue); if (s.CurrentCount == 0) s.Release(); }

    public static readonly TimeSpan Gather = TimeSpan.FromMilliseconds(250);

    public async Task WaitAsync(string queue, TimeSpan timeout, CancellationToken ct)
    {
        try
        {
            if (await Signal(queue).WaitAsync(timeout, ct)) await Task.Delay(Gather, ct);
        }
        catch (OperationCanceledException) { }
    }

    private SemaphoreSlim Signal(string queue) => _signals.GetOrAdd(queue, _ => new SemaphoreSlim(0, 1));
}
