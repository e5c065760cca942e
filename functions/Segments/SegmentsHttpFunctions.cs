using Microsoft.Azure.Functions.Worker;
using Microsoft.DurableTask.Client;
using Siyu.Functions.Api;

namespace Siyu.Functions.Segments;

/// <summary>
/// The HTTP functions of segments and their members: one per operation, at its route and
/// methods, each with the task hub's client for the operations it starts or reads; each hands its request to the operation's handler (SegmentsEndpoints.cs) behind the API's guard (<see cref="HttpApi"/>).
/// </summary>
public sealed class SegmentsHttpFunctions(HttpApi api)
{
    [Function("ListSegments")]
    public Task ListSegments([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "api/segments")] HttpRequest request,
        [DurableClient] DurableTaskClient durable) =>
        api.RunAsync(request, durable, "GET api/segments");

    [Function("DeleteSegment")]
    public Task DeleteSegment([HttpTrigger(AuthorizationLevel.Anonymous, "delete", Route = "api/segments/{id}")] HttpRequest request,
        [DurableClient] DurableTaskClient durable) =>
        api.RunAsync(request, durable, "DELETE api/segments/{id}");

    [Function("GetSegment")]
    public Task GetSegment([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "api/segments/{id}")] HttpRequest request,
        [DurableClient] DurableTaskClient durable) =>
        api.RunAsync(request, durable, "GET api/segments/{id}");

    [Function("PutSegment")]
    public Task PutSegment([HttpTrigger(AuthorizationLevel.Anonymous, "put", Route = "api/segments/{id}")] HttpRequest request,
        [DurableClient] DurableTaskClient durable) =>
        api.RunAsync(request, durable, "PUT api/segments/{id}");

    [Function("GetSegmentMembers")]
    public Task GetSegmentMembers([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "api/segments/{id}/members")] HttpRequest request,
        [DurableClient] DurableTaskClient durable) =>
        api.RunAsync(request, durable, "GET api/segments/{id}/members");
}
