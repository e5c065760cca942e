using System.Collections.Concurrent;

namespace Siyu.Functions.Hosting;

/// <summary>
/// Lets an idle listener wake at once when this process has just enqueued work for it, instead of waiting out its
/// poll delay. Work enqueued by other processes is still found by polling.
/// </summary>
public sealed class QueueWakeups
{
    private readonly ConcurrentDictionary<string, SemaphoreSlim> _signals = new();

    public void Wake(string queue) { var s = Signal(queue); if (s.CurrentCount == 0) s.Release(); }

    public async Task WaitAsync(string queue, TimeSpan timeout, CancellationToken ct)
    {
        try { await Signal(queue).WaitAsync(timeout, ct); }
        catch (OperationCanceledException) { }
    }

    private SemaphoreSlim Signal(string queue) => _signals.GetOrAdd(queue, _ => new SemaphoreSlim(0, 1));
}
