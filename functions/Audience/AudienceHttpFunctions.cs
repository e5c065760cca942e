using Microsoft.Azure.Functions.Worker;
using Siyu.Functions.Api;

namespace Siyu.Functions.Audience;

/// <summary>
/// The HTTP functions of traits, tag rules and tag history: one per operation, at its route and
/// methods; each hands its request to the operation's handler (AudienceEndpoints.cs) behind the API's guard (<see cref="HttpApi"/>).
/// </summary>
public sealed class AudienceHttpFunctions(HttpApi api)
{
    [Function("GetTagHistory")]
    public Task GetTagHistory([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "api/profiles/{id}/tags/history")] HttpRequest request) =>
        api.RunAsync(request, "GET api/profiles/{id}/tags/history");

    [Function("ListTagRules")]
    public Task ListTagRules([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "api/tag-rules")] HttpRequest request) =>
        api.RunAsync(request, "GET api/tag-rules");

    [Function("DeleteTagRule")]
    public Task DeleteTagRule([HttpTrigger(AuthorizationLevel.Anonymous, "delete", Route = "api/tag-rules/{id}")] HttpRequest request) =>
        api.RunAsync(request, "DELETE api/tag-rules/{id}");

    [Function("PutTagRule")]
    public Task PutTagRule([HttpTrigger(AuthorizationLevel.Anonymous, "put", Route = "api/tag-rules/{id}")] HttpRequest request) =>
        api.RunAsync(request, "PUT api/tag-rules/{id}");

    [Function("GetTraitSettings")]
    public Task GetTraitSettings([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "api/traits/settings")] HttpRequest request) =>
        api.RunAsync(request, "GET api/traits/settings");

    [Function("PutTraitSettings")]
    public Task PutTraitSettings([HttpTrigger(AuthorizationLevel.Anonymous, "put", Route = "api/traits/settings")] HttpRequest request) =>
        api.RunAsync(request, "PUT api/traits/settings");
}
