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
    int Parts, DateTimeOffset CreatedAt, string CreatedBy, DateTimeOffset? StartedAt, DateTimeOffset? CancelledAt, ETag ETag)
{
    /// <summary>When its orchestration found every recipient decided, and the counts it wrote then.</summary>
    public DateTimeOffset? FinishedAt { get; init; }
    public JsonObject? Summary { get; init; }
}

/// <summary>
/// How far one fan-out part (a profile bucket of a segment, or a chunk of an uploaded list) has got: where its next page
/// starts, how many it has targeted and not found, and, for a message campaign, the page it has counted but may not
/// have handed on yet (<see cref="Pending"/>: handed on again after a stop, so no one counted is left out).
/// </summary>
public sealed record FanOutPart(int Part, string? Cursor, bool Done, long NotFound, ETag? ETag, long Targeted = 0, IReadOnlyList<string>? Pending = null);

/// <summary>Campaigns per tenant (PK tenant): the campaign row, its fan-out checkpoints and its uploaded identity list in chunks.</summary>
public sealed class CampaignStore(StorageTables tables)
{
    /// <summary>Identities per stored chunk of an uploaded list, and so per fan-out part: about a hundred per profile partition.</summary>
    public const int ListChunk = 3000;

    public TableClient Table => tables.Campaigns;

    private static string PartKey(string id, int part) => $"{id}~fan~{part:D4}";
    private static string ListKey(string id, int chunk) => $"{id}~list~{chunk:D4}";

    /// <summary>Stores a new campaign with its identity list. False when a campaign with this id exists already.</summary>
    public async Task<bool> CreateAsync(StoredCampaign campaign, CancellationToken ct = default)
    {
        // The list goes first: a campaign row is only ever seen with its whole list behind it.
        if (campaign.Definition.Identities is { } identities)
        {
            var chunks = identities.Chunk(ListChunk).Select((c, i) =>
            {
                var chunk = new TableEntity(campaign.TenantId, ListKey(campaign.Id, i));
                EntityJson.WriteText(chunk, "Identities", string.Join('\n', c)); // split over properties of at most 30,000 characters
                return chunk;
            }).ToList();
            foreach (var batch in chunks.Chunk(4)) // a transaction carries at most 4 MiB
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

    /// <summary>Records that every recipient is decided, with the counts at that moment (written again by a repeated finish, to the same effect).</summary>
    public async Task FinishAsync(string tenantId, string id, JsonObject summary, DateTimeOffset now, CancellationToken ct = default)
    {
        var row = new TableEntity(tenantId, id) { ["FinishedAt"] = now };
        EntityJson.Write(row, "Summary", summary);
        await Table.UpdateEntityAsync(row, ETag.All, TableUpdateMode.Merge, ct);
    }

    public async Task<FanOutPart> GetPartAsync(string tenantId, string id, int part, CancellationToken ct = default)
    {
        var row = await Table.GetEntityIfExistsAsync<TableEntity>(tenantId, PartKey(id, part), cancellationToken: ct);
        return row.HasValue ? ToPart(part, row.Value!) : new FanOutPart(part, null, false, 0, null);
    }

    private static FanOutPart ToPart(int part, TableEntity row) =>
        new(part, row.GetString("Cursor"), row.GetBoolean("Done") ?? false, row.GetInt64("NotFound") ?? 0, row.ETag, row.GetInt64("Targeted") ?? 0,
            EntityJson.ReadText(row, "Pending") is { Length: > 0 } pending ? pending.Split('\n') : null);

    public async Task<List<FanOutPart>> PartsAsync(string tenantId, string id, CancellationToken ct = default)
    {
        var parts = new List<FanOutPart>();
        var filter = TableClient.CreateQueryFilter($"PartitionKey eq {tenantId} and RowKey ge {id + "~fan~"} and RowKey lt {id + "~fan~~"}");
        await foreach (var row in Table.QueryAsync<TableEntity>(filter, cancellationToken: ct))
            parts.Add(ToPart(int.Parse(row.RowKey[(row.RowKey.LastIndexOf('~') + 1)..], System.Globalization.CultureInfo.InvariantCulture), row));
        return parts;
    }

    /// <summary>
    /// Records how far a part got: after the page it covers is handed on, or, for a message campaign, before, with the
    /// page itself as <see cref="FanOutPart.Pending"/> (a page of ids, split over properties as long pages need).
    /// </summary>
    public Task SavePartAsync(string tenantId, string id, FanOutPart part, CancellationToken ct = default)
    {
        var row = new TableEntity(tenantId, PartKey(id, part.Part))
        {
            ["Cursor"] = part.Cursor,
            ["Done"] = part.Done,
            ["NotFound"] = part.NotFound,
            ["Targeted"] = part.Targeted,
        };
        if (part.Pending is { Count: > 0 } pending) EntityJson.WriteText(row, "Pending", string.Join('\n', pending));
        return Table.UpsertEntityAsync(row, TableUpdateMode.Replace, ct);
    }

    public async Task<IReadOnlyList<string>> ListChunkAsync(string tenantId, string id, int chunk, CancellationToken ct = default)
    {
        var row = await Table.GetEntityIfExistsAsync<TableEntity>(tenantId, ListKey(id, chunk), cancellationToken: ct);
        return row.HasValue && EntityJson.ReadText(row.Value!, "Identities") is { Length: > 0 } text ? text.Split('\n') : [];
    }

    private static StoredCampaign ToCampaign(TableEntity row)
    {
        var doc = JsonNode.Parse(EntityJson.ReadText(row, "Doc") ?? "{}")!.AsObject();
        var parseDoc = (JsonObject)doc.DeepClone();
        // The stored document keeps the list's size, not the list: parse it as a list of that many placeholders' worth.
        if (parseDoc["audience"] is JsonObject a && a["identities"] is JsonValue) a["identities"] = new JsonArray(JsonValue.Create("userId:list"));
        var errors = new List<(string, string)>();
        var definition = CampaignRules.Parse(parseDoc, errors)
            ?? throw new InvalidDataException($"campaign {row.RowKey} does not read back: {string.Join("; ", errors)}");
        // An uploaded list reads back empty: its identities are in the list chunks, one fan-out part each.
        if (definition.Identities is not null) definition = definition with { Identities = [] };
        return new StoredCampaign(row.PartitionKey, row.RowKey, definition, doc, row.GetString("RequestHash") ?? "", row.GetString("Status") ?? CampaignStatus.Running,
            row.GetInt32("Parts") ?? 0, row.GetDateTimeOffset("CreatedAt") ?? default, row.GetString("CreatedBy") ?? "",
            row.GetDateTimeOffset("StartedAt"), row.GetDateTimeOffset("CancelledAt"), row.ETag)
        {
            FinishedAt = row.GetDateTimeOffset("FinishedAt"),
            Summary = EntityJson.ReadText(row, "Summary") is { } summary ? JsonNode.Parse(summary) as JsonObject : null,
        };
    }
}
