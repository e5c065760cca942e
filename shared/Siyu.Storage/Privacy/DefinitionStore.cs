using Azure;
using Azure.Data.Tables;
using Siyu.Core.Privacy;
using Siyu.Core.Storage;
using Siyu.Storage.Caching;
using Siyu.Storage.Tables;

namespace Siyu.Storage.Privacy;

/// <summary>
/// A tenant's data definitions: which attributes are sensitive, under which purpose. Cached for
/// <see cref="CacheFor"/>, so a change reaches other instances within that time (at once on this one).
/// </summary>
public sealed class DefinitionStore(StorageTables tables, TimeProvider clock)
{
    public static readonly TimeSpan CacheFor = TimeSpan.FromSeconds(30);
    private const string AttributePrefix = "attribute~";
    private const string TagPrefix = "tag~";
    private readonly BoundedCache<string, DataDefinitions> _cache = new(10_000, clock, CacheFor);

    public Task<DataDefinitions> GetAsync(string tenantId, CancellationToken ct = default) =>
        _cache.GetOrAddAsync(tenantId, async _ =>
        {
            var sensitive = new List<SensitiveAttribute>();
            var tags = new List<TagDefinition>();
            await foreach (var row in tables.Definitions.QueryAsync<TableEntity>(e => e.PartitionKey == tenantId, cancellationToken: ct))
            {
                if (row.RowKey.StartsWith(AttributePrefix, StringComparison.Ordinal) && row.GetString("Purpose") is { } purpose)
                    sensitive.Add(new SensitiveAttribute(KeyEncoding.Unescape(row.RowKey[AttributePrefix.Length..]), purpose));
                else if (row.RowKey.StartsWith(TagPrefix, StringComparison.Ordinal))
                    tags.Add(new TagDefinition(KeyEncoding.Unescape(row.RowKey[TagPrefix.Length..]), row.GetString("Group"), row.GetString("Description"), row.GetString("Purpose")));
            }
            return new DataDefinitions(sensitive, tags);
        });

    public async Task SetSensitiveAsync(string tenantId, SensitiveAttribute attribute, CancellationToken ct = default)
    {
        await tables.Definitions.UpsertEntityAsync(new TableEntity(tenantId, AttributePrefix + KeyEncoding.Escape(attribute.Name))
        {
            ["Purpose"] = attribute.Purpose,
            ["UpdatedAt"] = clock.GetUtcNow(),
        }, TableUpdateMode.Replace, ct);
        _cache.Remove(tenantId);
    }

    public async Task PutTagAsync(string tenantId, TagDefinition tag, CancellationToken ct = default)
    {
        await tables.Definitions.UpsertEntityAsync(new TableEntity(tenantId, TagPrefix + KeyEncoding.Escape(tag.Name))
        {
            ["Group"] = tag.Group,
            ["Description"] = tag.Description,
            ["Purpose"] = tag.SensitivePurpose,
            ["UpdatedAt"] = clock.GetUtcNow(),
        }, TableUpdateMode.Replace, ct);
        _cache.Remove(tenantId);
    }

    /// <summary>Declares the attribute ordinary again. False if it was not declared sensitive.</summary>
    public async Task<bool> RemoveSensitiveAsync(string tenantId, string name, CancellationToken ct = default)
    {
        _cache.Remove(tenantId);
        try
        {
            await tables.Definitions.DeleteEntityAsync(tenantId, AttributePrefix + KeyEncoding.Escape(name), ETag.All, ct);
            return true;
        }
        catch (RequestFailedException e) when (e.Status == 404) { return false; }
    }
}
