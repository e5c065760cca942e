using Microsoft.Azure.Functions.Worker;
using Siyu.Functions.Api;

namespace Siyu.Functions.Profiles;

/// <summary>
/// The HTTP functions of profiles and their events: one per operation, at its route and
/// methods; each hands its request to the operation's handler (ProfilesEndpoints.cs) behind the API's guard (<see cref="HttpApi"/>).
/// </summary>
public sealed class ProfilesHttpFunctions(HttpApi api)
{
    [Function("FindProfile")]
    public Task FindProfile([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "api/profiles")] HttpRequest request) =>
        api.RunAsync(request, "GET api/profiles");

    [Function("GetProfile")]
    public Task GetProfile([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "api/profiles/{id}")] HttpRequest request) =>
        api.RunAsync(request, "GET api/profiles/{id}");

    [Function("GetProfileEvents")]
    public Task GetProfileEvents([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "api/profiles/{id}/events")] HttpRequest request) =>
        api.RunAsync(request, "GET api/profiles/{id}/events");
}
