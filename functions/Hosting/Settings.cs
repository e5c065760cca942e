namespace Siyu.Functions.Hosting;

/// <summary>Configuration section "Storage". A connection string (Azurite, or an account key), or service URIs with managed identity.</summary>
public sealed class StorageSettings
{
    public string? ConnectionString { get; set; }
    public string? TableServiceUri { get; set; }
    public string? QueueServiceUri { get; set; }
    public string? ManagedIdentityClientId { get; set; }
    /// <summary>
    /// Prefixes every table and queue name, so environments or test runs can share an account. The queue functions'
    /// triggers name their queues <c>%Storage:Prefix%-…</c>, so under the Functions host it is an app setting
    /// (<c>Storage__Prefix</c>) and never empty.
    /// </summary>
    public string Prefix { get; set; } = "siyu";
}

/// <summary>Configuration section "Ingestion".</summary>
public sealed class IngestionSettings
{
    /// <summary>Ingest queues; events are spread over them by a hash of their strongest identity.</summary>
    public int Partitions { get; set; } = 4;
    public int MaxEventsPerRequest { get; set; } = 500;
    public int MaxBodyBytes { get; set; } = 1024 * 1024;
    public TimeSpan MaxFutureSkew { get; set; } = TimeSpan.FromMinutes(10);
    /// <summary>A fresh consent for a person whose erasure is still running is queued again after this long.</summary>
    public TimeSpan ErasureWait { get; set; } = TimeSpan.FromSeconds(30);
}

/// <summary>Configuration section "WeChat".</summary>
public sealed class WeChatSettings
{
    /// <summary>Pushes whose timestamp is further than this from now are refused. Zero turns the check off.</summary>
    public TimeSpan MaxTimestampSkew { get; set; } = TimeSpan.FromMinutes(5);
    public int MaxBodyBytes { get; set; } = 256 * 1024;
}

/// <summary>Configuration section "Operator": the bootstrap key that guards tenant and key administration.</summary>
public sealed class OperatorSettings
{
    public string? BootstrapKey { get; set; }
}

/// <summary>The queue names of this deployment.</summary>
public sealed class QueueNames(StorageSettings storage, IngestionSettings ingestion, int journeyPartitions = 4, int deliveryPartitions = 4)
{
    /// <summary>Queue functions per partitioned queue (<c>ProcessIngest0…3</c> and so on): a partition without one would never be read.</summary>
    public const int PartitionFunctions = 4;

    /// <summary>The names, refusing partition counts that the queue functions do not cover.</summary>
    public static QueueNames Checked(StorageSettings storage, IngestionSettings ingestion, int journeyPartitions, int deliveryPartitions)
    {
        foreach (var (setting, n) in new[] { ("Ingestion:Partitions", ingestion.Partitions), ("Journeys:Partitions", journeyPartitions), ("Delivery:Partitions", deliveryPartitions) })
            if (n is < 1 or > PartitionFunctions)
                throw new InvalidOperationException($"{setting} is {n}: it must be 1 to {PartitionFunctions}, one queue function each");
        return new QueueNames(storage, ingestion, journeyPartitions, deliveryPartitions);
    }

    public IReadOnlyList<string> Ingest { get; } =
        Enumerable.Range(0, ingestion.Partitions).Select(i => Name(storage.Prefix, $"ingest-{i}")).ToList();

    /// <summary>Journey work (due timers, events for runs): a person's runs always go to the same one, by profile bucket.</summary>
    public IReadOnlyList<string> Journeys { get; } =
        Enumerable.Range(0, journeyPartitions).Select(i => Name(storage.Prefix, $"journey-{i}")).ToList();

    /// <summary>Deliveries to decide and send: a person's always go to the same one, by profile bucket.</summary>
    public IReadOnlyList<string> Deliveries { get; } =
        Enumerable.Range(0, deliveryPartitions).Select(i => Name(storage.Prefix, $"deliver-{i}")).ToList();

    /// <summary>
    /// Every queue a handler works from, each with its queue function: the high-volume, batched work. The multi-step
    /// processes (campaigns, erasures, merges, bulk tagging, sweeps, journey versions and the journey clock) are
    /// orchestrations on the Durable task hub instead.
    /// </summary>
    public IEnumerable<string> Work => Ingest.Concat(Journeys).Concat(Deliveries);

    public IEnumerable<string> All => Work.SelectMany(q => new[] { q, PoisonQueue.NameFor(q) });

    private static string Name(string prefix, string name) => prefix.Length == 0
        ? throw new InvalidOperationException("Storage:Prefix is empty: the queue functions listen on %Storage:Prefix%-<queue>")
        : $"{prefix}-{name}";
}
