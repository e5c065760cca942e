using System.Text.Json;
using Microsoft.DurableTask.Client;

namespace Siyu.Functions.Operations;

/// <summary>
/// An orchestration as an operator sees it: its instance, kind, runtime status, last checkpoint (its custom status:
/// counts and phase, never personal data), when it last moved, and its error when it failed.
/// </summary>
public sealed record OperationView(string InstanceId, string Kind, string Name, string RuntimeStatus, JsonElement? Checkpoint, DateTimeOffset CreatedAt,
    DateTimeOffset LastUpdatedAt, string? Error)
{
    public static OperationView Of(OrchestrationMetadata m) => new(m.InstanceId, OperationIds.KindOf(m.InstanceId), m.Name, StatusName(m.RuntimeStatus),
        m.SerializedCustomStatus is { Length: > 0 } status ? JsonDocument.Parse(status).RootElement.Clone() : null,
        m.CreatedAt, m.LastUpdatedAt, m.FailureDetails is { } f ? $"{f.ErrorType}: {f.ErrorMessage}" : null);

    public static string StatusName(OrchestrationRuntimeStatus status) => status switch
    {
        OrchestrationRuntimeStatus.Running => "running",
        OrchestrationRuntimeStatus.Completed => "completed",
        OrchestrationRuntimeStatus.Failed => "failed",
        OrchestrationRuntimeStatus.Terminated => "terminated",
        OrchestrationRuntimeStatus.Suspended => "suspended",
        _ => "pending",
    };
}
