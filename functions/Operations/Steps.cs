using Microsoft.DurableTask;

namespace Siyu.Functions.Operations;

/// <summary>How the product's orchestrations call their activities: retried with backoff, since each is idempotent.</summary>
public static class Steps
{
    /// <summary>
    /// About ten minutes of tries: long enough to ride out a storage outage, short enough that a real fault shows as a
    /// failed operation. A step that throws <see cref="PermanentStepFailure"/> is not tried again: its operation fails
    /// at once, for an admin to see and retry once the cause is fixed.
    /// </summary>
    public static readonly TaskOptions Retried = TaskOptions.FromRetryPolicy(new RetryPolicy(
        maxNumberOfAttempts: 12, firstRetryInterval: TimeSpan.FromSeconds(1), backoffCoefficient: 2, maxRetryInterval: TimeSpan.FromMinutes(2))
    {
        HandleFailure = failure => failure.ErrorType != typeof(PermanentStepFailure).FullName,
    });
}

/// <summary>A step's failure that trying again cannot mend (what it needs is missing or refused); the message says what.</summary>
public sealed class PermanentStepFailure(string message) : Exception(message);
