using System.Text.Json;
using Azure;
using Azure.Data.Tables;
using Siyu.Core.Analytics;
using Siyu.Core.Delivery;
using Siyu.Core.Storage;
using Siyu.Storage.Tables;

namespace Siyu.Storage.Delivery;

/// <summary>Where a delivery is in its life. Final ones never change again, except sent → delivered/failed by a receipt.</summary>
public static class DeliveryStatus
{
    /// <summary>Recorded by a journey's send step.</summary>
    public const string Requested = "requested";
    /// <summary>Recorded by a campaign's fan-out.</summary>
    public const string Queued = "queued";
    /// <summary>Held by quiet hours or the halt switch, or waiting to be retried: see NotBefore.</summary>
    public const string Deferred = "deferred";
    /// <summary>
    /// Claimed, and handed to the provider (perhaps not answered yet): a retry sends again under the same idempotency
    /// key, unless the send goes at most once (<see cref="DeliveryRecord.AtMostOnce"/>).
    /// </summary>
    public const string Sending = "sending";
    public const string Sent = "sent";
    public const string Delivered = "delivered";
    public const string Failed = "failed";
    public const string Suppressed = "suppressed";
    public const string Cancelled = "cancelled";
    /// <summary>In the campaign's control group: recorded, never sent.</summary>
    public const string Holdout = "holdout";
    /// <summary>A campaign recipient about to enter the campaign's journey.</summary>
    public const string Entering = "entering";
    public const string Entered = "entered";
    public const string AlreadyIn = "alreadyIn";

    public static bool IsFinal(string status) => status is Sent or Delivered or Failed or Suppressed or Cancelled or Holdout or Entered or AlreadyIn;
}

/// <summary>One delivery row: a message to one person (or, for a journey campaign, one person's entry), as stored.</summary>
public sealed record DeliveryRecord
{
    public required string TenantId { get; init; }
    public required string ProfileId { get; init; }
    /// <summary>The delivery's idempotency key, unique in the tenant: the provider's dedupe key too.</summary>
    public required string Key { get; init; }
    /// <summary>"delivery" (a message) or "entry" (a campaign recipient entering a journey).</summary>
    public string Kind { get; init; } = "delivery";
    public string? Journey { get; init; }
    public string? Node { get; init; }
    public string? Campaign { get; init; }
    public string? Channel { get; init; }
    public string? Template { get; init; }
    /// <summary>Template variables as rendered by the journey step; empty for a campaign (it renders at send time).</summary>
    public IReadOnlyDictionary<string, string> Variables { get; init; } = new Dictionary<string, string>();
    public required string Status { get; init; }
    /// <summary>Why it was suppressed, deferred or failed: a stable code (no_consent, quiet_hours, wechat_40037…).</summary>
    public string? Reason { get; init; }
    public string? Detail { get; init; }
    public int Attempts { get; init; }
    /// <summary>
    /// Sent at most once, because its provider does not dedupe (<see cref="SendOnce"/>): claimed in its row before it
    /// goes, and a claim its worker never settled is recorded as an unknown outcome rather than sent again.
    /// </summary>
    public bool AtMostOnce { get; init; }
    public DateTimeOffset? NotBefore { get; init; }
    public string? ProviderMessageId { get; init; }
    public required DateTimeOffset RequestedAt { get; init; }
    public DateTimeOffset? SentAt { get; init; }
    public DateTimeOffset? UpdatedAt { get; init; }
    public ETag ETag { get; init; }

    /// <summary>
    /// A campaign recipient's row: a message to deliver (<paramref name="template"/>; written by the delivery worker when
    /// it is decided), an entry into <paramref name="journey"/> (written by the fan-out), or a place in the control group.
    /// </summary>
    public static DeliveryRecord ForCampaign(string tenantId, string profileId, string campaignId, string? template, string? journey, bool heldOut, DateTimeOffset requestedAt) => new()
    {
        TenantId = tenantId,
        ProfileId = profileId,
        Key = DeliveryStore.CampaignKey(campaignId, profileId),
        Kind = journey is null ? "delivery" : "entry",
        Campaign = campaignId,
        Journey = journey,
        Template = template,
        Status = heldOut ? DeliveryStatus.Holdout : journey is null ? DeliveryStatus.Queued : DeliveryStatus.Entering,
        RequestedAt = requestedAt,
    };

    public string Partition => DeliveryStore.Partition(TenantId, ProfileId);
    public string RowKey => DeliveryStore.RowKey(ProfileId, Key);
    /// <summary>Whose counters it adds to: its campaign, else its journey.</summary>
    public string? Owner => Campaign is not null ? DeliveryStore.CampaignOwner(Campaign) : Journey is not null ? DeliveryStore.JourneyOwner(Journey) : null;
}

/// <summary>A person's send counts as read, with the ETag their next write must match (null: no row yet).</summary>
public sealed record StoredCounts(SendCounts Counts, ETag? ETag);

/// <summary>
/// One write of deliveries: their new states (each under the ETag it was read with, or added), people's send counts,
/// and what it adds to each owner's counters. All of a person's rows and the counters commit in one transaction.
/// </summary>
public sealed record DeliveryChange(DeliveryRecord Record, CampaignProgress? Delta = null);

/// <summary>
/// Delivery rows and their counters in the per-person table (next to journey runs, in the person's partition), so a
/// state change, the person's send counts and the campaign's or journey's counters move together or not at all.
/// </summary>
public sealed class DeliveryStore(StorageTables tables)
{
    public const int MaxActions = 100;
    private const string StatsPrefix = "!dstats~";

    public TableClient Table => tables.JourneyRuns;

    public static string Partition(string tenantId, string profileId) => StorageTables.BucketPartition(tenantId, Ids.ProfileBucket(profileId));
    public static string RowKey(string profileId, string key) => $"{profileId}~d~{key}";
    public static string CountsKey(string profileId) => $"{profileId}~n";
    public static string CampaignOwner(string campaignId) => "c~" + campaignId;
    public static string JourneyOwner(string journeyId) => "j~" + journeyId;
    public static string CampaignKey(string campaignId, string profileId) => $"c~{campaignId}~{profileId}";

    public async Task<Dictionary<string, DeliveryRecord>> GetManyAsync(string tenantId, IEnumerable<(string ProfileId, string Key)> keys, CancellationToken ct = default)
    {
        var found = new Dictionary<string, DeliveryRecord>(StringComparer.Ordinal);
        await Parallel.ForEachAsync(keys.Distinct(), new ParallelOptions { MaxDegreeOfParallelism = 16, CancellationToken = ct }, async (k, token) =>
        {
            var row = await Table.GetEntityIfExistsAsync<TableEntity>(Partition(tenantId, k.ProfileId), RowKey(k.ProfileId, k.Key), cancellationToken: token);
            if (row.HasValue) lock (found) found[row.Value!.RowKey] = ToRecord(tenantId, row.Value);
        });
        return found;
    }

    public async Task<DeliveryRecord?> GetAsync(string tenantId, string profileId, string key, CancellationToken ct = default)
    {
        var row = await Table.GetEntityIfExistsAsync<TableEntity>(Partition(tenantId, profileId), RowKey(profileId, key), cancellationToken: ct);
        return row.HasValue ? ToRecord(tenantId, row.Value!) : null;
    }

    /// <summary>Every delivery of one person, newest request first.</summary>
    public async Task<List<DeliveryRecord>> ForProfileAsync(string tenantId, string profileId, CancellationToken ct = default)
    {
        var list = new List<DeliveryRecord>();
        var filter = TableClient.CreateQueryFilter($"PartitionKey eq {Partition(tenantId, profileId)} and RowKey ge {profileId + "~d~"} and RowKey lt {profileId + "~d~~"}");
        await foreach (var row in Table.QueryAsync<TableEntity>(filter, cancellationToken: ct)) list.Add(ToRecord(tenantId, row));
        return list.OrderByDescending(d => d.RequestedAt).ToList();
    }

    public async Task<Dictionary<string, StoredCounts>> CountsAsync(string tenantId, IEnumerable<string> profileIds, CancellationToken ct = default)
    {
        var found = new Dictionary<string, StoredCounts>(StringComparer.Ordinal);
        await Parallel.ForEachAsync(profileIds.Distinct(), new ParallelOptions { MaxDegreeOfParallelism = 16, CancellationToken = ct }, async (pid, token) =>
        {
            var row = await Table.GetEntityIfExistsAsync<TableEntity>(Partition(tenantId, pid), CountsKey(pid), cancellationToken: token);
            var counts = row.HasValue ? new StoredCounts(EntityJson.Read<SendCounts>(row.Value!, "Doc") ?? new(), row.Value!.ETag) : new StoredCounts(new SendCounts(), null);
            lock (found) found[pid] = counts;
        });
        return found;
    }

    /// <summary>
    /// The counter rows a delivery's change adds to: its owner's total, the owner's time slot (a campaign's minute, a
    /// journey's day), and its channel's day, so results can be read over time. Slots are China Standard Time.
    /// </summary>
    public static IEnumerable<string> CounterKeys(DeliveryRecord d, DateTimeOffset now)
    {
        if (d.Owner is { } o)
        {
            yield return o;
            yield return d.Campaign is not null ? MinuteKey(o, now) : DayKey(o, now);
        }
        if (d.Channel is { } channel) yield return DayKey(ChannelOwner(channel), now);
    }

    public static string ChannelOwner(string channel) => "ch~" + channel;
    public static string DayKey(string owner, DateTimeOffset at) => $"{owner}~d~{TimeSlots.Day(at)}";
    public static string MinuteKey(string owner, DateTimeOffset at) => $"{owner}~m~{TimeSlots.Minute(at)}";

    /// <summary>
    /// An owner's counters per time slot (<c>d</c> days, <c>m</c> minutes) from <paramref name="from"/> to
    /// <paramref name="to"/> (slot names, inclusive), each slot summed over every partition.
    /// </summary>
    public Task<SortedDictionary<string, CampaignProgress>> SeriesAsync(string tenantId, string owner, char slot, string from, string to, CancellationToken ct = default) =>
        CounterRows.SumRangeAsync<CampaignProgress>(Table, tenantId, $"{StatsPrefix}{owner}~{slot}~", from, to, (sum, share) => sum.Add(share), ct);

    /// <summary>An owner's (campaign's or journey's) delivery counters: the sum of every partition's share.</summary>
    public async Task<CampaignProgress> StatsAsync(string tenantId, string owner, CancellationToken ct = default)
    {
        var total = new CampaignProgress();
        // Every bucket at once: under load a read waits behind sends, and a cancel waits for this read.
        await Parallel.ForEachAsync(Enumerable.Range(0, Ids.ProfileBuckets), new ParallelOptions { MaxDegreeOfParallelism = Ids.ProfileBuckets, CancellationToken = ct }, async (bucket, token) =>
        {
            var row = await Table.GetEntityIfExistsAsync<TableEntity>(StorageTables.BucketPartition(tenantId, bucket), StatsPrefix + owner, cancellationToken: token);
            if (row.HasValue && EntityJson.Read<CampaignProgress>(row.Value!, "Doc") is { } share) lock (total) total.Add(share);
        });
        return total;
    }

    /// <summary>
    /// Writes changes of one partition: deliveries (replaced under their ETag, or added when they have none), the send
    /// counts of <paramref name="counts"/>, and the counter deltas. A person's rows always share a transaction. Returns the
    /// profile ids whose rows someone else changed first (nothing of theirs was written; read again and decide again),
    /// for added rows, which already existed, and the new ETag of every delivery row written.
    /// </summary>
    public async Task<(HashSet<string> Conflicted, HashSet<string> Existing, Dictionary<string, ETag> Committed)> CommitAsync(string partition, IReadOnlyList<DeliveryChange> changes,
        IReadOnlyDictionary<string, StoredCounts>? counts, DateTimeOffset now, CancellationToken ct = default)
    {
        var conflicted = new HashSet<string>(StringComparer.Ordinal);
        var existing = new HashSet<string>(StringComparer.Ordinal);
        var committed = new Dictionary<string, ETag>(StringComparer.Ordinal);
        var people = new Queue<IGrouping<string, DeliveryChange>>(changes.GroupBy(c => c.Record.ProfileId));
        var stats = new Dictionary<string, (CampaignProgress Stats, ETag? ETag)>(StringComparer.Ordinal);
        while (people.Count > 0)
        {
            var take = new List<IGrouping<string, DeliveryChange>>();
            var owners = new HashSet<string>(StringComparer.Ordinal);
            var actions = 0;
            while (people.Count > 0)
            {
                var person = people.Peek();
                var newOwners = person.Where(c => c.Delta is { IsEmpty: false }).SelectMany(c => CounterKeys(c.Record, now)).Where(o => !owners.Contains(o)).Distinct().Count();
                var extra = person.Count() + (counts?.ContainsKey(person.Key) == true ? 1 : 0) + newOwners;
                if (take.Count > 0 && actions + extra > MaxActions) break;
                take.Add(people.Dequeue());
                actions += extra;
                foreach (var c in person) if (c.Delta is { IsEmpty: false }) owners.UnionWith(CounterKeys(c.Record, now));
            }

            for (var attempt = 1; take.Count > 0; attempt++)
            {
                // The counter rows (owner, its time slot, the channel's day) are read side by side: they are one round trip's wait, not three.
                var reads = await Task.WhenAll(owners.Where(o => !stats.ContainsKey(o)).Select(async o =>
                    (o, await Table.GetEntityIfExistsAsync<TableEntity>(partition, StatsPrefix + o, cancellationToken: ct))));
                foreach (var (o, row) in reads)
                    stats[o] = row.HasValue ? (EntityJson.Read<CampaignProgress>(row.Value!, "Doc") ?? new(), row.Value!.ETag) : (new CampaignProgress(), null);
                var tx = new List<TableTransactionAction>();
                var whose = new List<string?>();
                foreach (var person in take)
                {
                    foreach (var c in person)
                    {
                        var entity = ToEntity(partition, c.Record, now);
                        tx.Add(c.Record.ETag == default
                            ? new TableTransactionAction(TableTransactionActionType.Add, entity)
                            : new TableTransactionAction(TableTransactionActionType.UpdateReplace, entity, c.Record.ETag));
                        whose.Add(person.Key);
                    }
                    if (counts?.GetValueOrDefault(person.Key) is { } sc)
                    {
                        var entity = new TableEntity(partition, CountsKey(person.Key)) { ["Kind"] = "counts" };
                        EntityJson.Write(entity, "Doc", sc.Counts);
                        tx.Add(sc.ETag is { } e ? new TableTransactionAction(TableTransactionActionType.UpdateReplace, entity, e) : new TableTransactionAction(TableTransactionActionType.Add, entity));
                        whose.Add(person.Key);
                    }
                }
                // Each change's delta, added once to each of its counter rows.
                var deltas = new Dictionary<string, CampaignProgress>(StringComparer.Ordinal);
                foreach (var c in take.SelectMany(p => p).Where(c => c.Delta is { IsEmpty: false }))
                    foreach (var k in CounterKeys(c.Record, now))
                    {
                        if (!deltas.TryGetValue(k, out var sum)) deltas[k] = sum = new CampaignProgress();
                        sum.Add(c.Delta!);
                    }
                var updated = new Dictionary<string, CampaignProgress>(StringComparer.Ordinal);
                foreach (var o in owners)
                {
                    var next = new CampaignProgress();
                    next.Add(stats[o].Stats);
                    if (deltas.TryGetValue(o, out var delta)) next.Add(delta);
                    updated[o] = next;
                    var entity = new TableEntity(partition, StatsPrefix + o) { ["Kind"] = "dstats" };
                    EntityJson.Write(entity, "Doc", next);
                    // Merged under the ETag, as the journey counters are (the document is written whole).
                    tx.Add(stats[o].ETag is { } e ? new TableTransactionAction(TableTransactionActionType.UpdateMerge, entity, e) : new TableTransactionAction(TableTransactionActionType.Add, entity));
                    whose.Add(null);
                }
                try
                {
                    var response = await Table.SubmitTransactionAsync(tx, ct);
                    var first = tx.Count - owners.Count;
                    for (var r = 0; r < first; r++)
                        if (tx[r].Entity.RowKey.Contains("~d~", StringComparison.Ordinal) && response.Value[r].Headers.ETag is { } etag) committed[tx[r].Entity.RowKey] = etag;
                    var k = first;
                    foreach (var o in owners) { stats[o] = (updated[o], response.Value[k].Headers.ETag); k++; }
                    break;
                }
                catch (RequestFailedException e) when (e.Status is 409 or 412 or 404)
                {
                    var index = e is TableTransactionFailedException t ? t.FailedTransactionActionIndex : null;
                    if (index is { } i && i < whose.Count && whose[i] is { } pid)
                    {
                        // An add that found its row already there is a replay: drop that row and keep the rest.
                        var failed = tx[i];
                        var person = take.First(p => p.Key == pid);
                        if (e.Status == 409 && failed.ActionType == TableTransactionActionType.Add && failed.Entity.RowKey != CountsKey(pid))
                        {
                            existing.Add(failed.Entity.RowKey);
                            var rest = person.Where(c => c.Record.RowKey != failed.Entity.RowKey).ToList();
                            take.Remove(person);
                            if (rest.Count > 0) take.Add(rest.GroupBy(c => c.Record.ProfileId).Single());
                        }
                        else
                        {
                            take.Remove(person);
                            conflicted.Add(pid);
                        }
                    }
                    else foreach (var o in owners) stats.Remove(o); // the counters moved under us: read them again
                    if (attempt > 100) throw;
                    owners = take.SelectMany(p => p).Where(c => c.Delta is { IsEmpty: false }).SelectMany(c => CounterKeys(c.Record, now)).ToHashSet(StringComparer.Ordinal);
                }
            }
        }
        return (conflicted, existing, committed);
    }

    public static TableEntity ToEntity(string partition, DeliveryRecord d, DateTimeOffset now)
    {
        var e = new TableEntity(partition, d.RowKey)
        {
            ["Kind"] = d.Kind,
            ["Key"] = d.Key,
            ["Status"] = d.Status,
            ["Attempts"] = d.Attempts,
            ["RequestedAt"] = d.RequestedAt,
            ["UpdatedAt"] = now,
        };
        void Put(string name, object? value) { if (value is not null) e[name] = value; }
        Put("Journey", d.Journey);
        Put("Node", d.Node);
        Put("Campaign", d.Campaign);
        Put("Channel", d.Channel);
        Put("Template", d.Template);
        if (d.Variables.Count > 0) e["Variables"] = JsonSerializer.Serialize(d.Variables);
        Put("Reason", d.Reason);
        Put("Detail", d.Detail is { Length: > 1000 } detail ? detail[..1000] : d.Detail);
        Put("NotBefore", d.NotBefore);
        if (d.AtMostOnce) e["AtMostOnce"] = true;
        Put("ProviderMessageId", d.ProviderMessageId);
        Put("SentAt", d.SentAt);
        return e;
    }

    public static DeliveryRecord ToRecord(string tenantId, TableEntity row) => new()
    {
        TenantId = tenantId,
        ProfileId = row.RowKey[..row.RowKey.IndexOf('~')],
        Key = row.GetString("Key") ?? row.RowKey[(row.RowKey.IndexOf("~d~", StringComparison.Ordinal) + 3)..],
        Kind = row.GetString("Kind") ?? "delivery",
        Journey = row.GetString("Journey"),
        Node = row.GetString("Node"),
        Campaign = row.GetString("Campaign"),
        Channel = row.GetString("Channel"),
        Template = row.GetString("Template"),
        Variables = row.GetString("Variables") is { } v ? JsonSerializer.Deserialize<Dictionary<string, string>>(v) ?? new() : new Dictionary<string, string>(),
        Status = row.GetString("Status") ?? DeliveryStatus.Requested,
        Reason = row.GetString("Reason"),
        Detail = row.GetString("Detail"),
        Attempts = row.GetInt32("Attempts") ?? 0,
        AtMostOnce = row.GetBoolean("AtMostOnce") ?? false,
        NotBefore = row.GetDateTimeOffset("NotBefore"),
        ProviderMessageId = row.GetString("ProviderMessageId"),
        RequestedAt = row.GetDateTimeOffset("RequestedAt") ?? default,
        SentAt = row.GetDateTimeOffset("SentAt"),
        UpdatedAt = row.GetDateTimeOffset("UpdatedAt"),
        ETag = row.ETag,
    };
}
