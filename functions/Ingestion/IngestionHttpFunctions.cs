using Microsoft.Azure.Functions.Worker;
using Siyu.Functions.Api;

namespace Siyu.Functions.Ingestion;

/// <summary>
/// The HTTP functions of events in: one per operation, at its route and
/// methods; each hands its request to the operation's handler (EventsEndpoints.cs) behind the API's guard (<see cref="HttpApi"/>).
/// </summary>
public sealed class IngestionHttpFunctions(HttpApi api)
{
    [Function("PostEvents")]
    public Task PostEvents([HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "api/events")] HttpRequest request) =>
        api.RunAsync(request, "POST api/events");
}
