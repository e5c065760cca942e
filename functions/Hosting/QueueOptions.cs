namespace Siyu.Functions.Hosting;

/// <summary>How our own queue listeners pull work (standalone mode). In Azure, host.json says the same for the host.</summary>
public sealed class QueueOptions
{
    /// <summary>Messages per receive (1-32).</summary>
    public int BatchSize { get; set; } = 32;
    /// <summary>
    /// Messages per processing round. Above <see cref="BatchSize"/>, a full receive is followed by more receives, so a
    /// backlog is processed in big rounds: more of one profile's events share one write.
    /// </summary>
    public int MaxBatchMessages { get; set; } = 256;
    /// <summary>How long a received message stays hidden; renewed while its batch is still being processed.</summary>
    public TimeSpan VisibilityTimeout { get; set; } = TimeSpan.FromSeconds(60);
    /// <summary>After this many failed tries a message goes to the poison queue.</summary>
    public int MaxDequeueCount { get; set; } = 5;
    /// <summary>How long a failed message waits before its next try.</summary>
    public TimeSpan RetryDelay { get; set; } = TimeSpan.FromSeconds(2);
    /// <summary>Polling backs off from <see cref="MinPollDelay"/> to this when a queue is idle.</summary>
    public TimeSpan MaxPollDelay { get; set; } = TimeSpan.FromMilliseconds(500);
    public TimeSpan MinPollDelay { get; set; } = TimeSpan.FromMilliseconds(20);
    /// <summary>Batches in flight per queue.</summary>
    public int ConcurrentBatchesPerQueue { get; set; } = 1;
    /// <summary>Run our own listeners. Off when the Functions host triggers the handlers.</summary>
    public bool ListenersEnabled { get; set; } = true;

    /// <summary>These options with other round sizes: up to <paramref name="maxBatchMessages"/> messages a round, <paramref name="concurrentBatches"/> rounds at once.</summary>
    public QueueOptions Reshaped(int maxBatchMessages, int concurrentBatches)
    {
        var copy = (QueueOptions)MemberwiseClone();
        copy.MaxBatchMessages = Math.Max(1, maxBatchMessages);
        copy.BatchSize = Math.Min(BatchSize, copy.MaxBatchMessages);
        copy.ConcurrentBatchesPerQueue = Math.Max(1, concurrentBatches);
        return copy;
    }
}
