using Microsoft.Azure.Functions.Worker;

namespace Siyu.Functions.Api;

/// <summary>
/// The HTTP functions of the API's own: health, the OpenAPI document, and the answer for paths no operation has: one per operation, at its route and
/// methods; each hands its request to the operation's handler (HealthEndpoints.cs) behind the API's guard (<see cref="HttpApi"/>).
/// </summary>
public sealed class ApiHttpFunctions(HttpApi api)
{
    [Function("Health")]
    public Task Health([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "api/health")] HttpRequest request) =>
        api.RunAsync(request, "GET api/health");

    [Function("OpenApi")]
    public Task OpenApi([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "api/openapi.json")] HttpRequest request) =>
        api.RunAsync(request, "GET api/openapi.json");

    /// <summary>Any path no operation has: 404, or 405 with <c>Allow</c> where the path has other methods, as problem+json.
    /// Routes with literal segments take precedence over this one, under the Functions host as under the local host.</summary>
    [Function("NotFound")]
    public Task NotFound([HttpTrigger(AuthorizationLevel.Anonymous, "get", "post", "put", "patch", "delete", "head", "options", Route = "{*path}")] HttpRequest request) =>
        api.NotFoundAsync(request);
}
