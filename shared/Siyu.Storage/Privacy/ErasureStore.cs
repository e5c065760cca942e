using Azure;
using Azure.Data.Tables;
using Siyu.Storage.Tables;

namespace Siyu.Storage.Privacy;

public enum ErasureStatus { Pending, Done }

/// <summary>The receipt of one erasure. It names the profile id (a random id that no longer leads anywhere), never the person.</summary>
public sealed record ErasureReceipt(string TenantId, string ProfileId, ErasureStatus Status, string Reason, string RequestedBy,
    DateTimeOffset RequestedAt, DateTimeOffset? CompletedAt);

/// <summary>Erasure receipts: proof that a person was erased, and what is still to finish.</summary>
public sealed class ErasureStore(StorageTables tables)
{
    public async Task<ErasureReceipt?> GetAsync(string tenantId, string profileId, CancellationToken ct = default)
    {
        var row = await tables.Erasures.GetEntityIfExistsAsync<TableEntity>(tenantId, profileId, cancellationToken: ct);
        return row.HasValue ? ToReceipt(row.Value!) : null;
    }

    /// <summary>Records the request, unless one is already recorded (the first request's time and author are kept).</summary>
    public async Task<ErasureReceipt> BeginAsync(string tenantId, string profileId, string reason, string requestedBy, DateTimeOffset at, CancellationToken ct = default)
    {
        var receipt = new ErasureReceipt(tenantId, profileId, ErasureStatus.Pending, reason, requestedBy, at, null);
        try
        {
            await tables.Erasures.AddEntityAsync(ToEntity(receipt), ct);
            return receipt;
        }
        catch (RequestFailedException e) when (e.Status == 409)
        {
            return await GetAsync(tenantId, profileId, ct) ?? receipt;
        }
    }

    public async Task CompleteAsync(string tenantId, string profileId, DateTimeOffset at, CancellationToken ct = default)
    {
        var existing = await GetAsync(tenantId, profileId, ct);
        var receipt = (existing ?? new ErasureReceipt(tenantId, profileId, ErasureStatus.Pending, "request", "unknown", at, null))
            with { Status = ErasureStatus.Done, CompletedAt = existing?.CompletedAt ?? at };
        await tables.Erasures.UpsertEntityAsync(ToEntity(receipt), TableUpdateMode.Replace, ct);
    }

    /// <summary>Receipts of erasures not finished and requested before <paramref name="before"/>: work to restart.</summary>
    public async IAsyncEnumerable<ErasureReceipt> PendingAsync(DateTimeOffset before, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken ct = default)
    {
        var filter = TableClient.CreateQueryFilter($"Status eq {"pending"} and RequestedAt lt {before}");
        await foreach (var row in tables.Erasures.QueryAsync<TableEntity>(filter, cancellationToken: ct))
            yield return ToReceipt(row);
    }

    private static TableEntity ToEntity(ErasureReceipt r) => new(r.TenantId, r.ProfileId)
    {
        ["Status"] = r.Status == ErasureStatus.Done ? "done" : "pending",
        ["Reason"] = r.Reason,
        ["RequestedBy"] = r.RequestedBy,
        ["RequestedAt"] = r.RequestedAt,
        ["CompletedAt"] = r.CompletedAt,
    };

    private static ErasureReceipt ToReceipt(TableEntity e) => new(
        e.PartitionKey, e.RowKey, e.GetString("Status") == "done" ? ErasureStatus.Done : ErasureStatus.Pending,
        e.GetString("Reason") ?? "request", e.GetString("RequestedBy") ?? "unknown",
        e.GetDateTimeOffset("RequestedAt") ?? default, e.GetDateTimeOffset("CompletedAt"));
}
