using Microsoft.Azure.Functions.Worker;
using Microsoft.DurableTask.Client;
using Siyu.Functions.Api;

namespace Siyu.Functions.Privacy;

/// <summary>
/// The HTTP functions of consent, preferences, personal-data rights and attribute definitions: one per operation, at its route and
/// methods, each with the task hub's client for the operations it starts or reads; each hands its request to the operation's handler (ConsentEndpoints.cs, DataRightsEndpoints.cs, DefinitionsEndpoints.cs, PreferencesEndpoints.cs) behind the API's guard (<see cref="HttpApi"/>).
/// </summary>
public sealed class PrivacyHttpFunctions(HttpApi api)
{
    [Function("ListSensitiveAttributes")]
    public Task ListSensitiveAttributes([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "api/attributes")] HttpRequest request,
        [DurableClient] DurableTaskClient durable) =>
        api.RunAsync(request, durable, "GET api/attributes");

    [Function("PutAttributeDefinition")]
    public Task PutAttributeDefinition([HttpTrigger(AuthorizationLevel.Anonymous, "put", Route = "api/attributes/{name}")] HttpRequest request,
        [DurableClient] DurableTaskClient durable) =>
        api.RunAsync(request, durable, "PUT api/attributes/{name}");

    [Function("PostConsents")]
    public Task PostConsents([HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "api/consents")] HttpRequest request,
        [DurableClient] DurableTaskClient durable) =>
        api.RunAsync(request, durable, "POST api/consents");

    [Function("EraseProfile")]
    public Task EraseProfile([HttpTrigger(AuthorizationLevel.Anonymous, "delete", Route = "api/profiles/{id}")] HttpRequest request,
        [DurableClient] DurableTaskClient durable) =>
        api.RunAsync(request, durable, "DELETE api/profiles/{id}");

    [Function("GetProfileConsents")]
    public Task GetProfileConsents([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "api/profiles/{id}/consents")] HttpRequest request,
        [DurableClient] DurableTaskClient durable) =>
        api.RunAsync(request, durable, "GET api/profiles/{id}/consents");

    [Function("CheckContact")]
    public Task CheckContact([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "api/profiles/{id}/contact-check")] HttpRequest request,
        [DurableClient] DurableTaskClient durable) =>
        api.RunAsync(request, durable, "GET api/profiles/{id}/contact-check");

    [Function("ExportProfile")]
    public Task ExportProfile([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "api/profiles/{id}/export")] HttpRequest request,
        [DurableClient] DurableTaskClient durable) =>
        api.RunAsync(request, durable, "GET api/profiles/{id}/export");

    [Function("GetPreferences")]
    public Task GetPreferences([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "api/profiles/{id}/preferences")] HttpRequest request,
        [DurableClient] DurableTaskClient durable) =>
        api.RunAsync(request, durable, "GET api/profiles/{id}/preferences");

    [Function("PutPreferences")]
    public Task PutPreferences([HttpTrigger(AuthorizationLevel.Anonymous, "put", Route = "api/profiles/{id}/preferences")] HttpRequest request,
        [DurableClient] DurableTaskClient durable) =>
        api.RunAsync(request, durable, "PUT api/profiles/{id}/preferences");
}
