using System.Text;
using Azure;
using Azure.Data.Tables;
using Siyu.Core.Privacy;
using Siyu.Storage.Tables;

namespace Siyu.Storage.Privacy;

/// <summary>
/// Keyed hashes of erased people's identifiers, so that events about them are recognised instead of silently
/// creating a new profile. The key derives from <c>Secrets:EncryptionKey</c>; without one (a local emulator) a
/// fixed development key is used and the hashes are only as good as that.
/// Every tenant with any suppression also has a marker row, so that ingestion — which asks about every would-be new
/// person — pays one read per batch, not one per identifier, until the tenant's first erasure.
/// </summary>
public sealed class SuppressionStore(StorageTables tables, string? secretBase64)
{
    /// <summary>Sorts before every hash (hex) and cannot be one.</summary>
    private const string MarkerRow = "!any";

    private readonly byte[] _key = SuppressionHash.DeriveKey(
        string.IsNullOrWhiteSpace(secretBase64) ? Encoding.UTF8.GetBytes("siyu-development-only") : Convert.FromBase64String(secretBase64));

    public string Hash(string tenantId, string identityKey) => SuppressionHash.Compute(_key, tenantId, identityKey);

    public async Task AddAsync(string tenantId, IEnumerable<string> identityKeys, string reason, DateTimeOffset at, CancellationToken ct = default)
    {
        // The marker first: from the moment a hash exists, readers must know to look.
        await tables.Suppressions.UpsertEntityAsync(new TableEntity(tenantId, MarkerRow) { ["At"] = at }, TableUpdateMode.Replace, ct);
        // Suppressed again (a straggler of the same person), the time moves on: a fresh consent must postdate the latest.
        foreach (var chunk in identityKeys.Select(k => Hash(tenantId, k)).Distinct().Chunk(100))
            await tables.Suppressions.SubmitTransactionAsync(chunk.Select(h => new TableTransactionAction(TableTransactionActionType.UpsertReplace,
                new TableEntity(tenantId, h) { ["Reason"] = reason, ["At"] = at })), ct);
    }

    /// <summary>Which of these identities belong to an erased person, and when each was suppressed.</summary>
    public async Task<Dictionary<string, DateTimeOffset>> FindAsync(string tenantId, IReadOnlyCollection<string> identityKeys, CancellationToken ct = default)
    {
        var found = new Dictionary<string, DateTimeOffset>(StringComparer.Ordinal);
        if (identityKeys.Count == 0) return found;
        // Not cached: a tenant's first erasure on another instance must count at once.
        if (!(await tables.Suppressions.GetEntityIfExistsAsync<TableEntity>(tenantId, MarkerRow, ["RowKey"], ct)).HasValue) return found;
        await Parallel.ForEachAsync(identityKeys.Distinct(), new ParallelOptions { MaxDegreeOfParallelism = 16, CancellationToken = ct }, async (key, token) =>
        {
            var row = await tables.Suppressions.GetEntityIfExistsAsync<TableEntity>(tenantId, Hash(tenantId, key), ["At"], token);
            if (row.HasValue) lock (found) found[key] = row.Value!.GetDateTimeOffset("At") ?? DateTimeOffset.MaxValue;
        });
        return found;
    }

    /// <summary>Lifts suppression: the person came back with a fresh consent.</summary>
    public async Task RemoveAsync(string tenantId, IEnumerable<string> identityKeys, CancellationToken ct = default)
    {
        foreach (var key in identityKeys.Distinct())
        {
            try { await tables.Suppressions.DeleteEntityAsync(tenantId, Hash(tenantId, key), ETag.All, ct); }
            catch (RequestFailedException e) when (e.Status == 404) { }
        }
    }
}
