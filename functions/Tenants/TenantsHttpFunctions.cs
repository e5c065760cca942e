using Microsoft.Azure.Functions.Worker;
using Siyu.Functions.Api;

namespace Siyu.Functions.Tenants;

/// <summary>
/// The HTTP functions of tenants and API keys (the operator's and each tenant's): one per operation, at its route and
/// methods; each hands its request to the operation's handler (TenantEndpoints.cs) behind the API's guard (<see cref="HttpApi"/>).
/// </summary>
public sealed class TenantsHttpFunctions(HttpApi api)
{
    [Function("ListKeys")]
    public Task ListKeys([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "api/keys")] HttpRequest request) =>
        api.RunAsync(request, "GET api/keys");

    [Function("IssueKey")]
    public Task IssueKey([HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "api/keys")] HttpRequest request) =>
        api.RunAsync(request, "POST api/keys");

    [Function("RevokeKey")]
    public Task RevokeKey([HttpTrigger(AuthorizationLevel.Anonymous, "delete", Route = "api/keys/{keyId}")] HttpRequest request) =>
        api.RunAsync(request, "DELETE api/keys/{keyId}");

    [Function("ListTenants")]
    public Task ListTenants([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "api/operator/tenants")] HttpRequest request) =>
        api.RunAsync(request, "GET api/operator/tenants");

    [Function("CreateTenant")]
    public Task CreateTenant([HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "api/operator/tenants")] HttpRequest request) =>
        api.RunAsync(request, "POST api/operator/tenants");

    [Function("ListTenantKeys")]
    public Task ListTenantKeys([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "api/operator/tenants/{tenantId}/keys")] HttpRequest request) =>
        api.RunAsync(request, "GET api/operator/tenants/{tenantId}/keys");

    [Function("IssueTenantKey")]
    public Task IssueTenantKey([HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "api/operator/tenants/{tenantId}/keys")] HttpRequest request) =>
        api.RunAsync(request, "POST api/operator/tenants/{tenantId}/keys");

    [Function("RevokeTenantKey")]
    public Task RevokeTenantKey([HttpTrigger(AuthorizationLevel.Anonymous, "delete", Route = "api/operator/tenants/{tenantId}/keys/{keyId}")] HttpRequest request) =>
        api.RunAsync(request, "DELETE api/operator/tenants/{tenantId}/keys/{keyId}");
}
