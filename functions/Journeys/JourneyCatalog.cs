using System.Text.Json.Nodes;
using Siyu.Core.Journeys;
using Siyu.Core.Segments;
using Siyu.Storage.Caching;
using Siyu.Storage.Journeys;

namespace Siyu.Functions.Journeys;

/// <summary>A journey people can be in: its row, and its latest published version compiled.</summary>
public sealed record ActiveJourney(StoredJourney Stored, JourneyDefinition Latest);

/// <summary>
/// Compiled journeys, cached. Published versions never change, so they are kept as long as there is room; the list of
/// a tenant's journeys (status, latest version, events they react to) is cached for <see cref="ListFor"/>, and at once
/// refreshed on this instance when a journey changes here.
/// </summary>
public sealed class JourneyCatalog(JourneyStore store, TimeProvider clock, ILogger<JourneyCatalog> log)
{
    public static readonly TimeSpan ListFor = TimeSpan.FromSeconds(5);
    private readonly BoundedCache<(string, string, int), JourneyDefinition?> _versions = new(10_000, clock);
    private readonly BoundedCache<string, TenantJourneys> _lists = new(10_000, clock, ListFor);

    /// <summary>Published journeys that are not archived.</summary>
    public async Task<IReadOnlyList<ActiveJourney>> ActiveAsync(string tenantId, CancellationToken ct = default) => (await LoadAsync(tenantId, ct)).Journeys;

    public void Invalidate(string tenantId) => _lists.Remove(tenantId);

    /// <summary>The status of a journey as recently known (runs hold while paused, leave once archived).</summary>
    public async Task<string> StatusAsync(string tenantId, string journeyId, CancellationToken ct = default) =>
        (await ActiveAsync(tenantId, ct)).FirstOrDefault(j => j.Stored.Id == journeyId)?.Stored.Status ?? JourneyStatus.Archived;

    /// <summary>
    /// Every event name that some version of a tenant's active journeys reacts to. Runs keep their version, so names
    /// of older versions stay in as long as the journey is active. Asked on every ingest batch: kept with the list.
    /// </summary>
    public async Task<IReadOnlySet<string>> EventNamesAsync(string tenantId, CancellationToken ct = default) => (await LoadAsync(tenantId, ct)).EventNames;

    private Task<TenantJourneys> LoadAsync(string tenantId, CancellationToken ct) =>
        _lists.GetOrAddAsync(tenantId, async _ =>
        {
            var list = new List<ActiveJourney>();
            var names = new HashSet<string>(StringComparer.Ordinal);
            foreach (var j in await store.ListAsync(tenantId, ct))
            {
                if (j.Version == 0 || j.Status == JourneyStatus.Archived) continue;
                for (var v = 1; v <= j.Version; v++)
                    if (await VersionAsync(tenantId, j.Id, v, ct) is { } d)
                    {
                        names.UnionWith(d.EventNames);
                        if (v == j.Version) list.Add(new ActiveJourney(j, d));
                    }
            }
            return new TenantJourneys(list, names);
        });

    private sealed record TenantJourneys(IReadOnlyList<ActiveJourney> Journeys, IReadOnlySet<string> EventNames);

    /// <summary>A published version, compiled; null if it does not exist.</summary>
    public Task<JourneyDefinition?> VersionAsync(string tenantId, string journeyId, int version, CancellationToken ct = default) =>
        _versions.GetOrAddAsync((tenantId, journeyId, version), async _ =>
        {
            var document = await store.GetVersionAsync(tenantId, journeyId, version, ct);
            if (document is null) return null;
            var errors = new List<string>();
            var definition = JourneyParser.Parse(document, Lenient.Instance, errors);
            if (definition is null)
                log.LogError("Journey {Journey} v{Version} of tenant {Tenant} no longer compiles: {Errors}", journeyId, version, tenantId, string.Join("; ", errors));
            return definition;
        });

    /// <summary>
    /// A published version was checked against the tenant's tags and segments when it was published; a segment or tag
    /// removed since must not stop people already on their way (a condition on a missing segment is simply false).
    /// </summary>
    private sealed class Lenient : ISegmentCatalog
    {
        public static readonly Lenient Instance = new();
        public bool TagExists(string tag) => true;
        public JsonNode? RuleOf(string segmentId) => new JsonObject();
    }
}
