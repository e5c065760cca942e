using Microsoft.Azure.Functions.Worker;
using Microsoft.DurableTask;
using Siyu.Core.Analytics;
using Siyu.Core.Storage;
using Siyu.Functions.Operations;

namespace Siyu.Functions.Analytics;

/// <summary>An analysis job by reference: its request is stored with the job (<c>AnalysisStore</c>), never in the task hub.</summary>
public sealed record AnalysisJobRef(string TenantId, string JobId);

public sealed record AnalysisPartition(string TenantId, string JobId, int Bucket);

public sealed record AnalysisOutcome(string TenantId, string JobId, AnalysisPartial? Totals, string? Error);

/// <summary>
/// One orchestration per analysis job (instance <see cref="OperationIds.Analysis"/>): every profile partition an
/// activity, all at once, their counts summed here, the result written by a last activity. What passes through the
/// history is counts only.
/// </summary>
public static class AnalysisOrchestration
{
    public const string Name = "RunAnalysis";

    [Function(Name)]
    public static async Task<string> Run([OrchestrationTrigger] TaskOrchestrationContext context)
    {
        var job = context.GetInput<AnalysisJobRef>()!;
        var parts = Enumerable.Range(0, Ids.ProfileBuckets)
            .Select(b => context.CallActivityAsync<AnalysisPartial>(nameof(AnalysisActivities.AnalysePartition), new AnalysisPartition(job.TenantId, job.JobId, b), Steps.Retried))
            .ToList();
        var totals = new AnalysisPartial();
        var done = 0;
        try
        {
            while (parts.Count > 0)
            {
                var finished = await Task.WhenAny(parts);
                parts.Remove(finished);
                totals.Add(await finished);
                context.SetCustomStatus(new { partitions = Ids.ProfileBuckets, done = ++done });
            }
        }
        catch (TaskFailedException e)
        {
            await context.CallActivityAsync(nameof(AnalysisActivities.CompleteAnalysis), new AnalysisOutcome(job.TenantId, job.JobId, null, e.FailureDetails.ErrorMessage), Steps.Retried);
            return "failed";
        }
        await context.CallActivityAsync(nameof(AnalysisActivities.CompleteAnalysis), new AnalysisOutcome(job.TenantId, job.JobId, totals, null), Steps.Retried);
        return "done";
    }
}

public sealed class AnalysisActivities(AnalysisJobs jobs)
{
    [Function(nameof(AnalysePartition))]
    public Task<AnalysisPartial> AnalysePartition([ActivityTrigger] AnalysisPartition part, CancellationToken ct) => jobs.AnalysePartitionAsync(part, ct);

    [Function(nameof(CompleteAnalysis))]
    public Task CompleteAnalysis([ActivityTrigger] AnalysisOutcome outcome, CancellationToken ct) => jobs.CompleteAsync(outcome, ct);
}
