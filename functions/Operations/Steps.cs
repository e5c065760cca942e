using Microsoft.DurableTask;

namespace Siyu.Functions.Operations;

/// <summary>How the product's orchestrations call their activities: retried with backoff, since each is idempotent.</summary>
public static class Steps
{
    /// <summary>About ten minutes of tries: long enough to ride out a storage outage, short enough that a real fault shows as a failed operation.</summary>
    public static readonly TaskOptions Retried = TaskOptions.FromRetryPolicy(new RetryPolicy(
        maxNumberOfAttempts: 12, firstRetryInterval: TimeSpan.FromSeconds(1), backoffCoefficient: 2, maxRetryInterval: TimeSpan.FromMinutes(2)));
}
