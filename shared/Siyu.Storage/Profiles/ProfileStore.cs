using System.Text.Json;
using System.Text.Json.Nodes;
using Azure;
using Azure.Data.Tables;
using Siyu.Core.Consent;
using Siyu.Core.Events;
using Siyu.Core.Profiles;
using Siyu.Core.Segments;
using Siyu.Core.Storage;
using Siyu.Storage.Tables;

namespace Siyu.Storage.Profiles;

/// <summary>An event as stored in a profile's history.</summary>
public sealed record StoredEvent(
    string MessageId, string Type, string Name, DateTimeOffset Timestamp, DateTimeOffset ReceivedAt, string Source,
    JsonObject? Properties, JsonObject? Traits, IReadOnlyList<string> Identities);

/// <summary>A consent decision as recorded in the ledger, with when we recorded it.</summary>
public sealed record ConsentRecord(
    string Id, string Purpose, string Channel, string? Scope, string Status, string Source, string? Evidence,
    DateTimeOffset OccurredAt, DateTimeOffset RecordedAt);

/// <summary>One change of a person's tags.</summary>
public sealed record TagHistoryEntry(string Tag, string Action, string By, DateTimeOffset At, string? Reason);

/// <summary>What became of <see cref="ProfileStore.UpdateAsync"/>.</summary>
public enum ProfileUpdate { Written, Unchanged, Missing, Busy }

/// <summary>
/// Profiles and their event history, one partition per (tenant, bucket). A profile's own row and all its event rows
/// share a partition, so a profile and the events folded into it are committed in one transaction; and many
/// profiles of the same bucket share a transaction too, which is what makes ingestion fast.
/// Row keys: <c>{profileId}</c> for the profile, <c>{profileId}~e~{dedupeKey}</c> for each event (segment entries and
/// exits included), <c>{profileId}~c~{decisionId}</c> for each consent decision (the append-only consent ledger), and
/// <c>{profileId}~t~…</c> for the tag history.
/// </summary>
public sealed class ProfileStore(StorageTables tables)
{
    public TableClient Table => tables.Profiles;

    public static string Partition(string tenantId, string profileId) =>
        StorageTables.BucketPartition(tenantId, Ids.ProfileBucket(profileId));

    public static string EventRowKey(string profileId, string dedupeKey) => $"{profileId}~e~{KeyEncoding.Escape(dedupeKey)}";

    public static string LedgerRowKey(string profileId, string decisionId) => $"{profileId}~c~{KeyEncoding.Escape(decisionId)}";

    public async Task<(ProfileState State, ETag ETag)?> ReadAsync(string tenantId, string profileId, CancellationToken ct = default)
    {
        if (!Ids.IsProfileId(profileId)) return null;
        var row = await tables.Profiles.GetEntityIfExistsAsync<TableEntity>(Partition(tenantId, profileId), profileId, cancellationToken: ct);
        return row.HasValue ? (FromEntity(row.Value!), row.Value!.ETag) : null;
    }

    /// <summary>A page of a profile's events, in storage order (by dedupe key), with a continuation token.</summary>
    public async Task<(IReadOnlyList<StoredEvent> Events, string? Continuation)> ReadEventsAsync(
        string tenantId, string profileId, int pageSize, string? continuation, CancellationToken ct = default)
    {
        var from = $"{profileId}~e~";
        var to = $"{profileId}~f";
        var pk = Partition(tenantId, profileId);
        var pages = tables.Profiles.QueryAsync<TableEntity>(
            e => e.PartitionKey == pk && e.RowKey.CompareTo(from) >= 0 && e.RowKey.CompareTo(to) < 0,
            maxPerPage: pageSize, cancellationToken: ct).AsPages(continuation, pageSize);
        await foreach (var page in pages)
            return (page.Values.Select(ToStoredEvent).ToList(), page.ContinuationToken);
        return ([], null);
    }

    /// <summary>
    /// Writes a profile row that does not exist yet; false when it does (someone wrote it first, which is as good).
    /// </summary>
    public async Task<bool> AddIfAbsentAsync(string tenantId, ProfileState state, CancellationToken ct = default)
    {
        try
        {
            await tables.Profiles.AddEntityAsync(ToEntity(tenantId, state), ct);
            return true;
        }
        catch (RequestFailedException e) when (e.Status == 409) { return false; }
    }

    /// <summary>Aliases are followed at most this far; a longer chain is a fault, not a person.</summary>
    public const int MaxAliasHops = 8;

    /// <summary>
    /// The live profile an id names: the profile itself, or, when it was merged into another, the profile it was
    /// merged into (following aliases). Null when there is none.
    /// </summary>
    public async Task<(ProfileState State, ETag ETag)?> ResolveAsync(string tenantId, string profileId, CancellationToken ct = default)
    {
        for (var hop = 0; hop <= MaxAliasHops; hop++)
        {
            if (await ReadAsync(tenantId, profileId, ct) is not { } stored) return null;
            if (stored.State.MergedInto is not { } next) return stored;
            profileId = next;
        }
        throw new InvalidDataException($"profile {profileId}: alias chain longer than {MaxAliasHops}");
    }

    /// <summary>
    /// Reads, changes and writes one profile row under its ETag; when someone else wrote it meanwhile (an event folded
    /// in), reads again and reapplies the change, so no concurrent change is lost. <paramref name="change"/> returns
    /// false when there is nothing to write. <paramref name="beforeWrite"/> runs once, before the first write (an audit
    /// entry, say: a change that cannot be audited is not made). <paramref name="rowsWith"/> gives rows of the same
    /// profile to add in the same transaction (history of the change). An id that was merged into another profile is
    /// followed to that profile unless <paramref name="followAliases"/> is false.
    /// </summary>
    public async Task<(ProfileUpdate Result, ProfileState? State)> UpdateAsync(string tenantId, string profileId, Func<ProfileState, bool> change,
        Func<Task>? beforeWrite = null, int maxAttempts = 10, CancellationToken ct = default,
        Func<ProfileState, IReadOnlyList<TableEntity>>? rowsWith = null, bool followAliases = true)
    {
        var audited = false;
        for (var attempt = 0; attempt < maxAttempts; attempt++)
        {
            var stored = followAliases ? await ResolveAsync(tenantId, profileId, ct) : await ReadAsync(tenantId, profileId, ct);
            if (stored is null) return (ProfileUpdate.Missing, null);
            if (!change(stored.Value.State)) return (ProfileUpdate.Unchanged, stored.Value.State);
            if (!audited && beforeWrite is not null) await beforeWrite();
            audited = true;
            var entity = ToEntity(tenantId, stored.Value.State);
            var rows = rowsWith?.Invoke(stored.Value.State) ?? [];
            try
            {
                if (rows.Count == 0) await tables.Profiles.UpdateEntityAsync(entity, stored.Value.ETag, TableUpdateMode.Replace, ct);
                else
                    await tables.Profiles.SubmitTransactionAsync(
                        rows.Select(r => new TableTransactionAction(TableTransactionActionType.UpsertReplace, r))
                            .Prepend(new TableTransactionAction(TableTransactionActionType.UpdateReplace, entity, stored.Value.ETag)), ct);
                return (ProfileUpdate.Written, stored.Value.State);
            }
            catch (RequestFailedException e) when (e.Status is 412 or 404) { }
        }
        return (ProfileUpdate.Busy, null);
    }

    /// <summary>
    /// Copies every row of one profile but its own (events, consent ledger, tag history) to another profile, rewriting
    /// the profile id in the row key: a merge moving a person's history. Idempotent (upserts); returns the source keys.
    /// </summary>
    public async Task<IReadOnlyList<string>> CopyHistoryAsync(string tenantId, string fromProfileId, string toProfileId, CancellationToken ct = default)
    {
        var copied = new List<string>();
        var batch = new List<TableTransactionAction>();
        var to = Partition(tenantId, toProfileId);
        await foreach (var row in ReadAllRowsAsync(tenantId, fromProfileId, ct: ct))
        {
            if (row.RowKey == fromProfileId) continue;
            var copy = new TableEntity(to, toProfileId + row.RowKey[fromProfileId.Length..]);
            foreach (var (key, value) in row)
                if (key is not ("PartitionKey" or "RowKey" or "Timestamp" or "odata.etag")) copy[key] = value;
            batch.Add(new TableTransactionAction(TableTransactionActionType.UpsertReplace, copy));
            copied.Add(row.RowKey);
            if (batch.Count == 100)
            {
                await tables.Profiles.SubmitTransactionAsync(batch, ct);
                batch.Clear();
            }
        }
        if (batch.Count > 0) await tables.Profiles.SubmitTransactionAsync(batch, ct);
        return copied;
    }

    /// <summary>The consent ledger of a profile, oldest decision first.</summary>
    public async Task<IReadOnlyList<ConsentRecord>> ReadConsentHistoryAsync(string tenantId, string profileId, CancellationToken ct = default)
    {
        var list = new List<ConsentRecord>();
        if (!Ids.IsProfileId(profileId)) return list;
        await foreach (var row in RangeAsync(tenantId, $"{profileId}~c~", $"{profileId}~d", null, ct))
            list.Add(ToConsentRecord(row));
        return list.OrderBy(r => r.OccurredAt).ThenBy(r => r.Id, StringComparer.Ordinal).ToList();
    }

    /// <summary>Every row of one profile (the profile, its events and its consent ledger), optionally only some columns.</summary>
    public IAsyncEnumerable<TableEntity> ReadAllRowsAsync(string tenantId, string profileId, IEnumerable<string>? select = null, CancellationToken ct = default) =>
        Ids.IsProfileId(profileId) ? RangeAsync(tenantId, profileId, profileId + "~~", select, ct) : AsyncEnumerable.Empty<TableEntity>();

    private IAsyncEnumerable<TableEntity> RangeAsync(string tenantId, string from, string to, IEnumerable<string>? select, CancellationToken ct)
    {
        var pk = Partition(tenantId, from[..Ids.ProfileIdLength]);
        return tables.Profiles.QueryAsync<TableEntity>(
            TableClient.CreateQueryFilter($"PartitionKey eq {pk} and RowKey ge {from} and RowKey lt {to}"), select: select, cancellationToken: ct);
    }

    /// <summary>Deletes rows of one partition, a hundred per transaction. Rows already gone are fine.</summary>
    public async Task DeleteRowsAsync(string partition, IReadOnlyCollection<string> rowKeys, CancellationToken ct = default)
    {
        foreach (var chunk in rowKeys.Chunk(100))
        {
            try
            {
                await tables.Profiles.SubmitTransactionAsync(chunk.Select(k =>
                    new TableTransactionAction(TableTransactionActionType.Delete, new TableEntity(partition, k), ETag.All)), ct);
            }
            catch (RequestFailedException e) when (e.Status == 404)
            {
                // Some are gone already (a resumed erase, a purge racing another): delete the rest one by one.
                foreach (var key in chunk)
                {
                    try { await tables.Profiles.DeleteEntityAsync(partition, key, ETag.All, ct); }
                    catch (RequestFailedException one) when (one.Status == 404) { }
                }
            }
        }
    }

    /// <summary>Which of these event row keys already exist in the partition: the dedupe check after a conflict.</summary>
    public async Task<HashSet<string>> ExistingRowKeysAsync(string partition, IReadOnlyCollection<string> rowKeys, CancellationToken ct = default)
    {
        var found = new HashSet<string>(StringComparer.Ordinal);
        foreach (var chunk in rowKeys.Chunk(20))
        {
            var filter = $"PartitionKey eq '{Q(partition)}' and (" + string.Join(" or ", chunk.Select(k => $"RowKey eq '{Q(k)}'")) + ")";
            await foreach (var row in tables.Profiles.QueryAsync<TableEntity>(filter, select: ["RowKey"], cancellationToken: ct))
                found.Add(row.RowKey);
        }
        return found;
    }

    private static string Q(string s) => s.Replace("'", "''");

    public static TableEntity ToEntity(string tenantId, ProfileState state)
    {
        var entity = new TableEntity(Partition(tenantId, state.ProfileId), state.ProfileId)
        {
            // An alias (a profile merged into another) is not a person: scans for people skip it.
            ["Kind"] = state.MergedInto is null ? "profile" : "alias",
            ["CreatedAt"] = state.CreatedAt,
            ["LastSeen"] = state.LastSeen,
            ["LastReceived"] = state.LastReceived ?? state.CreatedAt,
            ["EventCount"] = state.EventCount,
        };
        EntityJson.Write(entity, "Doc", state);
        return entity;
    }

    public static ProfileState FromEntity(TableEntity entity) =>
        EntityJson.Read<ProfileState>(entity, "Doc") ?? throw new InvalidDataException($"profile row {entity.RowKey} has no document");

    public static TableEntity ToEventEntity(string tenantId, string profileId, IncomingEvent e)
    {
        var entity = new TableEntity(Partition(tenantId, profileId), EventRowKey(profileId, e.DedupeKey()))
        {
            ["Kind"] = "event",
            ["MessageId"] = e.MessageId,
            ["Type"] = e.Type.ToString().ToLowerInvariant(),
            ["Name"] = e.Name,
            // Not "Timestamp": that name is the table's own last-modified time, and a value written to it is ignored.
            ["OccurredAt"] = e.Timestamp,
            ["ReceivedAt"] = e.ReceivedAt,
            ["Source"] = e.Source,
            ["Identities"] = string.Join(' ', e.Identities.Select(i => i.Key)),
        };
        if (e.Properties is not null) entity["Properties"] = EventJson.Text(e.Properties);
        if (e.Traits is not null) entity["Traits"] = EventJson.Text(e.Traits);
        return entity;
    }

    /// <summary>Tag history: <c>{profileId}~t~{newest first}~{tag}</c>, who or which rule added or removed it, and when.</summary>
    public static TableEntity ToTagHistoryEntity(string tenantId, string profileId, string tag, bool added, string by, DateTimeOffset at, string? reason = null) =>
        new(Partition(tenantId, profileId), $"{profileId}~t~{DateTimeOffset.MaxValue.UtcTicks - at.UtcTicks:D19}~{KeyEncoding.Escape(tag)}~{(added ? "a" : "r")}")
        {
            ["Kind"] = "tag",
            ["Tag"] = tag,
            ["Action"] = added ? "added" : "removed",
            ["By"] = by,
            ["At"] = at,
            ["Reason"] = reason,
        };

    /// <summary>A segment entry or exit, kept in the person's event history like any event (journeys start from it).</summary>
    public static TableEntity ToSegmentEventEntity(string tenantId, string profileId, string segmentId, bool entered, DateTimeOffset at) =>
        ToEventEntity(tenantId, profileId, SegmentEvents.Create(segmentId, entered, at));

    /// <summary>A profile's tag history, newest first.</summary>
    public async Task<IReadOnlyList<TagHistoryEntry>> ReadTagHistoryAsync(string tenantId, string profileId, int limit, CancellationToken ct = default)
    {
        var list = new List<TagHistoryEntry>();
        if (!Ids.IsProfileId(profileId)) return list;
        await foreach (var row in RangeAsync(tenantId, $"{profileId}~t~", $"{profileId}~u", null, ct))
        {
            list.Add(new TagHistoryEntry(row.GetString("Tag") ?? "", row.GetString("Action") ?? "", row.GetString("By") ?? "",
                row.GetDateTimeOffset("At") ?? default, row.GetString("Reason")));
            if (list.Count == limit) break;
        }
        return list;
    }

    public static TableEntity ToLedgerEntity(string tenantId, string profileId, ConsentDecision d, string messageId, DateTimeOffset recordedAt) =>
        new(Partition(tenantId, profileId), LedgerRowKey(profileId, d.Id))
        {
            ["Kind"] = "consent",
            ["MessageId"] = messageId,
            ["Purpose"] = d.Purpose,
            ["Channel"] = d.Channel,
            ["Scope"] = d.Scope,
            ["Status"] = d.Status.Name(),
            ["Source"] = d.Source,
            ["Evidence"] = d.Evidence,
            ["OccurredAt"] = d.OccurredAt,
            ["RecordedAt"] = recordedAt,
        };

    private static ConsentRecord ToConsentRecord(TableEntity e) => new(
        KeyEncoding.Unescape(e.RowKey[(e.RowKey.IndexOf("~c~", StringComparison.Ordinal) + 3)..]),
        e.GetString("Purpose") ?? "", e.GetString("Channel") ?? "", e.GetString("Scope"), e.GetString("Status") ?? "",
        e.GetString("Source") ?? "", e.GetString("Evidence"), e.GetDateTimeOffset("OccurredAt") ?? default, e.GetDateTimeOffset("RecordedAt") ?? default);

    private static StoredEvent ToStoredEvent(TableEntity e) => new(
        e.GetString("MessageId") ?? "",
        e.GetString("Type") ?? "track",
        e.GetString("Name") ?? "",
        e.GetDateTimeOffset("OccurredAt") ?? default,
        e.GetDateTimeOffset("ReceivedAt") ?? default,
        e.GetString("Source") ?? "",
        ParseObject(e.GetString("Properties")),
        ParseObject(e.GetString("Traits")),
        (e.GetString("Identities") ?? "").Split(' ', StringSplitOptions.RemoveEmptyEntries));

    private static JsonObject? ParseObject(string? json) => json is null ? null : JsonNode.Parse(json)?.AsObject();

    /// <summary>A deep copy, so a cached profile is never changed by a commit that then fails.</summary>
    public static ProfileState Clone(ProfileState state) =>
        JsonSerializer.Deserialize<ProfileState>(JsonSerializer.Serialize(state, EntityJson.Options), EntityJson.Options)!;
}
