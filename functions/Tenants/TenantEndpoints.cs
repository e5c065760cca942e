using Siyu.Core.Tenants;
using Siyu.Functions.Api;
using Siyu.Storage.Tenants;

namespace Siyu.Functions.Tenants;

public sealed record CreateTenantRequest(string? Id, string? Name);
public sealed record IssueKeyRequest(string? Role, string? Name);
public sealed record KeyView(string KeyId, string Role, string Name, DateTimeOffset CreatedAt, DateTimeOffset? RevokedAt)
{
    public static KeyView From(ApiKeyRecord k) => new(k.KeyId, k.Role.Name(), k.Name, k.CreatedAt, k.RevokedAt);
}
/// <summary>The only response that ever shows a key's secret.</summary>
public sealed record IssuedKey(string KeyId, string Role, string Name, string Key);

/// <summary>
/// Tenant and key administration. The operator (bootstrap key) creates tenants and manages any tenant's keys;
/// a tenant's admin manages its own keys under <c>/api/keys</c>.
/// </summary>
public static class TenantEndpoints
{
    public static void MapTenants(this IEndpointRouteBuilder app)
    {
        var op = app.MapGroup("/api/operator/tenants").WithTags("Operator").AllowOperator();

        op.MapPost("/", async (CreateTenantRequest body, TenantStore tenants, CancellationToken ct) =>
            {
                if (!TenantRules.IsValidTenantId(body.Id))
                    return Problems.BadRequest("invalid_tenant_id", "id must be 3-32 lowercase letters, digits or '-', not starting or ending with '-'");
                var name = string.IsNullOrWhiteSpace(body.Name) ? body.Id! : body.Name.Trim();
                if (!await tenants.CreateAsync(body.Id!, name, ct)) return Problems.Conflict("tenant_exists", $"tenant '{body.Id}' already exists");
                return Results.Created($"/api/operator/tenants/{body.Id}", await tenants.GetAsync(body.Id!, ct));
            })
            .WithName("CreateTenant").WithSummary("Create a tenant (a brand)")
            .Produces<TenantRecord>(StatusCodes.Status201Created).ProducesProblem(StatusCodes.Status409Conflict);

        op.MapGet("/", async (TenantStore tenants, CancellationToken ct) => Results.Ok(await tenants.ListAsync(ct)))
            .WithName("ListTenants").WithSummary("List tenants").Produces<IReadOnlyList<TenantRecord>>();

        op.MapPost("/{tenantId}/keys", async (string tenantId, IssueKeyRequest body, TenantStore tenants, CancellationToken ct) =>
                await IssueAsync(tenantId, body, tenants, ct))
            .WithName("IssueTenantKey").WithSummary("Issue an API key for a tenant (the key is shown once)")
            .Produces<IssuedKey>(StatusCodes.Status201Created).ProducesProblem(StatusCodes.Status404NotFound);

        op.MapGet("/{tenantId}/keys", async (string tenantId, TenantStore tenants, CancellationToken ct) =>
                await tenants.GetAsync(tenantId, ct) is null
                    ? Problems.NotFound("tenant_not_found", $"no tenant '{tenantId}'")
                    : Results.Ok((await tenants.ListKeysAsync(tenantId, ct)).Select(KeyView.From)))
            .WithName("ListTenantKeys").WithSummary("List a tenant's keys (never their secrets)").Produces<IEnumerable<KeyView>>();

        op.MapDelete("/{tenantId}/keys/{keyId}", async (string tenantId, string keyId, TenantStore tenants, ApiKeyCache cache, CancellationToken ct) =>
                await RevokeAsync(tenantId, keyId, tenants, cache, ct))
            .WithName("RevokeTenantKey").WithSummary("Revoke a key").Produces(StatusCodes.Status204NoContent).ProducesProblem(StatusCodes.Status404NotFound);

        var own = app.MapGroup("/api/keys").WithTags("Keys").Allow(Role.Admin);

        own.MapPost("/", async (IssueKeyRequest body, HttpContext http, TenantStore tenants, CancellationToken ct) =>
                await IssueAsync(http.Caller().TenantId, body, tenants, ct))
            .WithName("IssueKey").WithSummary("Issue an API key for this tenant (the key is shown once)").Produces<IssuedKey>(StatusCodes.Status201Created);

        own.MapGet("/", async (HttpContext http, TenantStore tenants, CancellationToken ct) =>
                Results.Ok((await tenants.ListKeysAsync(http.Caller().TenantId, ct)).Select(KeyView.From)))
            .WithName("ListKeys").WithSummary("List this tenant's keys").Produces<IEnumerable<KeyView>>();

        own.MapDelete("/{keyId}", async (string keyId, HttpContext http, TenantStore tenants, ApiKeyCache cache, CancellationToken ct) =>
                await RevokeAsync(http.Caller().TenantId, keyId, tenants, cache, ct))
            .WithName("RevokeKey").WithSummary("Revoke one of this tenant's keys").Produces(StatusCodes.Status204NoContent);
    }

    private static async Task<IResult> IssueAsync(string tenantId, IssueKeyRequest body, TenantStore tenants, CancellationToken ct)
    {
        if (!TenantRules.TryParseRole(body.Role, out var role))
            return Problems.BadRequest("invalid_role", "role must be one of: ingest, marketer, admin");
        if (await tenants.GetAsync(tenantId, ct) is null) return Problems.NotFound("tenant_not_found", $"no tenant '{tenantId}'");
        var name = string.IsNullOrWhiteSpace(body.Name) ? role.Name() : body.Name.Trim();
        if (name.Length > 100) return Problems.BadRequest("invalid_name", "name is at most 100 characters");
        var (record, key) = await tenants.IssueKeyAsync(tenantId, role, name, ct);
        return Results.Created($"/api/keys/{record.KeyId}", new IssuedKey(record.KeyId, role.Name(), name, key));
    }

    private static async Task<IResult> RevokeAsync(string tenantId, string keyId, TenantStore tenants, ApiKeyCache cache, CancellationToken ct)
    {
        if (!await tenants.RevokeKeyAsync(tenantId, keyId, ct)) return Problems.NotFound("key_not_found", $"no key '{keyId}' in tenant '{tenantId}'");
        cache.Forget(tenantId, keyId);
        return Results.NoContent();
    }
}
