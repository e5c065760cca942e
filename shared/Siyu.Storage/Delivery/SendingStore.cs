using System.Text.Json;
using Azure.Data.Tables;
using Siyu.Core.Consent;
using Siyu.Core.Delivery;
using Siyu.Storage.Secrets;
using Siyu.Storage.Tables;

namespace Siyu.Storage.Delivery;

/// <summary>A tenant's account with a message provider (or its webhook receiver). Secrets are encrypted at rest.</summary>
/// <param name="Dedupes">Whether the provider drops a repeat of a delivery key it has taken; where it does not, each send
/// is claimed in its row before it goes and goes at most once (<see cref="SendOnce"/>).</param>
/// <param name="Provider">Whose API the channel goes through: null for the generic provider contract, "aliyun" or "tencent".</param>
/// <param name="KeyId">The provider's key id where it signs with a key pair (Aliyun AccessKey id, Tencent SecretId); ApiKey is then its secret.</param>
/// <param name="AppId">The provider's application the sends belong to (Tencent SmsSdkAppId).</param>
public sealed record ChannelSettings(string Channel, string? ApiKey, string? Sender, string? Url, DateTimeOffset UpdatedAt, bool Dedupes,
    string? Provider = null, string? KeyId = null, string? AppId = null);

/// <summary>
/// A tenant's sending settings in the tenants table: the halt switch and caps (PK <c>sending</c>, RK tenant), and
/// its provider accounts per channel (PK <c>channels~{tenant}</c>, RK channel).
/// </summary>
public sealed class SendingStore(StorageTables tables, SecretProtector secrets)
{
    private const string SendingPartition = "sending";
    private static string ChannelsPartition(string tenantId) => $"channels~{tenantId}";

    public async Task<TenantSending> GetAsync(string tenantId, CancellationToken ct = default)
    {
        var row = await tables.Tenants.GetEntityIfExistsAsync<TableEntity>(SendingPartition, tenantId, cancellationToken: ct);
        if (!row.HasValue) return TenantSending.Open;
        var caps = row.Value!.GetString("Caps") is { } json ? JsonSerializer.Deserialize<Dictionary<string, ChannelCap>>(json, EntityJson.Options) ?? new() : new();
        return new TenantSending(row.Value.GetBoolean("Halted") ?? false, caps, row.Value.GetDateTimeOffset("ChangedAt"), row.Value.GetString("ChangedBy"));
    }

    public Task SetHaltedAsync(string tenantId, bool halted, string by, DateTimeOffset now, CancellationToken ct = default) =>
        tables.Tenants.UpsertEntityAsync(new TableEntity(SendingPartition, tenantId) { ["Halted"] = halted, ["ChangedAt"] = now, ["ChangedBy"] = by },
            TableUpdateMode.Merge, ct);

    public Task SetCapsAsync(string tenantId, IReadOnlyDictionary<string, ChannelCap> caps, CancellationToken ct = default) =>
        tables.Tenants.UpsertEntityAsync(new TableEntity(SendingPartition, tenantId) { ["Caps"] = JsonSerializer.Serialize(caps, EntityJson.Options) },
            TableUpdateMode.Merge, ct);

    public async Task PutChannelAsync(string tenantId, ChannelSettings settings, CancellationToken ct = default) =>
        await tables.Tenants.UpsertEntityAsync(new TableEntity(ChannelsPartition(tenantId), settings.Channel)
        {
            ["ApiKey"] = secrets.Protect(settings.ApiKey),
            ["Sender"] = settings.Sender,
            ["Url"] = settings.Url,
            ["UpdatedAt"] = settings.UpdatedAt,
            ["Dedupes"] = settings.Dedupes,
            ["Provider"] = settings.Provider,
            ["KeyId"] = settings.KeyId,
            ["AppId"] = settings.AppId,
        }, TableUpdateMode.Replace, ct);

    public async Task<ChannelSettings?> GetChannelAsync(string tenantId, string channel, CancellationToken ct = default)
    {
        var row = await tables.Tenants.GetEntityIfExistsAsync<TableEntity>(ChannelsPartition(tenantId), channel, cancellationToken: ct);
        return row.HasValue ? ToChannel(row.Value!) : null;
    }

    public async Task<List<ChannelSettings>> ListChannelsAsync(string tenantId, CancellationToken ct = default)
    {
        var list = new List<ChannelSettings>();
        await foreach (var row in tables.Tenants.QueryAsync<TableEntity>(TableClient.CreateQueryFilter($"PartitionKey eq {ChannelsPartition(tenantId)}"), cancellationToken: ct))
            list.Add(ToChannel(row));
        return list;
    }

    private ChannelSettings ToChannel(TableEntity row) =>
        new(row.RowKey, secrets.Unprotect(row.GetString("ApiKey")), row.GetString("Sender"), row.GetString("Url"), row.GetDateTimeOffset("UpdatedAt") ?? default,
            // Accounts stored before the flag existed take their channel's default.
            row.GetBoolean("Dedupes") ?? SendOnce.DedupesByDefault(row.RowKey), row.GetString("Provider"), row.GetString("KeyId"), row.GetString("AppId"));
}
