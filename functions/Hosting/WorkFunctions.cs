using Microsoft.Azure.Functions.Worker;
using Microsoft.DurableTask.Client;
using Siyu.Functions.Analytics;
using Siyu.Functions.Operations;
using Siyu.Functions.Privacy;
using Siyu.Functions.Segments;

namespace Siyu.Functions.Hosting;

/// <summary>The connection the queue triggers use: a connection string (Azurite), or <c>SiyuStorage__queueServiceUri</c> with a managed identity.</summary>
public static class QueueConnection
{
    public const string Name = "SiyuStorage";
}

/// <summary>The schedules: the hourly sweep, retention, the orchestrations' housekeeping, and the daily audience snapshot. Each starts orchestrations, so each takes the task hub's client.</summary>
public sealed class WorkFunctions(DurableAccess durable, AudienceSweep sweep, RetentionPurge purge, OperationsHousekeeping housekeeping, AnalysisJobs analyses)
{
    /// <summary>Hourly: every tenant's segments and traits are swept (an orchestration per tenant and hour).</summary>
    [Function("AudienceSweep")]
    public async Task AudienceSweep([TimerTrigger("0 0 * * * *")] TimerInfo timer, [DurableClient] DurableTaskClient client, CancellationToken ct)
    {
        durable.Use(client);
        await sweep.RequestAllAsync(ct);
    }

    /// <summary>Hourly: retention erases what is past its period, resumes stalled erasures and clears expired WeChat nonces.</summary>
    [Function("RetentionPurge")]
    public async Task Retention([TimerTrigger("0 30 * * * *")] TimerInfo timer, [DurableClient] DurableTaskClient client, CancellationToken ct)
    {
        durable.Use(client);
        await purge.RunAsync(ct);
    }

    /// <summary>Hourly: ended orchestrations past their retention are purged from the task hub; campaigns whose start was lost are started.</summary>
    [Function("OperationsHousekeeping")]
    public async Task Housekeeping([TimerTrigger("0 45 * * * *")] TimerInfo timer, [DurableClient] DurableTaskClient client, CancellationToken ct)
    {
        durable.Use(client);
        await housekeeping.RunAsync(ct);
    }

    /// <summary>Daily at 02:00 China time: each tenant's audience snapshot (consent rates, RFM, lifecycle, segment sizes of the day).</summary>
    [Function("AudienceSnapshot")]
    public async Task AudienceSnapshot([TimerTrigger("0 0 18 * * *")] TimerInfo timer, [DurableClient] DurableTaskClient client, CancellationToken ct)
    {
        durable.Use(client);
        await analyses.StartDailySnapshotsAsync(ct);
    }
}
