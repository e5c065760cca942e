using System.Text.Json;
using System.Text.Json.Nodes;
using Azure;
using Azure.Data.Tables;
using Microsoft.Extensions.Logging;
using Siyu.Core.Audience;
using Siyu.Core.Segments;
using Siyu.Core.Tags;
using Siyu.Core.Traits;
using Siyu.Storage.Caching;
using Siyu.Storage.Tables;

namespace Siyu.Storage.Audience;

/// <summary>A segment as stored: its rule as the marketer wrote it.</summary>
public sealed record StoredSegment(string Id, string Name, string? Description, JsonNode Rule, DateTimeOffset CreatedAt, DateTimeOffset UpdatedAt);

/// <summary>A tag rule as stored.</summary>
public sealed record StoredTagRule(string Id, JsonNode Rule, DateTimeOffset UpdatedAt);

/// <summary>
/// A tenant's segments, tag rules and trait thresholds, in the definitions table next to its tags. Compiled once
/// and cached for <see cref="CacheFor"/>: a change reaches other instances within that time (at once on this one), and
/// the sweep that follows every segment change catches up whatever they evaluated meanwhile.
/// </summary>
public sealed class AudienceStore(StorageTables tables, TimeProvider clock, ILogger<AudienceStore> log)
{
    public static readonly TimeSpan CacheFor = TimeSpan.FromSeconds(30);
    private const string SegmentPrefix = "segment~";
    private const string TagRulePrefix = "tagrule~";
    private const string TraitsRow = "traits";
    private readonly BoundedCache<string, AudienceDefinitions> _cache = new(10_000, clock, CacheFor);

    public Task<AudienceDefinitions> GetAsync(string tenantId, CancellationToken ct = default) => _cache.GetOrAddAsync(tenantId, _ => LoadAsync(tenantId, ct));

    /// <summary>The definitions as stored now, bypassing the cache (the sweep must not work from a stale copy).</summary>
    public async Task<AudienceDefinitions> LoadAsync(string tenantId, CancellationToken ct = default)
    {
        {
            var (segments, rules, traits) = await ReadAllAsync(tenantId, ct);
            var catalog = new StoredCatalog(segments, _ => true); // validated when saved; a later taxonomy change must not drop a segment
            var compiled = new List<SegmentDefinition>();
            foreach (var s in segments)
            {
                var errors = new List<string>();
                if (SegmentRules.Parse(s.Id, s.Rule, catalog, errors) is { } rule) compiled.Add(new SegmentDefinition(s.Id, s.Name, s.Description, rule, s.Rule));
                else log.LogWarning("Segment {Segment} of tenant {Tenant} no longer validates: {Errors}", s.Id, tenantId, string.Join("; ", errors));
            }
            var tagRules = new List<TagRule>();
            foreach (var r in rules)
            {
                var errors = new List<string>();
                if (TagRules.Parse(r.Id, r.Rule, _ => true, errors) is { } rule) tagRules.Add(rule);
                else log.LogWarning("Tag rule {Rule} of tenant {Tenant} no longer validates: {Errors}", r.Id, tenantId, string.Join("; ", errors));
            }
            var definitions = new AudienceDefinitions(compiled, tagRules, traits);
            _cache.Set(tenantId, definitions);
            return definitions;
        }
    }

    public async Task<(List<StoredSegment> Segments, List<StoredTagRule> TagRules, TraitSettings Traits)> ReadAllAsync(string tenantId, CancellationToken ct = default)
    {
        var segments = new List<StoredSegment>();
        var rules = new List<StoredTagRule>();
        var traits = TraitSettings.Default;
        var filter = TableClient.CreateQueryFilter($"PartitionKey eq {tenantId} and RowKey ge {"segment~"} and RowKey lt {"traits~"}");
        await foreach (var row in tables.Definitions.QueryAsync<TableEntity>(filter, cancellationToken: ct))
        {
            if (row.RowKey.StartsWith(SegmentPrefix, StringComparison.Ordinal)) segments.Add(ToSegment(row));
            else if (row.RowKey.StartsWith(TagRulePrefix, StringComparison.Ordinal))
                rules.Add(new StoredTagRule(row.RowKey[TagRulePrefix.Length..], JsonNode.Parse(row.GetString("Rule") ?? "{}")!, row.GetDateTimeOffset("UpdatedAt") ?? default));
            else if (row.RowKey == TraitsRow && row.GetString("Settings") is { } json)
                traits = JsonSerializer.Deserialize<TraitSettings>(json, JsonSerializerOptions.Web) ?? TraitSettings.Default;
        }
        return (segments.OrderBy(s => s.Id, StringComparer.Ordinal).ToList(), rules.OrderBy(r => r.Id, StringComparer.Ordinal).ToList(), traits);
    }

    public async Task<StoredSegment?> GetSegmentAsync(string tenantId, string id, CancellationToken ct = default)
    {
        var row = await tables.Definitions.GetEntityIfExistsAsync<TableEntity>(tenantId, SegmentPrefix + id, cancellationToken: ct);
        return row.HasValue ? ToSegment(row.Value!) : null;
    }

    public async Task PutSegmentAsync(string tenantId, string id, string name, string? description, JsonNode rule, CancellationToken ct = default)
    {
        var now = clock.GetUtcNow();
        var existing = await GetSegmentAsync(tenantId, id, ct);
        await tables.Definitions.UpsertEntityAsync(new TableEntity(tenantId, SegmentPrefix + id)
        {
            ["Name"] = name,
            ["Description"] = description,
            ["Rule"] = rule.ToJsonString(),
            ["CreatedAt"] = existing?.CreatedAt ?? now,
            ["UpdatedAt"] = now,
        }, TableUpdateMode.Replace, ct);
        _cache.Remove(tenantId);
    }

    public Task<bool> DeleteSegmentAsync(string tenantId, string id, CancellationToken ct = default) => DeleteAsync(tenantId, SegmentPrefix + id, ct);

    public async Task PutTagRuleAsync(string tenantId, string id, JsonNode rule, CancellationToken ct = default)
    {
        await tables.Definitions.UpsertEntityAsync(new TableEntity(tenantId, TagRulePrefix + id)
        {
            ["Rule"] = rule.ToJsonString(),
            ["UpdatedAt"] = clock.GetUtcNow(),
        }, TableUpdateMode.Replace, ct);
        _cache.Remove(tenantId);
    }

    public Task<bool> DeleteTagRuleAsync(string tenantId, string id, CancellationToken ct = default) => DeleteAsync(tenantId, TagRulePrefix + id, ct);

    public async Task PutTraitSettingsAsync(string tenantId, TraitSettings settings, CancellationToken ct = default)
    {
        await tables.Definitions.UpsertEntityAsync(new TableEntity(tenantId, TraitsRow)
        {
            ["Settings"] = JsonSerializer.Serialize(settings, JsonSerializerOptions.Web),
            ["UpdatedAt"] = clock.GetUtcNow(),
        }, TableUpdateMode.Replace, ct);
        _cache.Remove(tenantId);
    }

    private async Task<bool> DeleteAsync(string tenantId, string rowKey, CancellationToken ct)
    {
        _cache.Remove(tenantId);
        try
        {
            await tables.Definitions.DeleteEntityAsync(tenantId, rowKey, ETag.All, ct);
            return true;
        }
        catch (RequestFailedException e) when (e.Status == 404) { return false; }
    }

    private static StoredSegment ToSegment(TableEntity row) => new(
        row.RowKey[SegmentPrefix.Length..], row.GetString("Name") ?? "", row.GetString("Description"),
        JsonNode.Parse(row.GetString("Rule") ?? "{}")!, row.GetDateTimeOffset("CreatedAt") ?? default, row.GetDateTimeOffset("UpdatedAt") ?? default);
}

/// <summary>The stored segments as a catalog for validating and compiling a rule that refers to them.</summary>
public sealed class StoredCatalog(IEnumerable<StoredSegment> segments, Func<string, bool> tagExists) : ISegmentCatalog
{
    private readonly Dictionary<string, JsonNode> _rules = segments.ToDictionary(s => s.Id, s => s.Rule, StringComparer.Ordinal);

    public bool TagExists(string tag) => tagExists(tag);

    public JsonNode? RuleOf(string segmentId) => _rules.GetValueOrDefault(segmentId);
}
