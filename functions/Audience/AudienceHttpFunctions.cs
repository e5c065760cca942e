using Microsoft.Azure.Functions.Worker;
using Microsoft.DurableTask.Client;
using Siyu.Functions.Api;

namespace Siyu.Functions.Audience;

/// <summary>
/// The HTTP functions of traits, tag rules and tag history: one per operation, at its route and
/// methods, each with the task hub's client for the operations it starts or reads; each hands its request to the operation's handler (AudienceEndpoints.cs) behind the API's guard (<see cref="HttpApi"/>).
/// </summary>
public sealed class AudienceHttpFunctions(HttpApi api)
{
    [Function("GetTagHistory")]
    public Task GetTagHistory([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "api/profiles/{id}/tags/history")] HttpRequest request,
        [DurableClient] DurableTaskClient durable) =>
        api.RunAsync(request, durable, "GET api/profiles/{id}/tags/history");

    [Function("ListTagRules")]
    public Task ListTagRules([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "api/tag-rules")] HttpRequest request,
        [DurableClient] DurableTaskClient durable) =>
        api.RunAsync(request, durable, "GET api/tag-rules");

    [Function("DeleteTagRule")]
    public Task DeleteTagRule([HttpTrigger(AuthorizationLevel.Anonymous, "delete", Route = "api/tag-rules/{id}")] HttpRequest request,
        [DurableClient] DurableTaskClient durable) =>
        api.RunAsync(request, durable, "DELETE api/tag-rules/{id}");

    [Function("PutTagRule")]
    public Task PutTagRule([HttpTrigger(AuthorizationLevel.Anonymous, "put", Route = "api/tag-rules/{id}")] HttpRequest request,
        [DurableClient] DurableTaskClient durable) =>
        api.RunAsync(request, durable, "PUT api/tag-rules/{id}");

    [Function("GetTraitSettings")]
    public Task GetTraitSettings([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "api/traits/settings")] HttpRequest request,
        [DurableClient] DurableTaskClient durable) =>
        api.RunAsync(request, durable, "GET api/traits/settings");

    [Function("PutTraitSettings")]
    public Task PutTraitSettings([HttpTrigger(AuthorizationLevel.Anonymous, "put", Route = "api/traits/settings")] HttpRequest request,
        [DurableClient] DurableTaskClient durable) =>
        api.RunAsync(request, durable, "PUT api/traits/settings");
}
