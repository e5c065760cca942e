using Azure;
using Azure.Data.Tables;
using Siyu.Core.Storage;
using Siyu.Storage.Caching;
using Siyu.Storage.Tables;

namespace Siyu.Storage.Identities;

/// <summary>
/// The identity index: which profile each identity belongs to. An identity belongs to exactly one profile, and
/// that is enforced by storage: a claim is an insert that fails if the identity is already taken.
/// Lookups are cached; a mapping only changes through merges and erasure, which invalidate it.
/// </summary>
public sealed class IdentityStore(StorageTables tables, TimeProvider clock, int cacheCapacity = 200_000)
{
    public const int Buckets = 32;
    private readonly BoundedCache<string, string> _cache = new(cacheCapacity, clock);

    /// <summary>The profile an identity belongs to, or null. <paramref name="fresh"/>: read the index, not this process's cache.</summary>
    public async Task<string?> LookupAsync(string tenantId, string identityKey, CancellationToken ct = default, bool fresh = false)
    {
        var cacheKey = tenantId + "|" + identityKey;
        if (!fresh && _cache.TryGet(cacheKey, out var cached)) return cached;
        var row = await tables.Identities.GetEntityIfExistsAsync<TableEntity>(
            Partition(tenantId, identityKey), KeyEncoding.Escape(identityKey), ["ProfileId"], ct);
        var profileId = row.HasValue ? row.Value!.GetString("ProfileId") : null;
        if (profileId is not null) _cache.Set(cacheKey, profileId);
        return profileId;
    }

    /// <summary>
    /// Claims identities for profiles. Returns, for each claim, the profile that owns the identity afterwards:
    /// the claimed one, or whoever claimed it first. Claims in one partition go in one transaction when they can.
    /// </summary>
    public async Task<IReadOnlyDictionary<string, string>> ClaimAsync(
        string tenantId, IReadOnlyCollection<(string IdentityKey, string ProfileId)> claims, CancellationToken ct = default)
    {
        var owners = new Dictionary<string, string>(StringComparer.Ordinal);
        var groups = claims.GroupBy(c => Partition(tenantId, c.IdentityKey)).ToList();
        await Parallel.ForEachAsync(groups, new ParallelOptions { MaxDegreeOfParallelism = 8, CancellationToken = ct }, async (group, token) =>
        {
            var result = await ClaimPartitionAsync(tenantId, group.Key, group.ToList(), token);
            lock (owners) foreach (var (k, v) in result) owners[k] = v;
        });
        return owners;
    }

    private async Task<Dictionary<string, string>> ClaimPartitionAsync(string tenantId, string partition, List<(string IdentityKey, string ProfileId)> claims, CancellationToken ct)
    {
        var owners = new Dictionary<string, string>(StringComparer.Ordinal);
        var now = clock.GetUtcNow();
        TableEntity Row((string IdentityKey, string ProfileId) c) =>
            new(partition, KeyEncoding.Escape(c.IdentityKey)) { ["ProfileId"] = c.ProfileId, ["ClaimedAt"] = now };

        foreach (var chunk in claims.Chunk(100))
        {
            try
            {
                // The common case: all new. One transaction for the lot.
                await tables.Identities.SubmitTransactionAsync(chunk.Select(c => new TableTransactionAction(TableTransactionActionType.Add, Row(c))), ct);
                foreach (var c in chunk) owners[c.IdentityKey] = c.ProfileId;
            }
            catch (RequestFailedException e) when (e.Status == 409)
            {
                // Someone holds at least one of them: claim one by one, and learn the owner of each lost one.
                foreach (var c in chunk)
                {
                    try
                    {
                        await tables.Identities.AddEntityAsync(Row(c), ct);
                        owners[c.IdentityKey] = c.ProfileId;
                    }
                    catch (RequestFailedException single) when (single.Status == 409)
                    {
                        var row = await tables.Identities.GetEntityAsync<TableEntity>(partition, KeyEncoding.Escape(c.IdentityKey), ["ProfileId"], ct);
                        owners[c.IdentityKey] = row.Value.GetString("ProfileId")!;
                    }
                }
            }
        }
        foreach (var (key, owner) in owners) _cache.Set(tenantId + "|" + key, owner);
        return owners;
    }

    /// <summary>
    /// Moves an identity from one profile to another (a merge), if it still belongs to <paramref name="fromProfileId"/>.
    /// Conditional on the row's ETag, so a concurrent change is never overwritten. Idempotent.
    /// </summary>
    public async Task RepointAsync(string tenantId, string identityKey, string fromProfileId, string toProfileId, CancellationToken ct = default)
    {
        var partition = Partition(tenantId, identityKey);
        var rowKey = KeyEncoding.Escape(identityKey);
        for (var attempt = 0; attempt < 5; attempt++)
        {
            var row = await tables.Identities.GetEntityIfExistsAsync<TableEntity>(partition, rowKey, cancellationToken: ct);
            if (!row.HasValue || row.Value!.GetString("ProfileId") != fromProfileId) break;
            row.Value["ProfileId"] = toProfileId;
            try
            {
                await tables.Identities.UpdateEntityAsync(row.Value, row.Value.ETag, TableUpdateMode.Replace, ct);
                break;
            }
            catch (RequestFailedException e) when (e.Status is 412 or 404) { }
        }
        Forget(tenantId, identityKey);
    }

    public void Forget(string tenantId, string identityKey) => _cache.Remove(tenantId + "|" + identityKey);

    /// <summary>Deletes the identity's row if it still belongs to <paramref name="profileId"/> (erasure). Idempotent.</summary>
    public Task ReleaseAsync(string tenantId, string identityKey, string profileId, CancellationToken ct = default) =>
        ReleaseAsync(tenantId, identityKey, [profileId], ct);

    /// <summary>
    /// Deletes the identity's row if it still belongs to one of <paramref name="profileIds"/>: a person's own id and the
    /// ids merged into it (an identity claimed for a profile just before it was merged away points at its alias). Idempotent.
    /// </summary>
    public async Task ReleaseAsync(string tenantId, string identityKey, IReadOnlyCollection<string> profileIds, CancellationToken ct = default)
    {
        var partition = Partition(tenantId, identityKey);
        var row = await tables.Identities.GetEntityIfExistsAsync<TableEntity>(partition, KeyEncoding.Escape(identityKey), ["ProfileId"], ct);
        if (row.HasValue && row.Value!.GetString("ProfileId") is { } owner && profileIds.Contains(owner))
        {
            try { await tables.Identities.DeleteEntityAsync(partition, KeyEncoding.Escape(identityKey), row.Value.ETag, ct); }
            catch (RequestFailedException e) when (e.Status is 404 or 412) { }
        }
        Forget(tenantId, identityKey);
    }

    public static string Partition(string tenantId, string identityKey) =>
        StorageTables.BucketPartition(tenantId, Ids.Bucket(identityKey, Buckets));
}
