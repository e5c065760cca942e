using Microsoft.Azure.Functions.Worker;
using Microsoft.DurableTask;
using Siyu.Core.Storage;
using Siyu.Functions.Operations;

namespace Siyu.Functions.Segments;

/// <summary>A tenant's sweep; <see cref="RepairIdentities"/>: the identity repair too.</summary>
public sealed record SweepRequest(string TenantId, bool RepairIdentities);

public sealed record SweepBucket(string TenantId, int Bucket, bool RepairIdentities);

/// <summary>What a whole sweep found (the orchestration's output).</summary>
public sealed record SweepTotals(int Partitions, int Evaluated, int Changed, int IndexRowsFixed, int Merged);

/// <summary>One orchestration per tenant sweep (instance <see cref="OperationIds.Sweep"/>): a partition per activity, all at once, then the totals.</summary>
public static class SweepOrchestration
{
    public const string Name = "RunSweep";

    [Function(Name)]
    public static async Task<SweepTotals> Run([OrchestrationTrigger] TaskOrchestrationContext context)
    {
        var request = context.GetInput<SweepRequest>()!;
        var pending = Enumerable.Range(0, Ids.ProfileBuckets)
            .Select(b => context.CallActivityAsync<SweepReport>(nameof(SweepActivities.SweepPartition), new SweepBucket(request.TenantId, b, request.RepairIdentities), Steps.Retried))
            .ToList();
        var reports = new List<SweepReport>();
        while (pending.Count > 0)
        {
            var finished = await Task.WhenAny(pending);
            pending.Remove(finished);
            reports.Add(await finished);
            context.SetCustomStatus(new { partitions = Ids.ProfileBuckets, done = reports.Count });
        }
        return new SweepTotals(reports.Count, reports.Sum(r => r.Evaluated), reports.Sum(r => r.Changed), reports.Sum(r => r.IndexRowsFixed), reports.Sum(r => r.Merged));
    }
}

public sealed class SweepActivities(AudienceSweep sweep)
{
    [Function(nameof(SweepPartition))]
    public Task<SweepReport> SweepPartition([ActivityTrigger] SweepBucket bucket, CancellationToken ct) => sweep.RunBucketAsync(bucket, ct);
}
