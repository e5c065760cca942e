using System.Text.Json.Nodes;
using Azure.Data.Tables;
using Siyu.Core.Delivery;
using Siyu.Storage.Tables;

namespace Siyu.Storage.Delivery;

/// <summary>A template as stored: the document as written and what it parsed to.</summary>
public sealed record StoredTemplate(string Id, MessageTemplate Template, JsonObject Document, DateTimeOffset UpdatedAt);

/// <summary>Message templates per tenant (PK tenant, RK id).</summary>
public sealed class TemplateStore(StorageTables tables)
{
    public TableClient Table => tables.Templates;

    public async Task PutAsync(string tenantId, string id, JsonObject document, DateTimeOffset now, CancellationToken ct = default)
    {
        var row = new TableEntity(tenantId, id) { ["UpdatedAt"] = now };
        EntityJson.Write(row, "Doc", document);
        await Table.UpsertEntityAsync(row, TableUpdateMode.Replace, ct);
    }

    public async Task<StoredTemplate?> GetAsync(string tenantId, string id, CancellationToken ct = default)
    {
        var row = await Table.GetEntityIfExistsAsync<TableEntity>(tenantId, id, cancellationToken: ct);
        return row.HasValue ? ToTemplate(row.Value!) : null;
    }

    public async Task<List<StoredTemplate>> ListAsync(string tenantId, CancellationToken ct = default)
    {
        var list = new List<StoredTemplate>();
        await foreach (var row in Table.QueryAsync<TableEntity>(TableClient.CreateQueryFilter($"PartitionKey eq {tenantId}"), cancellationToken: ct))
            if (ToTemplate(row) is { } t) list.Add(t);
        return list;
    }

    private static StoredTemplate? ToTemplate(TableEntity row)
    {
        var doc = JsonNode.Parse(EntityJson.ReadText(row, "Doc") ?? "{}")!.AsObject();
        var errors = new List<(string, string)>();
        var template = MessageTemplates.Parse(row.RowKey, doc, errors);
        return template is null ? null : new StoredTemplate(row.RowKey, template, doc, row.GetDateTimeOffset("UpdatedAt") ?? default);
    }
}
