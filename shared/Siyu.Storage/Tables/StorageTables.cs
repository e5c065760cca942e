using Azure.Core;
using Azure.Core.Pipeline;
using Azure.Data.Tables;
using Siyu.Storage.Account;

namespace Siyu.Storage.Tables;

/// <summary>
/// The tables this product keeps, under an optional name prefix (so several environments or test runs can share
/// one storage account). Every partition key begins with the tenant id, so no query can cross tenants by accident.
/// </summary>
public sealed class StorageTables
{
    public TableClient Tenants { get; }
    public TableClient ApiKeys { get; }
    public TableClient WeChatApps { get; }
    /// <summary>The WeChat push replay guard: PK <c>{tenant}~{appId}</c>, RK the nonce; rows expire with the timestamp window.</summary>
    public TableClient WeChatNonces { get; }
    /// <summary>Identity → profile index. PK <c>{tenant}~{bucket}</c>, RK the identity key.</summary>
    public TableClient Identities { get; }
    /// <summary>Profiles and their events. PK <c>{tenant}~{bucket}</c>, RK <c>{profileId}</c> and <c>{profileId}~e~{key}</c>.</summary>
    public TableClient Profiles { get; }
    /// <summary>Erasure receipts: PK tenant, RK profile id. Proof that a person was erased, and the resume point.</summary>
    public TableClient Erasures { get; }
    /// <summary>Salted hashes of erased people's identifiers. PK tenant, RK hash.</summary>
    public TableClient Suppressions { get; }
    /// <summary>Who read or changed personal data. PK tenant, RK newest first.</summary>
    public TableClient Audit { get; }
    /// <summary>A tenant's declarations: sensitive attributes, tags, tag rules, segments, trait settings. PK tenant.</summary>
    public TableClient Definitions { get; }
    /// <summary>Segment membership index: PK <c>{tenant}~{bucket}</c> (the member's profile bucket), RK <c>{segmentId}~{profileId}</c>.</summary>
    public TableClient Members { get; }
    /// <summary>Bulk tagging jobs: PK tenant, RK <c>{jobId}</c> for the job and <c>{jobId}~{chunk}</c> for its chunks.</summary>
    public TableClient Jobs { get; }
    /// <summary>Journeys: PK tenant, RK <c>{journeyId}</c> for the journey (draft, status) and <c>{journeyId}~v{n}</c> per published version.</summary>
    public TableClient Journeys { get; }
    /// <summary>
    /// Per-person journey runs and deliveries: PK <c>{tenant}~{bucket}</c> (the person's profile bucket), RK
    /// <c>{profileId}~j~{journey}~{slot}</c> per run, <c>{profileId}~d~{key}</c> per delivery (a journey's send, a
    /// campaign's message or entry), <c>{profileId}~n</c> for the person's send counts, <c>!stats~{journey}</c> and
    /// <c>!dstats~{owner}</c> for the partition's share of journey and delivery counters.
    /// </summary>
    public TableClient JourneyRuns { get; }
    /// <summary>Journey timers by due hour: PK <c>{yyyyMMddHH}~{shard}</c>, RK <c>{dueTicks}~{tenant}~{run}~{generation}</c>.</summary>
    public TableClient Timers { get; }
    /// <summary>Campaigns: PK tenant, RK <c>{campaignId}</c>, <c>{campaignId}~fan~{part}</c> per fan-out part, <c>{campaignId}~list~{n}</c> per chunk of an uploaded list.</summary>
    public TableClient Campaigns { get; }
    /// <summary>Message templates: PK tenant, RK template id.</summary>
    public TableClient Templates { get; }

    public TableServiceClient Service { get; }
    public IReadOnlyList<TableClient> All { get; }

    /// <param name="policies">Further pipeline policies, run on every request after the app's own (a test stepping in
    /// between two requests, say).</param>
    public StorageTables(StorageAccount account, string prefix = "", IEnumerable<HttpPipelinePolicy>? policies = null)
    {
        var options = new TableClientOptions
        {
            // Listeners and ingestion use one client concurrently: allow many connections to one host. Idle ones are
            // dropped before Azurite's 5 s keep-alive closes them, so a reuse never fails into a retry backoff.
            Transport = new HttpClientTransport(new SocketsHttpHandler
            {
                MaxConnectionsPerServer = 256,
                PooledConnectionLifetime = TimeSpan.FromMinutes(5),
                PooledConnectionIdleTimeout = TimeSpan.FromSeconds(4),
            }),
        };
        options.AddPolicy(StorageRequestMeter.Instance, HttpPipelinePosition.PerCall);
        foreach (var policy in policies ?? []) options.AddPolicy(policy, HttpPipelinePosition.PerCall);
        options.Retry.MaxRetries = 3;
        options.Retry.Delay = TimeSpan.FromMilliseconds(200);
        options.Retry.Mode = RetryMode.Exponential;

        Service = account.Credential is not null
            ? new TableServiceClient(account.TableEndpoint, account.Credential, options)
            : new TableServiceClient(account.TableEndpoint, new TableSharedKeyCredential(account.AccountName!, account.AccountKey!), options);

        Tenants = Service.GetTableClient(prefix + "tenants");
        ApiKeys = Service.GetTableClient(prefix + "apikeys");
        WeChatApps = Service.GetTableClient(prefix + "wechatapps");
        WeChatNonces = Service.GetTableClient(prefix + "wechatnonces");
        Identities = Service.GetTableClient(prefix + "identities");
        Profiles = Service.GetTableClient(prefix + "profiles");
        Erasures = Service.GetTableClient(prefix + "erasures");
        Suppressions = Service.GetTableClient(prefix + "suppressions");
        Audit = Service.GetTableClient(prefix + "audit");
        Definitions = Service.GetTableClient(prefix + "definitions");
        Members = Service.GetTableClient(prefix + "members");
        Jobs = Service.GetTableClient(prefix + "jobs");
        Journeys = Service.GetTableClient(prefix + "journeys");
        JourneyRuns = Service.GetTableClient(prefix + "journeyruns");
        Timers = Service.GetTableClient(prefix + "timers");
        Campaigns = Service.GetTableClient(prefix + "campaigns");
        Templates = Service.GetTableClient(prefix + "templates");
        All = [Tenants, ApiKeys, WeChatApps, WeChatNonces, Identities, Profiles, Erasures, Suppressions, Audit, Definitions, Members, Jobs, Journeys, JourneyRuns, Timers, Campaigns, Templates];
    }

    public async Task EnsureCreatedAsync(CancellationToken ct = default)
    {
        foreach (var table in All) await table.CreateIfNotExistsAsync(ct);
    }

    /// <summary>The partition key of a bucketed, tenant-scoped table.</summary>
    public static string BucketPartition(string tenantId, int bucket) => $"{tenantId}~{bucket:00}";
}
