namespace Siyu.Functions.Hosting;

/// <summary>One queue message as a handler sees it, whichever way it arrived (our own listener or the Functions host).</summary>
public sealed record QueueWorkItem(string Text, long DequeueCount, string? MessageId = null);

/// <summary>What became of one message.</summary>
public abstract record WorkOutcome
{
    public static readonly WorkOutcome Done = new DoneOutcome();
    /// <summary>Failed, may succeed later (storage busy, a race): try again, up to the queue's limit.</summary>
    public static WorkOutcome Retry(string error) => new RetryOutcome(error);
    /// <summary>Failed for good (it cannot be parsed, it can never be stored): straight to the poison queue.</summary>
    public static WorkOutcome Poison(string error) => new PoisonOutcome(error);

    public sealed record DoneOutcome : WorkOutcome;
    public sealed record RetryOutcome(string Error) : WorkOutcome;
    public sealed record PoisonOutcome(string Error) : WorkOutcome;
}

/// <summary>
/// The handler of one kind of queue work. It takes a batch so that it can coalesce storage writes across
/// messages; it returns one outcome per message, in order, and only throws for faults that concern the whole batch.
/// </summary>
public interface IQueueHandler
{
    Task<IReadOnlyList<WorkOutcome>> HandleAsync(IReadOnlyList<QueueWorkItem> batch, CancellationToken ct);
}

/// <summary>
/// A handler whose messages are small JSON commands, each done on its own: unreadable ones go to the poison queue
/// with the reason, failures are retried (the work must be idempotent).
/// </summary>
public abstract class JsonCommandHandler<TCommand>(ILogger log) : IQueueHandler where TCommand : class
{
    public async Task<IReadOnlyList<WorkOutcome>> HandleAsync(IReadOnlyList<QueueWorkItem> batch, CancellationToken ct)
    {
        var outcomes = new WorkOutcome[batch.Count];
        await Parallel.ForEachAsync(Enumerable.Range(0, batch.Count), new ParallelOptions { MaxDegreeOfParallelism = 8, CancellationToken = ct }, async (i, token) =>
        {
            TCommand? command;
            try { command = System.Text.Json.JsonSerializer.Deserialize<TCommand>(batch[i].Text, System.Text.Json.JsonSerializerOptions.Web); }
            catch (System.Text.Json.JsonException e) { outcomes[i] = WorkOutcome.Poison($"unreadable {Kind} message: {e.Message}"); return; }
            var invalid = command is null ? "empty" : Invalid(command);
            if (invalid is not null) { outcomes[i] = WorkOutcome.Poison($"{Kind} message: {invalid}"); return; }
            try { outcomes[i] = await RunAsync(command!, token); }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                log.LogWarning(e, "{Kind} {Command} stopped; it resumes on retry", Kind, command);
                outcomes[i] = WorkOutcome.Retry($"{Kind} stopped: {e.Message}");
            }
        });
        return outcomes;
    }

    /// <summary>What the messages are, for logs and poison reasons.</summary>
    protected abstract string Kind { get; }

    /// <summary>Why a readable command cannot be run, or null.</summary>
    protected abstract string? Invalid(TCommand command);

    protected abstract Task<WorkOutcome> RunAsync(TCommand command, CancellationToken ct);
}
