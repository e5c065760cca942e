using Microsoft.Extensions.Options;
using Siyu.Storage.Queues;

namespace Siyu.Functions.Hosting;

/// <summary>
/// Pulls one queue and feeds its handler (standalone mode; in Azure the Functions host does this). Receives in
/// batches, runs a bounded number of batches at once, backs off when idle, renews the lease of messages whose
/// batch runs long, and settles every message by <see cref="Settlement"/>.
/// </summary>
public sealed class QueueListener(
    string queueName, IQueueService queues, IQueueHandler handler, PoisonQueue poison, IOptions<QueueOptions> options,
    QueueWakeups wakeups, ILogger<QueueListener> log)
{
    private readonly QueueOptions _options = options.Value;
    private readonly IMessageQueue _queue = queues.Queue(queueName);

    public string QueueName => queueName;

    public async Task RunAsync(CancellationToken stop)
    {
        using var slots = new SemaphoreSlim(_options.ConcurrentBatchesPerQueue);
        var delay = _options.MinPollDelay;
        var running = new List<Task>();
        while (!stop.IsCancellationRequested)
        {
            try { await slots.WaitAsync(stop); }
            catch (OperationCanceledException) { break; }
            List<ReceivedMessage> messages;
            try
            {
                messages = [.. await _queue.ReceiveAsync(_options.BatchSize, _options.VisibilityTimeout, stop)];
                // A full receive means a backlog: take more of it into this round.
                while (messages.Count % _options.BatchSize == 0 && messages.Count > 0 && messages.Count < _options.MaxBatchMessages)
                {
                    IReadOnlyList<ReceivedMessage> more;
                    try { more = await _queue.ReceiveAsync(Math.Min(_options.BatchSize, _options.MaxBatchMessages - messages.Count), _options.VisibilityTimeout, stop); }
                    catch (Exception e) when (e is not OperationCanceledException) { break; } // process what we hold
                    messages.AddRange(more);
                    if (more.Count == 0) break;
                }
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested) { slots.Release(); break; }
            catch (Exception e)
            {
                slots.Release();
                log.LogWarning(e, "Receiving from {Queue} failed; backing off", queueName);
                await Delay(_options.MaxPollDelay, stop);
                continue;
            }

            if (messages.Count == 0)
            {
                slots.Release();
                await wakeups.WaitAsync(queueName, delay, stop);
                delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, _options.MaxPollDelay.Ticks));
                continue;
            }

            delay = _options.MinPollDelay;
            running.RemoveAll(t => t.IsCompleted);
            running.Add(Task.Run(async () =>
            {
                try { await ProcessAsync(messages, stop); }
                finally { slots.Release(); }
            }, CancellationToken.None));
        }
        await Task.WhenAll(running);
    }

    /// <summary>Handles one received batch and settles each message. Public so tests can drive one round.</summary>
    public async Task ProcessAsync(IReadOnlyList<ReceivedMessage> messages, CancellationToken stop)
    {
        var leases = messages.Select(m => new Lease(m)).ToList();
        using var renewing = CancellationTokenSource.CreateLinkedTokenSource(stop);
        var renewal = RenewLeasesAsync(leases, renewing.Token);

        IReadOnlyList<WorkOutcome> outcomes;
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        try
        {
            var items = messages.Select(m => new QueueWorkItem(m.Text, m.DequeueCount, m.MessageId)).ToList();
            outcomes = await handler.HandleAsync(items, CancellationToken.None);
        }
        catch (Exception e)
        {
            log.LogError(e, "Handler for {Queue} failed on a batch of {Count}", queueName, messages.Count);
            outcomes = messages.Select(_ => WorkOutcome.Retry($"{e.GetType().Name}: {e.Message}")).ToList();
        }
        finally
        {
            await renewing.CancelAsync();
            await renewal;
        }

        var handled = System.Diagnostics.Stopwatch.GetElapsedTime(started);
        await Parallel.ForEachAsync(Enumerable.Range(0, leases.Count), new ParallelOptions { MaxDegreeOfParallelism = 8 }, async (i, _) =>
        {
            var lease = leases[i];
            try { await SettleAsync(lease, outcomes[i]); }
            catch (Exception e) { log.LogWarning(e, "Settling message {Id} on {Queue} failed; it will be retried", lease.Message.MessageId, queueName); }
        });
        log.LogDebug("{Queue}: {Count} messages handled in {Handled:F0} ms, settled in {Settled:F0} ms", queueName, messages.Count,
            handled.TotalMilliseconds, (System.Diagnostics.Stopwatch.GetElapsedTime(started) - handled).TotalMilliseconds);
    }

    private async Task SettleAsync(Lease lease, WorkOutcome outcome)
    {
        var m = lease.Message;
        var (action, error) = Settlement.Decide(outcome, m.DequeueCount, _options.MaxDequeueCount);
        switch (action)
        {
            case Settlement.Action.Delete:
                await _queue.TryDeleteAsync(m.MessageId, lease.PopReceipt);
                break;
            case Settlement.Action.Retry:
                log.LogWarning("Message {Id} on {Queue} failed (try {Try}): {Error}", m.MessageId, queueName, m.DequeueCount, error);
                await _queue.UpdateVisibilityAsync(m.MessageId, lease.PopReceipt, _options.RetryDelay);
                break;
            case Settlement.Action.Poison:
                log.LogError("Message {Id} on {Queue} moved to poison: {Error}", m.MessageId, queueName, error);
                await poison.WriteAsync(queueName, new QueueWorkItem(m.Text, m.DequeueCount, m.MessageId), error!, CancellationToken.None);
                await _queue.TryDeleteAsync(m.MessageId, lease.PopReceipt);
                break;
        }
    }

    /// <summary>Keeps the batch's messages hidden while it is being processed, renewing at half the timeout.</summary>
    private async Task RenewLeasesAsync(List<Lease> leases, CancellationToken ct)
    {
        var every = _options.VisibilityTimeout / 2;
        try
        {
            while (true)
            {
                await Task.Delay(every, ct);
                foreach (var lease in leases)
                {
                    if (ct.IsCancellationRequested) return;
                    try
                    {
                        // Never cancelled once sent: an update the queue applied but we stopped waiting for would leave us
                        // with a stale pop receipt, and the message could then not be deleted when its batch is done.
                        var receipt = await _queue.UpdateVisibilityAsync(lease.Message.MessageId, lease.PopReceipt, _options.VisibilityTimeout, ct: CancellationToken.None);
                        lease.PopReceipt = receipt.PopReceipt;
                    }
                    catch (Exception e) when (e is not OperationCanceledException)
                    {
                        log.LogWarning(e, "Could not renew message {Id} on {Queue}", lease.Message.MessageId, queueName);
                    }
                }
            }
        }
        catch (OperationCanceledException) { }
    }

    private static async Task Delay(TimeSpan delay, CancellationToken ct)
    {
        try { await Task.Delay(delay, ct); } catch (OperationCanceledException) { }
    }

    private sealed class Lease(ReceivedMessage message)
    {
        public ReceivedMessage Message { get; } = message;
        public string PopReceipt { get; set; } = message.PopReceipt;
    }
}
