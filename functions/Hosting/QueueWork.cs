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
