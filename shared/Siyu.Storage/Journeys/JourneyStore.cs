using System.Text.Json.Nodes;
using Azure;
using Azure.Data.Tables;
using Siyu.Storage.Tables;

namespace Siyu.Storage.Journeys;

public static class JourneyStatus
{
    /// <summary>Saved, never published.</summary>
    public const string Draft = "draft";
    public const string Live = "live";
    /// <summary>Instances hold where they are; no one enters.</summary>
    public const string Paused = "paused";
    /// <summary>For good: no one enters, running instances leave at their next step.</summary>
    public const string Archived = "archived";
}

/// <summary>A journey as stored: its draft, its status and its latest published version.</summary>
public sealed record StoredJourney(string Id, string Name, string Status, int Version, JsonNode? Draft, DateTimeOffset CreatedAt,
    DateTimeOffset UpdatedAt, DateTimeOffset? PublishedAt, ETag ETag);

/// <summary>
/// Journeys in the <c>journeys</c> table, one partition per tenant. A published version is written once and never
/// changed, in the same transaction that moves the journey to it, so a running instance can always find the version
/// it entered with.
/// </summary>
public sealed class JourneyStore(StorageTables tables)
{
    private const string VersionMark = "~v";

    public static string VersionKey(string journeyId, int version) => $"{journeyId}{VersionMark}{version:D6}";

    public async Task<StoredJourney?> GetAsync(string tenantId, string journeyId, CancellationToken ct = default)
    {
        var row = await tables.Journeys.GetEntityIfExistsAsync<TableEntity>(tenantId, journeyId, cancellationToken: ct);
        return row.HasValue ? ToJourney(row.Value!) : null;
    }

    public async Task<List<StoredJourney>> ListAsync(string tenantId, CancellationToken ct = default)
    {
        var list = new List<StoredJourney>();
        await foreach (var row in tables.Journeys.QueryAsync<TableEntity>(TableClient.CreateQueryFilter($"PartitionKey eq {tenantId}"), cancellationToken: ct))
            if (!row.RowKey.Contains(VersionMark, StringComparison.Ordinal)) list.Add(ToJourney(row));
        return list;
    }

    /// <summary>A published version's document, or null.</summary>
    public async Task<JsonNode?> GetVersionAsync(string tenantId, string journeyId, int version, CancellationToken ct = default)
    {
        var row = await tables.Journeys.GetEntityIfExistsAsync<TableEntity>(tenantId, VersionKey(journeyId, version), cancellationToken: ct);
        return row.HasValue && row.Value!.GetString("Definition") is { } json ? JsonNode.Parse(json) : null;
    }

    /// <summary>When a published version's last run ended after it stopped being the live one (null while it still has runs or is current).</summary>
    public async Task<DateTimeOffset?> GetDrainedAtAsync(string tenantId, string journeyId, int version, CancellationToken ct = default)
    {
        var row = await tables.Journeys.GetEntityIfExistsAsync<TableEntity>(tenantId, VersionKey(journeyId, version), ["DrainedAt"], ct);
        return row.HasValue ? row.Value!.GetDateTimeOffset("DrainedAt") : null;
    }

    /// <summary>Records that the version is drained; the first time wins.</summary>
    public async Task MarkDrainedAsync(string tenantId, string journeyId, int version, DateTimeOffset at, CancellationToken ct = default)
    {
        if (await GetDrainedAtAsync(tenantId, journeyId, version, ct) is not null) return;
        try
        {
            await tables.Journeys.UpdateEntityAsync(new TableEntity(tenantId, VersionKey(journeyId, version)) { ["DrainedAt"] = at }, ETag.All, TableUpdateMode.Merge, ct);
        }
        catch (RequestFailedException e) when (e.Status == 404) { }
    }

    /// <summary>Saves a draft; a new journey starts as a draft. False when <paramref name="ifMatch"/> no longer holds.</summary>
    public async Task<bool> SaveDraftAsync(string tenantId, string journeyId, string name, JsonNode draft, StoredJourney? existing, DateTimeOffset now, CancellationToken ct = default)
    {
        var entity = new TableEntity(tenantId, journeyId)
        {
            ["Name"] = name,
            ["Status"] = existing?.Status ?? JourneyStatus.Draft,
            ["Version"] = existing?.Version ?? 0,
            ["Draft"] = draft.ToJsonString(),
            ["CreatedAt"] = existing?.CreatedAt ?? now,
            ["UpdatedAt"] = now,
            ["PublishedAt"] = existing?.PublishedAt,
        };
        try
        {
            if (existing is null) await tables.Journeys.AddEntityAsync(entity, ct);
            else await tables.Journeys.UpdateEntityAsync(entity, existing.ETag, TableUpdateMode.Replace, ct);
            return true;
        }
        catch (RequestFailedException e) when (e.Status is 409 or 412) { return false; }
    }

    /// <summary>
    /// Publishes <paramref name="document"/> as the next version, atomically with the journey row (under its ETag).
    /// A draft becomes live; a paused journey stays paused. False when someone else changed the journey first.
    /// </summary>
    public async Task<int?> PublishAsync(string tenantId, StoredJourney journey, string name, JsonNode document, DateTimeOffset now, CancellationToken ct = default)
    {
        var version = journey.Version + 1;
        var header = new TableEntity(tenantId, journey.Id)
        {
            ["Name"] = name,
            ["Status"] = journey.Status == JourneyStatus.Draft ? JourneyStatus.Live : journey.Status,
            ["Version"] = version,
            ["Draft"] = document.ToJsonString(),
            ["CreatedAt"] = journey.CreatedAt,
            ["UpdatedAt"] = now,
            ["PublishedAt"] = now,
        };
        var versionRow = new TableEntity(tenantId, VersionKey(journey.Id, version))
        {
            ["Definition"] = document.ToJsonString(),
            ["PublishedAt"] = now,
        };
        try
        {
            await tables.Journeys.SubmitTransactionAsync(
            [
                new TableTransactionAction(TableTransactionActionType.UpdateReplace, header, journey.ETag),
                new TableTransactionAction(TableTransactionActionType.Add, versionRow),
            ], ct);
            return version;
        }
        catch (RequestFailedException e) when (e.Status is 409 or 412) { return null; }
    }

    /// <summary>Moves the journey to <paramref name="status"/> under its ETag. False when someone else changed it first.</summary>
    public async Task<bool> SetStatusAsync(string tenantId, StoredJourney journey, string status, DateTimeOffset now, CancellationToken ct = default)
    {
        var entity = new TableEntity(tenantId, journey.Id) { ["Status"] = status, ["UpdatedAt"] = now };
        try
        {
            await tables.Journeys.UpdateEntityAsync(entity, journey.ETag, TableUpdateMode.Merge, ct);
            return true;
        }
        catch (RequestFailedException e) when (e.Status is 404 or 412) { return false; }
    }

    private static StoredJourney ToJourney(TableEntity row) => new(
        row.RowKey,
        row.GetString("Name") ?? row.RowKey,
        row.GetString("Status") ?? JourneyStatus.Draft,
        row.GetInt32("Version") ?? 0,
        row.GetString("Draft") is { } d ? JsonNode.Parse(d) : null,
        row.GetDateTimeOffset("CreatedAt") ?? default,
        row.GetDateTimeOffset("UpdatedAt") ?? default,
        row.GetDateTimeOffset("PublishedAt"),
        row.ETag);
}
