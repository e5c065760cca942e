using Microsoft.Azure.Functions.Worker;
using Microsoft.DurableTask;
using Siyu.Functions.Operations;

namespace Siyu.Functions.Privacy;

/// <summary>A person to erase, by ids (all the task hub keeps of them).</summary>
public sealed record ErasureRef(string Tenant, string Profile);

/// <summary>The last step: when it happens, as the orchestration saw it (the same on every replay, so the step is keyed by it).</summary>
public sealed record ErasureCompletion(string Tenant, string Profile, DateTimeOffset At);

/// <summary>One personal-data holder's step of an erasure.</summary>
public sealed record ErasureHolderStep(string Tenant, string Profile, string Holder);

/// <summary>One orchestration per erasure request (instance <see cref="OperationIds.Erasure"/>): the steps of <see cref="Erasure"/>, each an activity with retries.</summary>
public static class ErasureOrchestration
{
    public const string Name = "RunErasure";

    [Function(Name)]
    public static async Task<string> Run([OrchestrationTrigger] TaskOrchestrationContext context)
    {
        var person = context.GetInput<ErasureRef>()!;
        await context.CallActivityAsync(nameof(ErasureActivities.ErasureMark), person, Steps.Retried);
        await context.CallActivityAsync(nameof(ErasureActivities.ErasureSuppress), person, Steps.Retried);
        var holders = await context.CallActivityAsync<List<string>>(nameof(ErasureActivities.ErasureHolders), person, Steps.Retried);
        for (var i = 0; i < holders.Count; i++)
        {
            context.SetCustomStatus(new { step = "holders", done = i, of = holders.Count });
            await context.CallActivityAsync(nameof(ErasureActivities.ErasureHolder), new ErasureHolderStep(person.Tenant, person.Profile, holders[i]), Steps.Retried);
        }
        context.SetCustomStatus(new { step = "profile" });
        await context.CallActivityAsync(nameof(ErasureActivities.ErasureProfile), person, Steps.Retried);
        await context.CallActivityAsync(nameof(ErasureActivities.ErasureComplete), new ErasureCompletion(person.Tenant, person.Profile, context.CurrentUtcDateTime), Steps.Retried);
        context.SetCustomStatus(new { step = "done" });
        return "erased";
    }
}

public sealed class ErasureActivities(Erasure erasure)
{
    [Function(nameof(ErasureMark))]
    public Task ErasureMark([ActivityTrigger] ErasureRef p, CancellationToken ct) => erasure.MarkAsync(p.Tenant, p.Profile, ct);

    [Function(nameof(ErasureSuppress))]
    public Task ErasureSuppress([ActivityTrigger] ErasureRef p, CancellationToken ct) => erasure.SuppressAsync(p.Tenant, p.Profile, ct);

    [Function(nameof(ErasureHolders))]
    public List<string> ErasureHolders([ActivityTrigger] ErasureRef p) => erasure.HolderNames.ToList();

    [Function(nameof(ErasureHolder))]
    public Task ErasureHolder([ActivityTrigger] ErasureHolderStep s, CancellationToken ct) => erasure.EraseHeldAsync(s.Tenant, s.Profile, s.Holder, ct);

    [Function(nameof(ErasureProfile))]
    public Task ErasureProfile([ActivityTrigger] ErasureRef p, CancellationToken ct) => erasure.DeleteProfileAsync(p.Tenant, p.Profile, ct);

    [Function(nameof(ErasureComplete))]
    public Task ErasureComplete([ActivityTrigger] ErasureCompletion p, CancellationToken ct) => erasure.CompleteAsync(p.Tenant, p.Profile, p.At, ct);
}
