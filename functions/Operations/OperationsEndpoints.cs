using Microsoft.DurableTask.Client;
using Siyu.Core.Tenants;
using Siyu.Functions.Api;
using Siyu.Functions.Audit;
using Siyu.Functions.Tenants;

namespace Siyu.Functions.Operations;

/// <summary>
/// The tenant's orchestrations (campaigns, erasures, merges, bulk tagging jobs, sweeps, journey versions) for its admins:
/// failed or stuck ones with their error, and a retry that starts a failed one again from its input (every step is idempotent).
/// </summary>
public static class OperationsEndpoints
{
    /// <summary>A running operation that has not moved for this long is listed as stuck.</summary>
    public static readonly TimeSpan Stuck = TimeSpan.FromMinutes(30);
    private const int MaxListed = 200;

    public static void MapOperations(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/api/operations").WithTags("Operations");

        group.MapGet("/", ListAsync)
            .Allow(Role.Admin)
            .WithName("ListOperations")
            .WithSummary("The tenant's orchestrations, newest first: ?status=failed (failed or terminated), stuck (running, no move for 30 min), running, completed, or all (the default)")
            .Produces<List<OperationView>>()
            .ProducesProblem(StatusCodes.Status400BadRequest);

        group.MapPost("/{instanceId}/retry", RetryAsync)
            .Allow(Role.Admin)
            .WithName("RetryOperation")
            .WithSummary("Start a failed or terminated operation again from its input")
            .Produces<OperationView>(StatusCodes.Status202Accepted)
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status409Conflict);
    }

    private static async Task<IResult> ListAsync(HttpContext http, DurableAccess durable, TimeProvider clock, CancellationToken ct)
    {
        var status = http.Request.Query["status"].ToString();
        if (status.Length == 0) status = "all";
        IReadOnlyList<OrchestrationRuntimeStatus>? statuses = status switch
        {
            "failed" => [OrchestrationRuntimeStatus.Failed, OrchestrationRuntimeStatus.Terminated],
            "stuck" or "running" => [OrchestrationRuntimeStatus.Running, OrchestrationRuntimeStatus.Pending],
            "completed" => [OrchestrationRuntimeStatus.Completed],
            "all" => null,
            _ => [],
        };
        if (statuses is { Count: 0 })
            return Problems.BadRequest("invalid_status", "status is one of failed, stuck, running, completed, all");
        // Outputs too: a failed instance's error travels with its output on the Azure Storage backend (inputs and outputs are ids only).
        var query = new OrchestrationQuery
        {
            InstanceIdPrefix = OperationIds.TenantPrefix(http.Caller().TenantId), Statuses = statuses, PageSize = 100, FetchInputsAndOutputs = true,
        };
        var list = new List<OperationView>();
        var now = clock.GetUtcNow();
        await foreach (var instance in durable.Client.GetAllInstancesAsync(query))
        {
            if (status == "stuck" && now - instance.LastUpdatedAt < Stuck) continue;
            list.Add(OperationView.Of(instance));
            if (list.Count == MaxListed) break;
        }
        return Results.Ok(list.OrderByDescending(o => o.CreatedAt).ToList());
    }

    private static async Task<IResult> RetryAsync(string instanceId, HttpContext http, DurableAccess durable, AuditLog audit, CancellationToken ct)
    {
        // Another tenant's instance reads as absent.
        if (OperationIds.TenantOf(instanceId) != http.Caller().TenantId || await durable.Client.GetInstanceAsync(instanceId, ct) is not { } instance)
            return Problems.NotFound("operation_not_found", $"no operation '{instanceId}' in this tenant");
        if (!await durable.RestartFailedAsync(instanceId, ct))
            return Problems.Conflict("operation_not_failed", $"operation '{instanceId}' is {OperationView.StatusName(instance.RuntimeStatus)}; only a failed or terminated one is retried");
        await audit.RecordAsync(http, AuditLog.Actions.OperationRetried, null, $"operation {instanceId}");
        var fresh = await durable.Client.GetInstanceAsync(instanceId, ct);
        return Results.Json(fresh is null ? null : OperationView.Of(fresh), statusCode: StatusCodes.Status202Accepted);
    }
}
