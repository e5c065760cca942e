using Microsoft.Azure.Functions.Worker;
using Microsoft.DurableTask.Client;
using Siyu.Functions.Api;

namespace Siyu.Functions.Analytics;

/// <summary>The HTTP functions of analytics: one per operation, each handing its request to its handler (AnalyticsEndpoints.cs, AnalysisJobs.cs) behind the API's guard.</summary>
public sealed class AnalyticsHttpFunctions(HttpApi api)
{
    [Function("GetJourneyAnalytics")]
    public Task GetJourneyAnalytics([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "api/analytics/journeys/{id}")] HttpRequest request) =>
        api.RunAsync(request, "GET api/analytics/journeys/{id}");

    [Function("GetCampaignAnalytics")]
    public Task GetCampaignAnalytics([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "api/analytics/campaigns/{id}")] HttpRequest request) =>
        api.RunAsync(request, "GET api/analytics/campaigns/{id}");

    [Function("GetDeliveryAnalytics")]
    public Task GetDeliveryAnalytics([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "api/analytics/delivery")] HttpRequest request) =>
        api.RunAsync(request, "GET api/analytics/delivery");

    [Function("GetAudienceAnalytics")]
    public Task GetAudienceAnalytics([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "api/analytics/audience")] HttpRequest request) =>
        api.RunAsync(request, "GET api/analytics/audience");

    [Function("StartAnalysis")]
    public Task StartAnalysis([HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "api/analytics/jobs")] HttpRequest request,
        [DurableClient] DurableTaskClient durable) =>
        api.RunAsync(request, durable, "POST api/analytics/jobs");

    [Function("GetAnalysis")]
    public Task GetAnalysis([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "api/analytics/jobs/{id}")] HttpRequest request,
        [DurableClient] DurableTaskClient durable) =>
        api.RunAsync(request, durable, "GET api/analytics/jobs/{id}");
}
