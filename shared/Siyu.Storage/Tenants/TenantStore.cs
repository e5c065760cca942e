using Azure;
using Azure.Data.Tables;
using Siyu.Core.Tenants;
using Siyu.Storage.Tables;

namespace Siyu.Storage.Tenants;

public sealed record TenantRecord(string Id, string Name, DateTimeOffset CreatedAt);

public sealed record ApiKeyRecord(string TenantId, string KeyId, Role Role, string Name, string SecretHash, DateTimeOffset CreatedAt, DateTimeOffset? RevokedAt)
{
    public bool IsActive => RevokedAt is null;
}

/// <summary>Tenants (brands) and their API keys. Keys are stored with only a hash of their secret.</summary>
public sealed class TenantStore(StorageTables tables, TimeProvider clock)
{
    private const string TenantPartition = "tenant";

    /// <summary>Creates a tenant; false if the id is taken.</summary>
    public async Task<bool> CreateAsync(string id, string name, CancellationToken ct = default)
    {
        try
        {
            await tables.Tenants.AddEntityAsync(new TableEntity(TenantPartition, id) { ["Name"] = name, ["CreatedAt"] = clock.GetUtcNow() }, ct);
            return true;
        }
        catch (RequestFailedException e) when (e.Status == 409) { return false; }
    }

    public async Task<TenantRecord?> GetAsync(string id, CancellationToken ct = default)
    {
        var row = await tables.Tenants.GetEntityIfExistsAsync<TableEntity>(TenantPartition, id, cancellationToken: ct);
        return row.HasValue ? ToTenant(row.Value!) : null;
    }

    public async Task<IReadOnlyList<TenantRecord>> ListAsync(CancellationToken ct = default)
    {
        var list = new List<TenantRecord>();
        await foreach (var row in tables.Tenants.QueryAsync<TableEntity>(e => e.PartitionKey == TenantPartition, cancellationToken: ct))
            list.Add(ToTenant(row));
        return list;
    }

    /// <summary>Issues a key and returns it in full: the only time the secret is ever seen.</summary>
    public async Task<(ApiKeyRecord Record, string Key)> IssueKeyAsync(string tenantId, Role role, string name, CancellationToken ct = default)
    {
        var (keyId, secret, key) = ApiKeyFormat.New(tenantId);
        var record = new ApiKeyRecord(tenantId, keyId, role, name, ApiKeyFormat.Hash(secret), clock.GetUtcNow(), null);
        await tables.ApiKeys.AddEntityAsync(ToEntity(record), ct);
        return (record, key);
    }

    public async Task<ApiKeyRecord?> GetKeyAsync(string tenantId, string keyId, CancellationToken ct = default)
    {
        var row = await tables.ApiKeys.GetEntityIfExistsAsync<TableEntity>(tenantId, keyId, cancellationToken: ct);
        return row.HasValue ? ToKey(row.Value!) : null;
    }

    public async Task<IReadOnlyList<ApiKeyRecord>> ListKeysAsync(string tenantId, CancellationToken ct = default)
    {
        var list = new List<ApiKeyRecord>();
        await foreach (var row in tables.ApiKeys.QueryAsync<TableEntity>(e => e.PartitionKey == tenantId, cancellationToken: ct))
            list.Add(ToKey(row));
        return list;
    }

    /// <summary>Revokes a key; false if there is no such key. Revoking twice is fine.</summary>
    public async Task<bool> RevokeKeyAsync(string tenantId, string keyId, CancellationToken ct = default)
    {
        var key = await GetKeyAsync(tenantId, keyId, ct);
        if (key is null) return false;
        if (key.IsActive)
            await tables.ApiKeys.UpdateEntityAsync(new TableEntity(tenantId, keyId) { ["RevokedAt"] = clock.GetUtcNow() }, ETag.All, TableUpdateMode.Merge, ct);
        return true;
    }

    private static TenantRecord ToTenant(TableEntity e) => new(e.RowKey, e.GetString("Name") ?? e.RowKey, e.GetDateTimeOffset("CreatedAt") ?? default);

    private static TableEntity ToEntity(ApiKeyRecord k) => new(k.TenantId, k.KeyId)
    {
        ["Role"] = k.Role.Name(),
        ["Name"] = k.Name,
        ["SecretHash"] = k.SecretHash,
        ["CreatedAt"] = k.CreatedAt,
    };

    private static ApiKeyRecord ToKey(TableEntity e) => new(
        e.PartitionKey, e.RowKey,
        TenantRules.TryParseRole(e.GetString("Role"), out var role) ? role : Role.Ingest,
        e.GetString("Name") ?? "",
        e.GetString("SecretHash") ?? "",
        e.GetDateTimeOffset("CreatedAt") ?? default,
        e.GetDateTimeOffset("RevokedAt"));
}
