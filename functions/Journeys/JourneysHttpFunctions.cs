using Microsoft.Azure.Functions.Worker;
using Microsoft.DurableTask.Client;
using Siyu.Functions.Api;

namespace Siyu.Functions.Journeys;

/// <summary>
/// The HTTP functions of journeys and their runs: one per operation, at its route and
/// methods, each with the task hub's client for the operations it starts or reads; each hands its request to the operation's handler (JourneysEndpoints.cs) behind the API's guard (<see cref="HttpApi"/>).
/// </summary>
public sealed class JourneysHttpFunctions(HttpApi api)
{
    [Function("ListJourneys")]
    public Task ListJourneys([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "api/journeys")] HttpRequest request,
        [DurableClient] DurableTaskClient durable) =>
        api.RunAsync(request, durable, "GET api/journeys");

    [Function("GetJourney")]
    public Task GetJourney([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "api/journeys/{id}")] HttpRequest request,
        [DurableClient] DurableTaskClient durable) =>
        api.RunAsync(request, durable, "GET api/journeys/{id}");

    [Function("PutJourney")]
    public Task PutJourney([HttpTrigger(AuthorizationLevel.Anonymous, "put", Route = "api/journeys/{id}")] HttpRequest request,
        [DurableClient] DurableTaskClient durable) =>
        api.RunAsync(request, durable, "PUT api/journeys/{id}");

    [Function("ArchiveJourney")]
    public Task ArchiveJourney([HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "api/journeys/{id}/archive")] HttpRequest request,
        [DurableClient] DurableTaskClient durable) =>
        api.RunAsync(request, durable, "POST api/journeys/{id}/archive");

    [Function("EnterJourney")]
    public Task EnterJourney([HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "api/journeys/{id}/enter")] HttpRequest request,
        [DurableClient] DurableTaskClient durable) =>
        api.RunAsync(request, durable, "POST api/journeys/{id}/enter");

    [Function("PauseJourney")]
    public Task PauseJourney([HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "api/journeys/{id}/pause")] HttpRequest request,
        [DurableClient] DurableTaskClient durable) =>
        api.RunAsync(request, durable, "POST api/journeys/{id}/pause");

    [Function("PublishJourney")]
    public Task PublishJourney([HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "api/journeys/{id}/publish")] HttpRequest request,
        [DurableClient] DurableTaskClient durable) =>
        api.RunAsync(request, durable, "POST api/journeys/{id}/publish");

    [Function("ResumeJourney")]
    public Task ResumeJourney([HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "api/journeys/{id}/resume")] HttpRequest request,
        [DurableClient] DurableTaskClient durable) =>
        api.RunAsync(request, durable, "POST api/journeys/{id}/resume");

    [Function("GetJourneyStats")]
    public Task GetJourneyStats([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "api/journeys/{id}/stats")] HttpRequest request,
        [DurableClient] DurableTaskClient durable) =>
        api.RunAsync(request, durable, "GET api/journeys/{id}/stats");

    [Function("ListJourneyVersions")]
    public Task ListJourneyVersions([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "api/journeys/{id}/versions")] HttpRequest request,
        [DurableClient] DurableTaskClient durable) =>
        api.RunAsync(request, durable, "GET api/journeys/{id}/versions");

    [Function("GetJourneyVersion")]
    public Task GetJourneyVersion([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "api/journeys/{id}/versions/{version:int}")] HttpRequest request,
        [DurableClient] DurableTaskClient durable) =>
        api.RunAsync(request, durable, "GET api/journeys/{id}/versions/{version:int}");

    [Function("GetProfileJourneys")]
    public Task GetProfileJourneys([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "api/profiles/{id}/journeys")] HttpRequest request,
        [DurableClient] DurableTaskClient durable) =>
        api.RunAsync(request, durable, "GET api/profiles/{id}/journeys");
}
