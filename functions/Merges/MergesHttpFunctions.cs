using Microsoft.Azure.Functions.Worker;
using Microsoft.DurableTask.Client;
using Siyu.Functions.Api;

namespace Siyu.Functions.Merges;

/// <summary>
/// The HTTP functions of OneID merges and identity repair: one per operation, at its route and
/// methods, each with the task hub's client for the operations it starts or reads; each hands its request to the operation's handler (MergeEndpoints.cs) behind the API's guard (<see cref="HttpApi"/>).
/// </summary>
public sealed class MergesHttpFunctions(HttpApi api)
{
    [Function("RepairIdentities")]
    public Task RepairIdentities([HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "api/identities/repair")] HttpRequest request,
        [DurableClient] DurableTaskClient durable) =>
        api.RunAsync(request, durable, "POST api/identities/repair");

    [Function("MergeProfiles")]
    public Task MergeProfiles([HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "api/profiles/{id}/merge")] HttpRequest request,
        [DurableClient] DurableTaskClient durable) =>
        api.RunAsync(request, durable, "POST api/profiles/{id}/merge");
}
