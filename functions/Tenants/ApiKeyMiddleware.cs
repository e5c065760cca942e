using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Options;
using Siyu.Core.Tenants;
using Siyu.Functions.Api;
using Siyu.Functions.Hosting;
using Siyu.Storage.Caching;
using Siyu.Storage.Tenants;

namespace Siyu.Functions.Tenants;

/// <summary>
/// Authenticates every API request before its body is read: an API key (<c>Authorization: Bearer sk_…</c> or
/// <c>X-Api-Key</c>) scoped to one tenant and one role, or the operator's bootstrap key. Key records are cached
/// for <see cref="ApiKeyCache.CacheFor"/>, so a key revoked on another instance stops working within that time.
/// </summary>
public sealed class ApiKeyMiddleware(RequestDelegate next, ApiKeyCache keys, IOptions<OperatorSettings> operatorSettings)
{
    public async Task InvokeAsync(HttpContext context)
    {
        var endpoint = context.GetEndpoint();
        if (endpoint is null) { await next(context); return; }

        var access = endpoint.Metadata.GetMetadata<Access>();
        if (access is null && endpoint.Metadata.GetMetadata<System.Reflection.MethodInfo>() is null)
        {
            // A framework-made rejection (405 method, 415 media type): it runs no code of ours, so let it answer.
            await next(context);
            return;
        }
        if (access is null)
        {
            await Problems.WriteAsync(context, Problems.Forbidden("no_access_policy", "this endpoint is not open to API callers"));
            return;
        }
        if (access.Public) { await next(context); return; }

        var presented = PresentedKey(context.Request);
        if (presented is null)
        {
            await Problems.WriteAsync(context, Problems.Unauthorized("missing_api_key", "send an API key as 'Authorization: Bearer <key>' or 'X-Api-Key: <key>'"));
            return;
        }

        if (access.Operator)
        {
            var bootstrap = operatorSettings.Value.BootstrapKey;
            if (string.IsNullOrEmpty(bootstrap) || !FixedTimeEquals(presented, bootstrap))
            {
                await Problems.WriteAsync(context, Problems.Unauthorized("invalid_operator_key", "this endpoint needs the operator bootstrap key"));
                return;
            }
            await next(context);
            return;
        }

        if (!ApiKeyFormat.TryParse(presented, out var parsed))
        {
            await Problems.WriteAsync(context, Problems.Unauthorized("invalid_api_key", "the API key is malformed"));
            return;
        }
        var record = await keys.LookupAsync(parsed.TenantId, parsed.KeyId, context.RequestAborted);
        if (record is null || !record.IsActive || !ApiKeyFormat.Matches(parsed.Secret, record.SecretHash))
        {
            await Problems.WriteAsync(context, Problems.Unauthorized("invalid_api_key", "the API key is unknown or revoked"));
            return;
        }
        if (!access.Roles.Contains(record.Role))
        {
            await Problems.WriteAsync(context, Problems.Forbidden("wrong_role",
                $"a key with role '{record.Role.Name()}' may not call this; it needs {string.Join(" or ", access.Roles.Select(r => $"'{r.Name()}'"))}"));
            return;
        }

        context.Items[typeof(Caller)] = new Caller(record.TenantId, record.KeyId, record.Role);
        await next(context);
    }

    private static string? PresentedKey(HttpRequest request)
    {
        var auth = request.Headers.Authorization.ToString();
        if (auth.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase)) return auth["Bearer ".Length..].Trim();
        var header = request.Headers["X-Api-Key"].ToString();
        return string.IsNullOrWhiteSpace(header) ? null : header.Trim();
    }

    private static bool FixedTimeEquals(string a, string b) =>
        CryptographicOperations.FixedTimeEquals(SHA256.HashData(Encoding.UTF8.GetBytes(a)), SHA256.HashData(Encoding.UTF8.GetBytes(b)));
}

/// <summary>API key records by tenant and key id, cached briefly so authentication costs no storage read per request.</summary>
public sealed class ApiKeyCache(TenantStore tenants, TimeProvider clock)
{
    public static readonly TimeSpan CacheFor = TimeSpan.FromSeconds(30);
    private readonly BoundedCache<string, ApiKeyRecord?> _keys = new(10_000, clock, CacheFor);

    public Task<ApiKeyRecord?> LookupAsync(string tenantId, string keyId, CancellationToken ct) =>
        _keys.GetOrAddAsync(tenantId + "|" + keyId, _ => tenants.GetKeyAsync(tenantId, keyId, ct));

    /// <summary>Forget a key at once on this instance, e.g. right after revoking it.</summary>
    public void Forget(string tenantId, string keyId) => _keys.Remove(tenantId + "|" + keyId);
}
