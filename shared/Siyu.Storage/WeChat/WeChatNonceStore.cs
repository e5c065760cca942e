using Azure;
using Azure.Data.Tables;
using Siyu.Core.Storage;
using Siyu.Core.WeChat;
using Siyu.Storage.Tables;

namespace Siyu.Storage.WeChat;

/// <summary>What became of a push's claim on its nonce.</summary>
public enum NonceClaimOutcome
{
    /// <summary>First use of the nonce (or of one whose earlier claim had expired): accept.</summary>
    Claimed,
    /// <summary>The nonce was claimed for this very body: a retry, accept.</summary>
    Retry,
    /// <summary>The nonce was claimed for another body: a replay, refuse.</summary>
    Replayed,
}

/// <summary>
/// The replay guard's nonces: PK <c>{tenant}~{appId}</c>, RK the nonce (escaped), holding the body's hash and when
/// the claim expires. A claim is an insert that conflicts when the nonce is taken, so it holds across instances; a
/// conflict is judged by <see cref="WeChatReplay.Judge"/>, and every change to an existing row is made under its
/// ETag, so two pushes racing for one nonce cannot both win. Expired rows are taken over by a later claim, and
/// deleted by the retention purge (<see cref="DeleteExpiredAsync"/>, hourly): the table holds about an hour of pushes.
/// </summary>
public sealed class WeChatNonceStore(StorageTables tables)
{
    private const int MaxRounds = 8;

    public static string Partition(string tenantId, string appId) => $"{tenantId}~{appId}";

    public async Task<NonceClaimOutcome> ClaimAsync(string tenantId, string appId, WeChatNonceClaim claim, DateTimeOffset now, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(claim);
        var pk = Partition(tenantId, appId);
        var rk = KeyEncoding.Escape(claim.Nonce);
        var row = new TableEntity(pk, rk) { ["BodyHash"] = claim.BodyHash, ["ExpiresAt"] = claim.ExpiresAt };
        // Each round ends in an answer unless another claim changed the row in between; that cannot go on for long.
        for (var round = 0; round < MaxRounds; round++)
        {
            try
            {
                await tables.WeChatNonces.AddEntityAsync(row, ct);
                return NonceClaimOutcome.Claimed;
            }
            catch (RequestFailedException e) when (e.Status == 409) { }

            var existing = await tables.WeChatNonces.GetEntityIfExistsAsync<TableEntity>(pk, rk, cancellationToken: ct);
            if (!existing.HasValue) continue; // purged in between: insert again
            var earlier = existing.Value!;
            var earlierExpiresAt = earlier.GetDateTimeOffset("ExpiresAt") ?? DateTimeOffset.MinValue;
            try
            {
                switch (WeChatReplay.Judge(earlier.GetString("BodyHash") ?? "", earlierExpiresAt, claim, now))
                {
                    case WeChatNonceVerdict.Replay:
                        return NonceClaimOutcome.Replayed;
                    case WeChatNonceVerdict.TakeOver:
                        await tables.WeChatNonces.UpdateEntityAsync(row, earlier.ETag, TableUpdateMode.Replace, ct);
                        return NonceClaimOutcome.Claimed;
                    default:
                        if (WeChatReplay.MustExtend(earlierExpiresAt, claim))
                            await tables.WeChatNonces.UpdateEntityAsync(row, earlier.ETag, TableUpdateMode.Replace, ct);
                        return NonceClaimOutcome.Retry;
                }
            }
            catch (RequestFailedException e) when (e.Status is 404 or 412) { } // changed or purged meanwhile: judge again
        }
        throw new RequestFailedException(503, $"the nonce claim for {appId} kept changing", "NonceContention", null);
    }

    /// <summary>Deletes a tenant's expired claims; a row claimed again meanwhile (its ETag changed) is kept.</summary>
    public async Task<int> DeleteExpiredAsync(string tenantId, DateTimeOffset now, CancellationToken ct = default)
    {
        // Every partition of the tenant: "{tenant}~" then app ids, which hold no '~'.
        var filter = TableClient.CreateQueryFilter(
            $"PartitionKey ge {tenantId + "~"} and PartitionKey lt {tenantId + "~~"} and ExpiresAt lt {now}");
        var expired = new List<TableEntity>();
        await foreach (var row in tables.WeChatNonces.QueryAsync<TableEntity>(filter, cancellationToken: ct))
            expired.Add(row);

        var deleted = 0;
        foreach (var chunk in expired.GroupBy(r => r.PartitionKey).SelectMany(p => p.Chunk(100)))
        {
            try
            {
                await tables.WeChatNonces.SubmitTransactionAsync(
                    chunk.Select(r => new TableTransactionAction(TableTransactionActionType.Delete, r, r.ETag)), ct);
                deleted += chunk.Length;
            }
            catch (TableTransactionFailedException)
            {
                // One was claimed again or is gone already: the rest one by one.
                foreach (var r in chunk)
                {
                    try { await tables.WeChatNonces.DeleteEntityAsync(r.PartitionKey, r.RowKey, r.ETag, ct); deleted++; }
                    catch (RequestFailedException one) when (one.Status is 404 or 412) { }
                }
            }
        }
        return deleted;
    }
}
