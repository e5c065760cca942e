using Microsoft.Azure.Functions.Worker;
using Siyu.Functions.Api;

namespace Siyu.Functions.Audit;

/// <summary>
/// The HTTP functions of the audit log: one per operation, at its route and
/// methods; each hands its request to the operation's handler (AuditEndpoints.cs) behind the API's guard (<see cref="HttpApi"/>).
/// </summary>
public sealed class AuditHttpFunctions(HttpApi api)
{
    [Function("GetAudit")]
    public Task GetAudit([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "api/audit")] HttpRequest request) =>
        api.RunAsync(request, "GET api/audit");
}
