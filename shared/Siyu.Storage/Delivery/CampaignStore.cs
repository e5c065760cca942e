using System.Text.Json.Nodes;
using Azure;
using Azure.Data.Tables;
using Siyu.Core.Delivery;
using Siyu.Storage.Tables;

namespace Siyu.Storage.Delivery;

public static class CampaignStatus
{
    public const string Scheduled = "scheduled";
    public const string Running = "running";
    public const string Cancelled = "cancelled";
    /// <summary>Not stored: a running campaign whose fan-out finished and whose every recipient is settled reads as done.</summary>
    public const string Done = "done";
}

/// <summary>A campaign as stored: its definition, the request it came from (for idempotent starts) and where it is.</summary>
public sealed record StoredCampaign(string TenantId, string Id, CampaignDefinition Definition, JsonObject Document, string RequestHash, string Status,
    int Parts, DateTimeOffset CreatedAt, string CreatedBy, DateTimeOffset? StartedAt, DateTimeOffset? CancelledAt, ETag ETag);

/// <summary>How far one fan-out part (a profile bucket of a segment, or a chunk of an uploaded list) has got.</summary>
public sealed record FanOutPart(int Part, string? Cursor, bool Done, long NotFound, ETag? ETag);

/// <summary>Campaigns per tenant (PK tenant): the campaign row, its fan-out checkpoints and its uploaded identity list in chunks.</summary>
public sealed class CampaignStore(StorageTables tables)
{
    public const int ListChunk = 1000;

    public TableClient Table => tables.Campaigns;

    private static string PartKey(string id, int part) => $"{id}~fan~{part:D4}";
    private static string ListKey(string id, int chunk) => $"{id}~list~{chunk:D4}";

    /// <summary>Stores a new campaign with its identity list. False when a campaign with this id exists already.</summary>
    public async Task<bool> CreateAsync(StoredCampaign campaign, CancellationToken ct = default)
    {
        // The list goes first: a campaign row is only ever seen with its whole list behind it.
        if (campaign.Definition.Identities is { } identities)
        {
            var chunks = identities.Chunk(ListChunk).Select((c, i) => new TableEntity(campaign.TenantId, ListKey(campaign.Id, i)) { ["Identities"] = string.Join('\n', c) }).ToList();
            foreach (var batch in chunks.Chunk(20))
                await Table.SubmitTransactionAsync(batch.Select(e => new TableTransactionAction(TableTransactionActionType.UpsertReplace, e)), ct);
        }
        var row = new TableEntity(campaign.TenantId, campaign.Id)
        {
            ["Kind"] = "campaign",
            ["Name"] = campaign.Definition.Name,
            ["RequestHash"] = campaign.RequestHash,
            ["Status"] = campaign.Status,
            ["Parts"] = campaign.Parts,
            ["CreatedAt"] = campaign.CreatedAt,
            ["CreatedBy"] = campaign.CreatedBy,
        };
        var doc = (JsonObject)campaign.Document.DeepClone();
        if (doc["audience"] is JsonObject a && a["identities"] is JsonArray list) a["identities"] = list.Count; // the list lives in its chunks
        EntityJson.Write(row, "Doc", doc);
        try { await Table.AddEntityAsync(row, ct); return true; }
        catch (RequestFailedException e) when (e.Status == 409) { return false; }
    }

    public async Task<StoredCampaign?> GetAsync(string tenantId, string id, CancellationToken ct = default)
    {
        var row = await Table.GetEntityIfExistsAsync<TableEntity>(tenantId, id, cancellationToken: ct);
        return row.HasValue ? ToCampaign(row.Value!) : null;
    }

    public async Task<List<StoredCampaign>> ListAsync(string tenantId, CancellationToken ct = default)
    {
        var list = new List<StoredCampaign>();
        await foreach (var row in Table.QueryAsync<TableEntity>(TableClient.CreateQueryFilter($"PartitionKey eq {tenantId} and Kind eq 'campaign'"), cancellationToken: ct))
            list.Add(ToCampaign(row));
        return list.OrderByDescending(c => c.CreatedAt).ToList();
    }

    /// <summary>Moves a campaign to <paramref name="status"/> under its ETag; false when it changed meanwhile.</summary>
    public async Task<bool> SetStatusAsync(StoredCampaign campaign, string status, DateTimeOffset now, CancellationToken ct = default)
    {
        var row = new TableEntity(campaign.TenantId, campaign.Id) { ["Status"] = status };
        if (status == CampaignStatus.Running) row["StartedAt"] = now;
        if (status == CampaignStatus.Cancelled) row["CancelledAt"] = now;
        try { await Table.UpdateEntityAsync(row, campaign.ETag, TableUpdateMode.Merge, ct); return true; }
        catch (RequestFailedException e) when (e.Status == 412) { return false; }
    }

    public async Task<FanOutPart> GetPartAsync(string tenantId, string id, int part, CancellationToken ct = default)
    {
        var row = await Table.GetEntityIfExistsAsync<TableEntity>(tenantId, PartKey(id, part), cancellationToken: ct);
        return row.HasValue
            ? new FanOutPart(part, row.Value!.GetString("Cursor"), row.Value.GetBoolean("Done") ?? false, row.Value.GetInt64("NotFound") ?? 0, row.Value.ETag)
            : new FanOutPart(part, null, false, 0, null);
    }

    public async Task<List<FanOutPart>> PartsAsync(string tenantId, string id, CancellationToken ct = default)
    {
        var parts = new List<FanOutPart>();
        var filter = TableClient.CreateQueryFilter($"PartitionKey eq {tenantId} and RowKey ge {id + "~fan~"} and RowKey lt {id + "~fan~~"}");
        await foreach (var row in Table.QueryAsync<TableEntity>(filter, cancellationToken: ct))
            parts.Add(new FanOutPart(int.Parse(row.RowKey[(row.RowKey.LastIndexOf('~') + 1)..]), row.GetString("Cursor"), row.GetBoolean("Done") ?? false,
                row.GetInt64("NotFound") ?? 0, row.ETag));
        return parts;
    }

    /// <summary>Records how far a part got. Written after the page it covers is fully handed on, so a replay starts no later than it should.</summary>
    public Task SavePartAsync(string tenantId, string id, FanOutPart part, CancellationToken ct = default) =>
        Table.UpsertEntityAsync(new TableEntity(tenantId, PartKey(id, part.Part))
        {
            ["Cursor"] = part.Cursor,
            ["Done"] = part.Done,
            ["NotFound"] = part.NotFound,
        }, TableUpdateMode.Replace, ct);

    public async Task<IReadOnlyList<string>> ListChunkAsync(string tenantId, string id, int chunk, CancellationToken ct = default)
    {
        var row = await Table.GetEntityIfExistsAsync<TableEntity>(tenantId, ListKey(id, chunk), cancellationToken: ct);
        return row.HasValue && row.Value!.GetString("Identities") is { Length: > 0 } text ? text.Split('\n') : [];
    }

    private static StoredCampaign ToCampaign(TableEntity row)
    {
        var doc = JsonNode.Parse(EntityJson.ReadText(row, "Doc") ?? "{}")!.AsObject();
        var parseDoc = (JsonObject)doc.DeepClone();
        // The stored document keeps the list's size, not the list: parse it as a list of that many placeholders' worth.
        if (parseDoc["audience"] is JsonObject a && a["identities"] is JsonValue) a["identities"] = new JsonArray(JsonValue.Create("userId:list"));
        var errors = new List<(string, string)>();
        var definition = CampaignRules.Parse(parseDoc, DateTimeOffset.MinValue, errors)
            ?? throw new InvalidDataException($"campaign {row.RowKey} does not read back: {string.Join("; ", errors)}");
        // An uploaded list reads back empty: its identities are in the list chunks, one fan-out part each.
        if (definition.Identities is not null) definition = definition with { Identities = [] };
        return new StoredCampaign(row.PartitionKey, row.RowKey, definition, doc, row.GetString("RequestHash") ?? "", row.GetString("Status") ?? CampaignStatus.Running,
            row.GetInt32("Parts") ?? 0, row.GetDateTimeOffset("CreatedAt") ?? default, row.GetString("CreatedBy") ?? "",
            row.GetDateTimeOffset("StartedAt"), row.GetDateTimeOffset("CancelledAt"), row.ETag);
    }
}
