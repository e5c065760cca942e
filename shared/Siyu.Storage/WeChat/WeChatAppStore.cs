using Azure;
using Azure.Data.Tables;
using Siyu.Core.WeChat;
using Siyu.Storage.Secrets;
using Siyu.Storage.Tables;

namespace Siyu.Storage.WeChat;

/// <summary>A registered WeChat app of a tenant: what receiving pushes needs, plus the appSecret for sending later.</summary>
public sealed record WeChatAppRecord(string TenantId, WeChatApp App, string? AppSecret, DateTimeOffset CreatedAt, DateTimeOffset UpdatedAt);

/// <summary>WeChat apps per tenant (PK tenant, RK appId). Tokens and keys are encrypted at rest by <see cref="SecretProtector"/>.</summary>
public sealed class WeChatAppStore(StorageTables tables, SecretProtector secrets, TimeProvider clock)
{
    public async Task<WeChatAppRecord> UpsertAsync(string tenantId, WeChatApp app, string? appSecret, CancellationToken ct = default)
    {
        var existing = await GetAsync(tenantId, app.AppId, ct);
        var now = clock.GetUtcNow();
        var record = new WeChatAppRecord(tenantId, app, appSecret ?? existing?.AppSecret, existing?.CreatedAt ?? now, now);
        await tables.WeChatApps.UpsertEntityAsync(new TableEntity(tenantId, app.AppId)
        {
            ["Kind"] = app.Kind.ToString(),
            ["Mode"] = app.Mode.ToString(),
            ["Token"] = secrets.Protect(app.Token),
            ["EncodingAesKey"] = secrets.Protect(app.EncodingAesKey),
            ["PreviousEncodingAesKey"] = secrets.Protect(app.PreviousEncodingAesKey),
            ["AppSecret"] = secrets.Protect(record.AppSecret),
            ["CreatedAt"] = record.CreatedAt,
            ["UpdatedAt"] = now,
        }, TableUpdateMode.Replace, ct);
        return record;
    }

    public async Task<WeChatAppRecord?> GetAsync(string tenantId, string appId, CancellationToken ct = default)
    {
        var row = await tables.WeChatApps.GetEntityIfExistsAsync<TableEntity>(tenantId, appId, cancellationToken: ct);
        return row.HasValue ? ToRecord(row.Value!) : null;
    }

    public async Task<IReadOnlyList<WeChatAppRecord>> ListAsync(string tenantId, CancellationToken ct = default)
    {
        var list = new List<WeChatAppRecord>();
        await foreach (var row in tables.WeChatApps.QueryAsync<TableEntity>(e => e.PartitionKey == tenantId, cancellationToken: ct))
            list.Add(ToRecord(row));
        return list;
    }

    public async Task<bool> DeleteAsync(string tenantId, string appId, CancellationToken ct = default)
    {
        var response = await tables.WeChatApps.DeleteEntityAsync(tenantId, appId, ETag.All, ct);
        return response.Status != 404;
    }

    private WeChatAppRecord ToRecord(TableEntity e) => new(
        e.PartitionKey,
        new WeChatApp(
            e.RowKey,
            Enum.Parse<WeChatAppKind>(e.GetString("Kind")!),
            secrets.Unprotect(e.GetString("Token")) ?? "",
            secrets.Unprotect(e.GetString("EncodingAesKey")) ?? "",
            secrets.Unprotect(e.GetString("PreviousEncodingAesKey")),
            Enum.Parse<WeChatMessageMode>(e.GetString("Mode")!)),
        secrets.Unprotect(e.GetString("AppSecret")),
        e.GetDateTimeOffset("CreatedAt") ?? default,
        e.GetDateTimeOffset("UpdatedAt") ?? default);
}
