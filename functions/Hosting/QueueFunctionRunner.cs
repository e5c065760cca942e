using System.Collections.Concurrent;
using Azure.Storage.Queues.Models;
using Microsoft.Extensions.Options;

namespace Siyu.Functions.Hosting;

/// <summary>
/// What every queue function does with its message. The host hands over one message per invocation and runs up to
/// host.json's <c>batchSize + newBatchThreshold</c> invocations of a queue at once; messages of one queue that arrive
/// while its handler is busy are handed to it together in the next round (up to <see cref="QueueOptions.MaxBatchMessages"/>),
/// so handlers still coalesce their storage writes (one table transaction for a partition's events) as they did when
/// the app pulled its own batches. Each message is then settled by <see cref="Settlement"/>:
/// <list type="bullet">
/// <item>done: the invocation succeeds and the host deletes the message;</item>
/// <item>retry: the invocation throws; the host makes the message visible again after host.json's
/// <c>visibilityTimeout</c> and tries again;</item>
/// <item>poison (a permanent failure, or a retry on the last try): the message is written to <c>{queue}-poison</c> with
/// its reason, here, and the invocation succeeds, so the host deletes it and never adds a reasonless copy. Only a
/// failure to write that poison message is left to the host, which then moves the original there after its last try.</item>
/// </list>
/// The last try is known by <c>maxDequeueCount</c>, read from the same host.json the host reads (<see cref="HostQueueSettings"/>).
/// </summary>
public sealed class QueueFunctionRunner(PoisonQueue poison, IOptions<QueueOptions> options, IOptions<Delivery.DeliverySettings> delivery,
    IConfiguration config, ILogger<QueueFunctionRunner> log)
{
    private readonly ConcurrentDictionary<string, Rounds> _rounds = new();
    private readonly int _maxDequeueCount = HostQueueSettings.MaxDequeueCount(config, options.Value.MaxDequeueCount);

    /// <summary>Delivery messages carry a hundred sends each: small rounds, several at once, so no round waits for its slowest send.</summary>
    public Task RunDeliveryAsync(IQueueHandler handler, string queue, QueueMessage message) =>
        RunAsync(handler, queue, message, delivery.Value.MessagesPerRound, delivery.Value.RoundsPerQueue);

    /// <summary>Runs <paramref name="message"/> of <paramref name="queue"/> (the name its trigger resolved) through <paramref name="handler"/> and settles it.</summary>
    public Task RunAsync(IQueueHandler handler, string queue, QueueMessage message) =>
        RunAsync(handler, queue, message, options.Value.MaxBatchMessages, options.Value.ConcurrentBatchesPerQueue);

    private async Task RunAsync(IQueueHandler handler, string queue, QueueMessage message, int perRound, int lanes)
    {
        var item = new QueueWorkItem(message.MessageText, message.DequeueCount, message.MessageId);
        var rounds = _rounds.GetOrAdd(queue, _ => new Rounds(handler, Math.Max(1, perRound), Math.Max(1, lanes), log, queue));
        var outcome = await rounds.HandleAsync(item);
        var (action, error) = Settlement.Decide(outcome, item.DequeueCount, _maxDequeueCount);
        switch (action)
        {
            case Settlement.Action.Retry:
                log.LogWarning("Message {Id} on {Queue} failed (try {Try}): {Error}", item.MessageId, queue, item.DequeueCount, error);
                throw new QueueWorkFailed(queue, error!);
            case Settlement.Action.Poison:
                log.LogError("Message {Id} on {Queue} moved to poison: {Error}", item.MessageId, queue, error);
                await poison.WriteAsync(queue, item, error!, CancellationToken.None);
                break;
        }
    }

    /// <summary>One queue's rounds: an arriving message joins the next round; up to <c>lanes</c> rounds run at once.</summary>
    private sealed class Rounds(IQueueHandler handler, int perRound, int lanes, ILogger log, string queue)
    {
        private readonly Lock _gate = new();
        private readonly List<(QueueWorkItem Item, TaskCompletionSource<WorkOutcome> Done)> _waiting = [];
        private int _running;

        public Task<WorkOutcome> HandleAsync(QueueWorkItem item)
        {
            var done = new TaskCompletionSource<WorkOutcome>(TaskCreationOptions.RunContinuationsAsynchronously);
            lock (_gate)
            {
                _waiting.Add((item, done));
                if (_running >= lanes) return done.Task;
                _running++;
            }
            _ = Task.Run(DrainAsync);
            return done.Task;
        }

        private async Task DrainAsync()
        {
            while (true)
            {
                List<(QueueWorkItem Item, TaskCompletionSource<WorkOutcome> Done)> round;
                lock (_gate)
                {
                    if (_waiting.Count == 0) { _running--; return; }
                    var take = Math.Min(perRound, _waiting.Count);
                    round = _waiting.GetRange(0, take);
                    _waiting.RemoveRange(0, take);
                }
                IReadOnlyList<WorkOutcome> outcomes;
                using var span = Telemetry.Round(queue, round.ConvertAll(r => r.Item.Text));
                try
                {
                    outcomes = await handler.HandleAsync(round.Select(r => r.Item).ToList(), CancellationToken.None);
                    if (outcomes.Count != round.Count) throw new InvalidOperationException($"{outcomes.Count} outcomes for {round.Count} messages");
                }
                catch (Exception e)
                {
                    log.LogError(e, "Handler for {Queue} failed on a round of {Count}", queue, round.Count);
                    outcomes = round.Select(_ => WorkOutcome.Retry($"{e.GetType().Name}: {e.Message}")).ToList();
                }
                for (var i = 0; i < round.Count; i++) round[i].Done.TrySetResult(outcomes[i]);
            }
        }
    }
}

/// <summary>A message that failed and is to be tried again by the host: its reason is the message.</summary>
public sealed class QueueWorkFailed(string queue, string reason) : Exception($"{queue}: {reason}");

/// <summary>host.json's queue settings as the host applies them, for the parts the app must agree with.</summary>
public static class HostQueueSettings
{
    /// <summary>host.json's <c>extensions.queues.maxDequeueCount</c> beside the app, overridden as the host overrides it
    /// (app setting <c>AzureFunctionsJobHost__extensions__queues__maxDequeueCount</c>); <paramref name="fallback"/> without either.</summary>
    public static int MaxDequeueCount(IConfiguration config, int fallback)
    {
        if (int.TryParse(config["AzureFunctionsJobHost:extensions:queues:maxDequeueCount"], out var value)) return value;
        var path = Path.Combine(AppContext.BaseDirectory, "host.json");
        if (!File.Exists(path)) return fallback;
        var root = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(path), documentOptions: new System.Text.Json.JsonDocumentOptions { CommentHandling = System.Text.Json.JsonCommentHandling.Skip });
        return root?["extensions"]?["queues"]?["maxDequeueCount"]?.GetValue<int>() ?? fallback;
    }
}
