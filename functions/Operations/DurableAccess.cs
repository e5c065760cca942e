using Microsoft.DurableTask;
using Microsoft.DurableTask.Client;

namespace Siyu.Functions.Operations;

/// <summary>
/// The task hub's client for the app's services. Under the isolated worker a <see cref="DurableTaskClient"/> reaches
/// only functions with a <c>[DurableClient]</c> input, so every function that starts, signals or reads an
/// orchestration takes one and hands it here first (the clients of one task hub are interchangeable). Starts are
/// idempotent: an instance id that exists, in any state, is not started again.
/// </summary>
public sealed class DurableAccess(ILogger<DurableAccess> log)
{
    private volatile DurableTaskClient? _client;

    public void Use(DurableTaskClient client) => _client ??= client;

    public DurableTaskClient Client => _client
        ?? throw new InvalidOperationException("no Durable client yet: the function that called this must take a [DurableClient] input and hand it to DurableAccess.Use");

    /// <summary>Starts <paramref name="orchestrator"/> as <paramref name="instanceId"/> unless that instance exists. True when this call started it.</summary>
    public async Task<bool> StartOnceAsync(string orchestrator, string instanceId, object input, CancellationToken ct, DateTimeOffset? startAt = null)
    {
        if (await Client.GetInstanceAsync(instanceId, ct) is not null) return false;
        try
        {
            await Client.ScheduleNewOrchestrationInstanceAsync(new TaskName(orchestrator), input,
                new StartOrchestrationOptions(instanceId, startAt), ct);
            return true;
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // Started at the same moment by someone else: that is the one instance.
            if (await Client.GetInstanceAsync(instanceId, ct) is not null) return false;
            throw;
        }
    }

    /// <summary>
    /// Starts <paramref name="instanceId"/> unless it is pending or running: a new one, or an ended one again from
    /// <paramref name="input"/> (for work found unfinished after its instance ended or was purged). True when started.
    /// </summary>
    public async Task<bool> StartUnlessRunningAsync(string orchestrator, string instanceId, object input, CancellationToken ct)
    {
        var instance = await Client.GetInstanceAsync(instanceId, ct);
        if (instance is { RuntimeStatus: OrchestrationRuntimeStatus.Pending or OrchestrationRuntimeStatus.Running or OrchestrationRuntimeStatus.Suspended }) return false;
        try
        {
            await Client.ScheduleNewOrchestrationInstanceAsync(new TaskName(orchestrator), input, new StartOrchestrationOptions(instanceId), ct);
            return true;
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // Started at the same moment by someone else: that is the one instance.
            if (await Client.GetInstanceAsync(instanceId, ct) is { RuntimeStatus: OrchestrationRuntimeStatus.Pending or OrchestrationRuntimeStatus.Running }) return false;
            throw;
        }
    }

    /// <summary>Starts it again from its input when it failed or was terminated (each step is idempotent). False when it is not in such a state.</summary>
    public async Task<bool> RestartFailedAsync(string instanceId, CancellationToken ct)
    {
        var instance = await Client.GetInstanceAsync(instanceId, getInputsAndOutputs: true, ct);
        if (instance is null || instance.RuntimeStatus is not (OrchestrationRuntimeStatus.Failed or OrchestrationRuntimeStatus.Terminated)) return false;
        var input = instance.ReadInputAs<System.Text.Json.JsonElement>();
        await Client.ScheduleNewOrchestrationInstanceAsync(new TaskName(instance.Name), input, new StartOrchestrationOptions(instanceId), ct);
        log.LogInformation("Operation {Instance} restarted after it {Status}", instanceId, instance.RuntimeStatus);
        return true;
    }

    /// <summary>Raises <paramref name="name"/> at an instance; false when there is no such instance.</summary>
    public async Task<bool> SignalAsync(string instanceId, string name, object? payload, CancellationToken ct)
    {
        if (await Client.GetInstanceAsync(instanceId, ct) is not { } instance) return false;
        if (instance.RuntimeStatus is OrchestrationRuntimeStatus.Completed or OrchestrationRuntimeStatus.Failed or OrchestrationRuntimeStatus.Terminated) return false;
        await Client.RaiseEventAsync(instanceId, name, payload, ct);
        return true;
    }
}
