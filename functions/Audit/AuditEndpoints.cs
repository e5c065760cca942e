using Siyu.Core.Tenants;
using Siyu.Functions.Api;
using Siyu.Functions.Tenants;
using Siyu.Storage.Audit;

namespace Siyu.Functions.Audit;

/// <summary><c>GET /api/audit</c>: the tenant's audit log, newest first, for its admins.</summary>
public static class AuditEndpoints
{
    public static void MapAudit(this IEndpointRouteBuilder app)
    {
        app.MapGet("/api/audit", async (string? profileId, string? action, DateTimeOffset? from, DateTimeOffset? to, int? limit, string? continuation,
                HttpContext http, AuditStore audit, CancellationToken ct) =>
            {
                if (from is { } f && to is { } t && f >= t) return Problems.BadRequest("invalid_range", "from must be before to");
                if (action is { Length: > 64 } || profileId is { Length: > 64 }) return Problems.BadRequest("invalid_filter", "filters are at most 64 characters");
                var page = await audit.ReadAsync(http.Caller().TenantId, profileId, action, from, to, Math.Clamp(limit ?? 100, 1, 1000), continuation, ct);
                return Results.Ok(page);
            })
            .Allow(Role.Admin)
            .WithName("GetAudit")
            .WithTags("Consent")
            .WithSummary("Who read or changed personal data: ?profileId=&action=&from=&to=&limit=&continuation=")
            .Produces<AuditPage>()
            .ProducesProblem(StatusCodes.Status400BadRequest);
    }
}
