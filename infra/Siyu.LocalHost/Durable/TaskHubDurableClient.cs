using DurableTask.AzureStorage;
using DurableTask.Core;
using Microsoft.DurableTask;
using Microsoft.DurableTask.Client;
using CoreStatus = DurableTask.Core.OrchestrationStatus;

namespace Siyu.LocalHost.Durable;

/// <summary>
/// The <see cref="DurableTaskClient"/> a <c>[DurableClient]</c> parameter gets: Microsoft.DurableTask's client over
/// DurableTask.Core's <see cref="TaskHubClient"/> on the same task hub the orchestrations run on (under the Functions
/// host the extension gives the worker a gRPC client to its own; no served package adapts one to the other). Inputs,
/// events and outputs go through the SDK's data converter, as the shims read them.
/// </summary>
internal sealed class TaskHubDurableClient(string hubName, TaskHubClient client, AzureStorageOrchestrationService service, DataConverter converter)
    : DurableTaskClient(hubName)
{
    private static readonly TimeSpan Poll = TimeSpan.FromMilliseconds(200);
    private static readonly CoreStatus[] RunningStates = [CoreStatus.Pending, CoreStatus.Running, CoreStatus.ContinuedAsNew, CoreStatus.Suspended];

    public override async Task<string> ScheduleNewOrchestrationInstanceAsync(TaskName orchestratorName, object? input = null,
        StartOrchestrationOptions? options = null, CancellationToken cancellation = default)
    {
        var id = options?.InstanceId ?? Guid.NewGuid().ToString("N");
        var version = options?.Version?.Version ?? "";
        // As the extension does by default: an id whose instance is still pending or running is refused, not restarted.
        var instance = options?.StartAt is { } at
            ? await client.CreateScheduledOrchestrationInstanceAsync(orchestratorName.Name, version, id, input, at.UtcDateTime)
            : await client.CreateOrchestrationInstanceAsync(orchestratorName.Name, version, id, input, null, RunningStates);
        return instance.InstanceId;
    }

    public override Task RaiseEventAsync(string instanceId, string eventName, object? eventPayload = null, CancellationToken cancellation = default) =>
        client.RaiseEventAsync(new OrchestrationInstance { InstanceId = instanceId }, eventName, eventPayload!);

    public override Task<OrchestrationMetadata> WaitForInstanceStartAsync(string instanceId, bool getInputsAndOutputs = false, CancellationToken cancellation = default) =>
        WaitAsync(instanceId, getInputsAndOutputs, s => s != OrchestrationRuntimeStatus.Pending, cancellation);

    public override Task<OrchestrationMetadata> WaitForInstanceCompletionAsync(string instanceId, bool getInputsAndOutputs = false, CancellationToken cancellation = default) =>
        WaitAsync(instanceId, getInputsAndOutputs, s => s is OrchestrationRuntimeStatus.Completed or OrchestrationRuntimeStatus.Failed or OrchestrationRuntimeStatus.Terminated,
            cancellation);

    public override Task TerminateInstanceAsync(string instanceId, TerminateInstanceOptions? options = null, CancellationToken cancellation = default) =>
        client.TerminateInstanceAsync(new OrchestrationInstance { InstanceId = instanceId }, options?.Output is { } output ? converter.Serialize(output) : "terminated");

    public override Task SuspendInstanceAsync(string instanceId, string? reason = null, CancellationToken cancellation = default) =>
        client.SuspendInstanceAsync(new OrchestrationInstance { InstanceId = instanceId }, reason);

    public override Task ResumeInstanceAsync(string instanceId, string? reason = null, CancellationToken cancellation = default) =>
        client.ResumeInstanceAsync(new OrchestrationInstance { InstanceId = instanceId }, reason);

    public override async Task<OrchestrationMetadata?> GetInstancesAsync(string instanceId, bool getInputsAndOutputs = false, CancellationToken cancellation = default) =>
        await client.GetOrchestrationStateAsync(instanceId) is { } state ? Metadata(state, getInputsAndOutputs) : null;

    public override async Task<Microsoft.DurableTask.Client.PurgeResult> PurgeInstanceAsync(string instanceId, PurgeInstanceOptions? options = null, CancellationToken cancellation = default) =>
        new((await service.PurgeInstanceHistoryAsync(instanceId)).InstancesDeleted);

    public override AsyncPageable<OrchestrationMetadata> GetAllInstancesAsync(OrchestrationQuery? filter = null) =>
        Pageable.Create(async (continuation, pageSize, ct) =>
        {
            var condition = new DurableTask.AzureStorage.Tracking.OrchestrationInstanceStatusQueryCondition
            {
                InstanceIdPrefix = filter?.InstanceIdPrefix,
                RuntimeStatus = filter?.Statuses?.Select(CoreOf).ToList(),
                CreatedTimeFrom = filter?.CreatedFrom?.UtcDateTime ?? default,
                CreatedTimeTo = filter?.CreatedTo?.UtcDateTime ?? default,
                FetchInput = filter?.FetchInputsAndOutputs ?? false,
                FetchOutput = filter?.FetchInputsAndOutputs ?? false,
            };
            var result = await service.GetOrchestrationStateAsync(condition, pageSize ?? filter?.PageSize ?? OrchestrationQuery.DefaultPageSize,
                continuation ?? filter?.ContinuationToken, ct);
            return new Page<OrchestrationMetadata>(result.OrchestrationState.Select(s => Metadata(s, filter?.FetchInputsAndOutputs ?? false)).ToList(),
                string.IsNullOrEmpty(result.ContinuationToken) ? null : result.ContinuationToken);
        });

    public override async Task<Microsoft.DurableTask.Client.PurgeResult> PurgeAllInstancesAsync(PurgeInstancesFilter filter, PurgeInstanceOptions? options = null,
        CancellationToken cancellation = default) =>
        new((await service.PurgeInstanceHistoryAsync(filter.CreatedFrom?.UtcDateTime ?? DateTime.MinValue, filter.CreatedTo?.UtcDateTime,
            filter.Statuses?.Select(CoreOf))).InstancesDeleted);

    public override ValueTask DisposeAsync() => ValueTask.CompletedTask;

    private async Task<OrchestrationMetadata> WaitAsync(string instanceId, bool withData, Func<OrchestrationRuntimeStatus, bool> reached, CancellationToken ct)
    {
        while (true)
        {
            if (await GetInstancesAsync(instanceId, withData, ct) is { } metadata && reached(metadata.RuntimeStatus)) return metadata;
            await Task.Delay(Poll, ct);
        }
    }

    private OrchestrationMetadata Metadata(OrchestrationState state, bool withData) => new(state.Name, state.OrchestrationInstance.InstanceId)
    {
        DataConverter = converter,
        RuntimeStatus = Status(state.OrchestrationStatus),
        CreatedAt = new DateTimeOffset(DateTime.SpecifyKind(state.CreatedTime, DateTimeKind.Utc)),
        LastUpdatedAt = new DateTimeOffset(DateTime.SpecifyKind(state.LastUpdatedTime, DateTimeKind.Utc)),
        SerializedInput = withData ? state.Input : null,
        SerializedOutput = withData && state.OrchestrationStatus != CoreStatus.Failed ? state.Output : null,
        // As the extension answers: the custom status always, inputs and outputs only when asked for.
        SerializedCustomStatus = state.Status,
        FailureDetails = state.OrchestrationStatus == CoreStatus.Failed ? FailureOf(state) : null,
    };

    /// <summary>
    /// A failed instance's error. The Azure Storage backend keeps no failure-details column: the instance row's output
    /// holds them, serialized, which is where the extension reads them from too.
    /// </summary>
    private static TaskFailureDetails? FailureOf(OrchestrationState state)
    {
        if (state.FailureDetails is { } f) return new TaskFailureDetails(f.ErrorType, f.ErrorMessage, f.StackTrace, null, null);
        if (string.IsNullOrEmpty(state.Output)) return null;
        try
        {
            if (Newtonsoft.Json.JsonConvert.DeserializeObject<DurableTask.Core.FailureDetails>(state.Output) is { ErrorType: not null } d)
                return new TaskFailureDetails(d.ErrorType, d.ErrorMessage, d.StackTrace, null, null);
        }
        catch (Newtonsoft.Json.JsonException) { }
        return new TaskFailureDetails("OrchestrationFailed", state.Output, null, null, null);
    }

    private static CoreStatus CoreOf(OrchestrationRuntimeStatus status) => status switch
    {
        OrchestrationRuntimeStatus.Running => CoreStatus.Running,
        OrchestrationRuntimeStatus.Completed => CoreStatus.Completed,
        OrchestrationRuntimeStatus.Failed => CoreStatus.Failed,
        OrchestrationRuntimeStatus.Terminated => CoreStatus.Terminated,
        OrchestrationRuntimeStatus.Suspended => CoreStatus.Suspended,
        _ => CoreStatus.Pending,
    };

    private static OrchestrationRuntimeStatus Status(CoreStatus status) => status switch
    {
        CoreStatus.Running => OrchestrationRuntimeStatus.Running,
        CoreStatus.Completed => OrchestrationRuntimeStatus.Completed,
        // A continued-as-new instance is running its next generation.
        CoreStatus.ContinuedAsNew => OrchestrationRuntimeStatus.Running,
        CoreStatus.Failed => OrchestrationRuntimeStatus.Failed,
        CoreStatus.Terminated => OrchestrationRuntimeStatus.Terminated,
        CoreStatus.Suspended => OrchestrationRuntimeStatus.Suspended,
        _ => OrchestrationRuntimeStatus.Pending,
    };
}
