using Microsoft.Azure.Functions.Worker;
using Microsoft.DurableTask.Client;
using Siyu.Functions.Api;

namespace Siyu.Functions.Tags;

/// <summary>
/// The HTTP functions of tags and bulk tagging: one per operation, at its route and
/// methods, each with the task hub's client for the operations it starts or reads; each hands its request to the operation's handler (BulkTagging.cs, TagsEndpoints.cs) behind the API's guard (<see cref="HttpApi"/>).
/// </summary>
public sealed class TagsHttpFunctions(HttpApi api)
{
    [Function("TagProfile")]
    public Task TagProfile([HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "api/profiles/{id}/tags")] HttpRequest request,
        [DurableClient] DurableTaskClient durable) =>
        api.RunAsync(request, durable, "POST api/profiles/{id}/tags");

    [Function("UntagProfile")]
    public Task UntagProfile([HttpTrigger(AuthorizationLevel.Anonymous, "delete", Route = "api/profiles/{id}/tags/{tag}")] HttpRequest request,
        [DurableClient] DurableTaskClient durable) =>
        api.RunAsync(request, durable, "DELETE api/profiles/{id}/tags/{tag}");

    [Function("ListTags")]
    public Task ListTags([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "api/tags")] HttpRequest request,
        [DurableClient] DurableTaskClient durable) =>
        api.RunAsync(request, durable, "GET api/tags");

    [Function("GetTagJob")]
    public Task GetTagJob([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "api/tags/jobs/{jobId}")] HttpRequest request,
        [DurableClient] DurableTaskClient durable) =>
        api.RunAsync(request, durable, "GET api/tags/jobs/{jobId}");

    [Function("PutTag")]
    public Task PutTag([HttpTrigger(AuthorizationLevel.Anonymous, "put", Route = "api/tags/{name}")] HttpRequest request,
        [DurableClient] DurableTaskClient durable) =>
        api.RunAsync(request, durable, "PUT api/tags/{name}");

    [Function("BulkTag")]
    public Task BulkTag([HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "api/tags/{name}/bulk")] HttpRequest request,
        [DurableClient] DurableTaskClient durable) =>
        api.RunAsync(request, durable, "POST api/tags/{name}/bulk");
}
