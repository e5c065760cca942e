using Azure.Data.Tables;
using Siyu.Storage.Tables;

namespace Siyu.Storage.Audit;

/// <summary>One audited action: who (API key id and role) did what to whose data, when, in which request.</summary>
public sealed record AuditEntry(
    DateTimeOffset At, string Action, string KeyId, string Role, string RequestId, string? ProfileId, string? Detail);

public sealed record AuditPage(IReadOnlyList<AuditEntry> Entries, string? Continuation);

/// <summary>
/// The append-only audit log, one partition per tenant. Row keys count down with time, so a page of the log
/// starts with the newest entry. Entries are only ever added: nothing in the product updates or deletes them.
/// </summary>
public sealed class AuditStore(StorageTables tables)
{
    public async Task AppendAsync(string tenantId, IReadOnlyList<AuditEntry> entries, CancellationToken ct = default)
    {
        // One entry is one insert: cheaper than a transaction of one, and most requests audit one thing.
        if (entries.Count == 1)
        {
            await tables.Audit.AddEntityAsync(ToEntity(tenantId, entries[0]), ct);
            return;
        }
        foreach (var chunk in entries.Chunk(100))
        {
            var actions = chunk.Select(e => new TableTransactionAction(TableTransactionActionType.Add, ToEntity(tenantId, e)));
            await tables.Audit.SubmitTransactionAsync(actions, ct);
        }
    }

    /// <summary>
    /// Appends an entry once: a second call with the same <paramref name="key"/> and time (a step run again after a
    /// crash) finds the row there and adds nothing.
    /// </summary>
    public async Task AppendOnceAsync(string tenantId, AuditEntry entry, string key, CancellationToken ct = default)
    {
        try { await tables.Audit.AddEntityAsync(ToEntity(tenantId, entry, key), ct); }
        catch (Azure.RequestFailedException e) when (e.Status == 409) { }
    }

    /// <summary>A page of entries, newest first, optionally for one profile or action and within [from, to).</summary>
    public async Task<AuditPage> ReadAsync(string tenantId, string? profileId, string? action, DateTimeOffset? from, DateTimeOffset? to,
        int pageSize, string? continuation, CancellationToken ct = default)
    {
        var filter = TableClient.CreateQueryFilter($"PartitionKey eq {tenantId}");
        // Newest first: a later time has a smaller row key.
        if (to is { } t) filter += " and " + TableClient.CreateQueryFilter($"RowKey gt {Inverted(t)}");
        if (from is { } f) filter += " and " + TableClient.CreateQueryFilter($"RowKey lt {Inverted(f) + "~~"}");
        if (profileId is not null) filter += " and " + TableClient.CreateQueryFilter($"ProfileId eq {profileId}");
        if (action is not null) filter += " and " + TableClient.CreateQueryFilter($"Action eq {action}");
        await foreach (var page in tables.Audit.QueryAsync<TableEntity>(filter, maxPerPage: pageSize, cancellationToken: ct).AsPages(continuation, pageSize))
            return new AuditPage(page.Values.Select(ToEntry).ToList(), page.ContinuationToken);
        return new AuditPage([], null);
    }

    private static string Inverted(DateTimeOffset at) => (DateTime.MaxValue.Ticks - at.UtcTicks).ToString("D19");

    private static TableEntity ToEntity(string tenantId, AuditEntry e, string? key = null) => new(tenantId, $"{Inverted(e.At)}~{key ?? Guid.NewGuid().ToString("N")}")
    {
        ["At"] = e.At,
        ["Action"] = e.Action,
        ["KeyId"] = e.KeyId,
        ["Role"] = e.Role,
        ["RequestId"] = e.RequestId,
        ["ProfileId"] = e.ProfileId,
        ["Detail"] = e.Detail,
    };

    private static AuditEntry ToEntry(TableEntity e) => new(
        e.GetDateTimeOffset("At") ?? default, e.GetString("Action") ?? "", e.GetString("KeyId") ?? "", e.GetString("Role") ?? "",
        e.GetString("RequestId") ?? "", e.GetString("ProfileId"), e.GetString("Detail"));
}
