using Microsoft.Azure.Functions.Worker;
using Microsoft.DurableTask.Client;
using Siyu.Functions.Api;

namespace Siyu.Functions.Campaigns;

/// <summary>
/// The HTTP functions of campaigns: one per operation, at its route and
/// methods, each with the task hub's client for the operations it starts or reads; each hands its request to the operation's handler (CampaignEndpoints.cs) behind the API's guard (<see cref="HttpApi"/>).
/// </summary>
public sealed class CampaignsHttpFunctions(HttpApi api)
{
    [Function("ListCampaigns")]
    public Task ListCampaigns([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "api/campaigns")] HttpRequest request,
        [DurableClient] DurableTaskClient durable) =>
        api.RunAsync(request, durable, "GET api/campaigns");

    [Function("StartCampaign")]
    public Task StartCampaign([HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "api/campaigns")] HttpRequest request,
        [DurableClient] DurableTaskClient durable) =>
        api.RunAsync(request, durable, "POST api/campaigns");

    [Function("GetCampaign")]
    public Task GetCampaign([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "api/campaigns/{id}")] HttpRequest request,
        [DurableClient] DurableTaskClient durable) =>
        api.RunAsync(request, durable, "GET api/campaigns/{id}");

    [Function("CancelCampaign")]
    public Task CancelCampaign([HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "api/campaigns/{id}/cancel")] HttpRequest request,
        [DurableClient] DurableTaskClient durable) =>
        api.RunAsync(request, durable, "POST api/campaigns/{id}/cancel");
}
