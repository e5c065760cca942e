using Microsoft.Azure.Functions.Worker;
using Microsoft.DurableTask;
using Siyu.Functions.Operations;

namespace Siyu.Functions.Merges;

/// <param name="FromIndex">Both ids came from the identity index (see <see cref="ProfileMerger.MergeAsync"/>).</param>
/// <param name="SettleSeconds">How long the orchestration waits before it looks (<see cref="MergeOrchestration.Settle"/> unless told).</param>
public sealed record MergeWork(string TenantId, string ProfileId, string OtherProfileId, bool FromIndex, double? SettleSeconds = null);

/// <summary>What the merge's orchestration found when it looked.</summary>
public sealed record MergeOutcome(string Result, string? Survivor);

/// <summary>
/// One orchestration per merge of two profiles (instance <see cref="OperationIds.Merge"/>), started as the merge begins
/// in the process that found the two to be one person. It waits <see cref="Settle"/> (the merge has finished by then,
/// unless that process died), then runs the merge's idempotent steps once more: a finished merge reads as already one,
/// an interrupted one is finished.
/// </summary>
public static class MergeOrchestration
{
    public const string Name = "RunMerge";
    public static readonly TimeSpan Settle = TimeSpan.FromMinutes(2);

    [Function(Name)]
    public static async Task<MergeOutcome> Run([OrchestrationTrigger] TaskOrchestrationContext context)
    {
        var merge = context.GetInput<MergeWork>()!;
        await context.CreateTimer(merge.SettleSeconds is { } seconds ? TimeSpan.FromSeconds(seconds) : Settle, CancellationToken.None);
        return await context.CallActivityAsync<MergeOutcome>(nameof(MergeActivities.MergeFinish), merge, Steps.Retried);
    }
}

public sealed class MergeActivities(ProfileMerger merger)
{
    [Function(nameof(MergeFinish))]
    public async Task<MergeOutcome> MergeFinish([ActivityTrigger] MergeWork m, CancellationToken ct)
    {
        var (result, survivor) = await merger.RunAsync(m.TenantId, m.ProfileId, m.OtherProfileId, m.FromIndex, ct);
        return new MergeOutcome(result.ToString(), survivor);
    }
}
