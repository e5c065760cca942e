namespace Siyu.Functions.Hosting;

/// <summary>
/// Configuration section "Queues": how the queue functions hand messages to their handlers (<see cref="QueueFunctionRunner"/>).
/// How the queues are pulled (batch size, polling, retry delay, tries) is the host's, set in host.json.
/// </summary>
public sealed class QueueOptions
{
    /// <summary>
    /// Messages per handler round: messages of one queue that arrive while a round runs are taken into the next, up to
    /// this many, so more of one profile's events share one write.
    /// </summary>
    public int MaxBatchMessages { get; set; } = 256;
    /// <summary>Rounds in flight per queue.</summary>
    public int ConcurrentBatchesPerQueue { get; set; } = 1;
    /// <summary>Tries before the poison queue when host.json (beside the app) does not say: it says 5.</summary>
    public int MaxDequeueCount { get; set; } = 5;
}
