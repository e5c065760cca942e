using Microsoft.Azure.Functions.Worker;
using Microsoft.DurableTask.Client;
using Siyu.Functions.Api;

namespace Siyu.Functions.Operations;

/// <summary>The HTTP functions of operations (OperationsEndpoints.cs), each with the task hub's client, behind the API's guard (<see cref="HttpApi"/>).</summary>
public sealed class OperationsHttpFunctions(HttpApi api)
{
    [Function("ListOperations")]
    public Task ListOperations([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "api/operations")] HttpRequest request,
        [DurableClient] DurableTaskClient durable) =>
        api.RunAsync(request, durable, "GET api/operations");

    [Function("RetryOperation")]
    public Task RetryOperation([HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "api/operations/{instanceId}/retry")] HttpRequest request,
        [DurableClient] DurableTaskClient durable) =>
        api.RunAsync(request, durable, "POST api/operations/{instanceId}/retry");
}
