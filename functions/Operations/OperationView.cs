using System.Text.Json;
using System.Text.Json.Nodes;
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
        m.SerializedCustomStatus is { Length: > 0 } status ? Camel(JsonNode.Parse(status)) : null,
        m.CreatedAt, m.LastUpdatedAt, m.FailureDetails is { } f ? $"{f.ErrorType}: {f.ErrorMessage}" : null);

    /// <summary>A checkpoint in the API's camelCase, whatever casing the orchestration's serializer gave its records.</summary>
    private static JsonElement Camel(JsonNode? node)
    {
        static JsonNode? Walk(JsonNode? n) => n switch
        {
            JsonObject o => new JsonObject(o.ToList().Select(p => KeyValuePair.Create(JsonNamingPolicy.CamelCase.ConvertName(p.Key), Walk(p.Value?.DeepClone())))),
            JsonArray a => new JsonArray(a.Select(x => Walk(x?.DeepClone())).ToArray()),
            _ => n?.DeepClone(),
        };
        return JsonSerializer.SerializeToElement(Walk(node));
    }

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
