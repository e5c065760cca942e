using System.Text.Json;
using System.Text.Json.Nodes;
using Azure;
using Microsoft.Extensions.Options;
using Siyu.Core.Delivery;
using Siyu.Core.Storage;
using Siyu.Functions.Delivery;
using Siyu.Functions.Hosting;
using Siyu.Functions.Journeys;
using Siyu.Storage.Delivery;
using Siyu.Storage.Identities;
using Siyu.Storage.Journeys;
using Siyu.Storage.Queues;
using Siyu.Storage.Segments;

namespace Siyu.Functions.Campaigns;

/// <summary>How far one fan-out part got in one activity: done (no more pages, or the campaign stopped) and the recipients it has targeted in all.</summary>
public sealed record PartProgress(int Part, bool Done, long Targeted);

/// <summary>Where tests stop a fan-out as a crash would. Does nothing in the product.</summary>
public interface ICampaignFaults
{
    /// <summary>After a page is handed on, before the part's checkpoint moves.</summary>
    Task AfterPageAsync(string campaignId, int part, CancellationToken ct);
}

public sealed class NoCampaignFaults : ICampaignFaults
{
    public Task AfterPageAsync(string campaignId, int part, CancellationToken ct) => Task.CompletedTask;
}

/// <summary>
/// Fans a campaign out. A segment is handed on one profile bucket per part, an uploaded list one chunk per part, a page
/// at a time. A message campaign counts the page and keeps it at the part's checkpoint, queues it for delivery (the
/// delivery worker writes each person's row once, when it decides), then lets it go. A journey campaign gives each
/// recipient a row (in their own partition, with the campaign's counters: an entry, or a place in the control group),
/// enters them, then moves the checkpoint on. A part stopped anywhere resumes at its checkpoint, handing a kept page
/// on again or finding rows already written, so every recipient is targeted, counted and sent to once. A cancel stops
/// it at the next page. The campaign's orchestration (<see cref="CampaignOrchestration"/>) calls a part again until it is done.
/// </summary>
public sealed class CampaignFanOut(
    CampaignStore campaigns, MembershipStore members, IdentityStore identities, DeliveryStore deliveries, DeliveryQueue deliveryQueue,
    JourneyCatalog journeys, JourneyStore journeyStore, JourneyEntries entries, ICampaignFaults faults, TimeProvider clock)
{
    public const int PageSize = 500;
    /// <summary>A part hands the rest of its work to a fresh message after this long, so no message runs for minutes.</summary>
    public static readonly TimeSpan Slice = TimeSpan.FromSeconds(20);

    /// <summary>
    /// Works one part for up to <see cref="Slice"/>, from its checkpoint. On a cancelled campaign only a page counted
    /// before the stop is handed on (to be recorded as cancelled: what was targeted is always settled).
    /// </summary>
    public async Task<PartProgress> RunPartAsync(string tenantId, string campaignId, int part, CancellationToken ct)
    {
        var campaign = await campaigns.GetAsync(tenantId, campaignId, ct);
        if (campaign is null) return new PartProgress(part, true, 0);
        var checkpoint = await campaigns.GetPartAsync(campaign.TenantId, campaign.Id, part, ct);
        if (campaign.Status == CampaignStatus.Cancelled)
        {
            checkpoint = await HandOnPendingAsync(campaign, checkpoint, ct);
            return new PartProgress(part, true, checkpoint.Targeted);
        }
        checkpoint = await RunPartAsync(campaign, checkpoint, ct);
        return new PartProgress(part, checkpoint.Done, checkpoint.Targeted);
    }

    private async Task<FanOutPart> RunPartAsync(StoredCampaign campaign, FanOutPart checkpoint, CancellationToken ct)
    {
        var part = checkpoint.Part;
        var until = clock.GetUtcNow() + Slice;
        var journey = await JourneyAsync(campaign, ct);
        checkpoint = await HandOnPendingAsync(campaign, checkpoint, ct);
        while (!checkpoint.Done)
        {
            var (people, cursor, notFound) = await NextPageAsync(campaign, part, checkpoint, ct);
            if (journey is null)
            {
                // A message campaign writes no rows here: the page is counted and kept at the checkpoint first, then handed
                // on, then let go. A stop in between hands the same page on again; the worker writes each row once.
                checkpoint = checkpoint with { Cursor = cursor, Done = cursor is null, NotFound = notFound, Targeted = checkpoint.Targeted + people.Count, Pending = people };
                await campaigns.SavePartAsync(campaign.TenantId, campaign.Id, checkpoint, ct);
                checkpoint = await HandOnPendingAsync(campaign, checkpoint, ct);
            }
            else
            {
                await EnterAsync(campaign, journey, people, ct);
                await faults.AfterPageAsync(campaign.Id, part, ct);
                checkpoint = checkpoint with { Cursor = cursor, Done = cursor is null, NotFound = notFound };
                await campaigns.SavePartAsync(campaign.TenantId, campaign.Id, checkpoint, ct);
            }
            if (checkpoint.Done) break;

            var fresh = await campaigns.GetAsync(campaign.TenantId, campaign.Id, ct);
            if (fresh is null || fresh.Status == CampaignStatus.Cancelled) return checkpoint with { Done = true };
            if (clock.GetUtcNow() > until) return checkpoint;
        }
        return checkpoint;
    }

    /// <summary>The part's next page of recipients, where the page after it starts (null: none), and the part's not-found count so far.</summary>
    private async Task<(List<string> People, string? Cursor, long NotFound)> NextPageAsync(StoredCampaign campaign, int part, FanOutPart checkpoint, CancellationToken ct)
    {
        if (campaign.Definition.Segment is { } segment)
        {
            var page = (await members.ListBucketAsync(campaign.TenantId, segment, part, checkpoint.Cursor, PageSize, ct)).ToList();
            return (page, page.Count == PageSize ? page[^1] : null, checkpoint.NotFound);
        }
        // A list chunk is one page: looked up whole, so its not-found count is exact however often it is replayed.
        var keys = await campaigns.ListChunkAsync(campaign.TenantId, campaign.Id, part, ct);
        var found = new string?[keys.Count];
        await Parallel.ForEachAsync(Enumerable.Range(0, keys.Count), new ParallelOptions { MaxDegreeOfParallelism = 16, CancellationToken = ct },
            async (i, token) => found[i] = await identities.LookupAsync(campaign.TenantId, keys[i], token));
        return (found.Where(p => p is not null).Select(p => p!).Distinct(StringComparer.Ordinal).ToList(), null, found.Count(p => p is null));
    }

    /// <summary>Hands on a message campaign's counted page, if the checkpoint holds one, and lets it go.</summary>
    private async Task<FanOutPart> HandOnPendingAsync(StoredCampaign campaign, FanOutPart checkpoint, CancellationToken ct)
    {
        if (checkpoint.Pending is not { Count: > 0 } pending || campaign.Definition.Message is not { } message) return checkpoint;
        var sends = new UnrecordedSends(campaign.Id, message.Template, clock.GetUtcNow());
        await deliveryQueue.EnqueueAsync(campaign.TenantId, pending.Select(pid => new DeliveryItem(pid, DeliveryStore.CampaignKey(campaign.Id, pid))), ct: ct, unrecorded: sends);
        await faults.AfterPageAsync(campaign.Id, checkpoint.Part, ct);
        checkpoint = checkpoint with { Pending = null };
        await campaigns.SavePartAsync(campaign.TenantId, campaign.Id, checkpoint, ct);
        return checkpoint;
    }

    /// <summary>The live journey a journey campaign enters its recipients into; null for a message campaign.</summary>
    private async Task<ActiveJourney?> JourneyAsync(StoredCampaign campaign, CancellationToken ct)
    {
        if (campaign.Definition.Journey is not { } id) return null;
        var stored = await journeyStore.GetAsync(campaign.TenantId, id, ct);
        if (stored is null || stored.Status != Siyu.Storage.Journeys.JourneyStatus.Live)
            throw new InvalidOperationException($"journey '{id}' is {(stored is null ? "gone" : stored.Status)}; the campaign waits for it to be live");
        var version = await journeys.VersionAsync(campaign.TenantId, id, stored.Version, ct)
            ?? throw new InvalidOperationException($"journey '{id}' v{stored.Version} cannot be read");
        return new ActiveJourney(stored, version);
    }

    /// <summary>
    /// A journey campaign's page: each recipient gets a row in their own partition (entering the journey, or a place in
    /// the control group) with the campaign's counters, then is entered. Rows already written by an earlier try are found, not counted again.
    /// </summary>
    private async Task EnterAsync(StoredCampaign campaign, ActiveJourney journey, List<string> people, CancellationToken ct)
    {
        var now = clock.GetUtcNow();
        await Parallel.ForEachAsync(people.GroupBy(p => DeliveryStore.Partition(campaign.TenantId, p)), new ParallelOptions { MaxDegreeOfParallelism = 8, CancellationToken = ct },
            async (partition, token) =>
            {
                var rows = partition.Select(pid =>
                {
                    var held = CampaignRules.IsHeldOut(campaign.Id, pid, campaign.Definition.HoldoutPercent);
                    var record = DeliveryRecord.ForCampaign(campaign.TenantId, pid, campaign.Id, template: null, journey.Stored.Id, held, now);
                    return new DeliveryChange(record, new CampaignProgress { Targeted = 1, Holdout = held ? 1 : 0 });
                }).ToList();
                var (conflicted, existing, committed) = await deliveries.CommitAsync(partition.Key, rows, null, now, token);
                if (conflicted.Count > 0) throw new InvalidOperationException($"{conflicted.Count} campaign rows could not be written; the page is handed on again");
                var live = rows.Where(r => r.Record.Status != DeliveryStatus.Holdout).Select(r => r.Record).ToList();
                await EnterPartitionAsync(campaign, journey, partition.Key, live, existing, committed, token);
            });
    }

    /// <summary>Enters a partition's recipients into the journey, then records each one's outcome (entered, or already in) with the counters.</summary>
    private async Task EnterPartitionAsync(StoredCampaign campaign, ActiveJourney journey, string partition, List<DeliveryRecord> live, HashSet<string> existing,
        Dictionary<string, ETag> committed, CancellationToken ct)
    {
        // Rows written by an earlier try are read back: only those still entering are entered now.
        var reread = existing.Count == 0 ? new() : await deliveries.GetManyAsync(campaign.TenantId, live.Where(r => existing.Contains(r.RowKey)).Select(r => (r.ProfileId, r.Key)), ct);
        var entering = live.Select(r => existing.Contains(r.RowKey) ? reread.GetValueOrDefault(r.RowKey) : r with { ETag = committed[r.RowKey] })
            .Where(r => r is { Status: DeliveryStatus.Entering }).Select(r => r!).ToList();
        if (entering.Count == 0) return;
        var context = campaign.Definition.Context is { } c ? (JsonObject)c.DeepClone() : new JsonObject();
        context["campaign"] = campaign.Id;
        var results = await entries.EnterAsync(campaign.TenantId, journey,
            entering.Select(r => new EntryRequest(r.ProfileId, (JsonObject)context.DeepClone(), campaign.Id)).ToList(), "campaign:" + campaign.Id, ct);
        var outcome = results.GroupBy(r => r.ProfileId).ToDictionary(g => g.Key, g => g.First().Outcome, StringComparer.Ordinal);
        if (outcome.Values.Any(o => o == EntryOutcomes.Busy)) throw new InvalidOperationException("some recipients were being entered by someone else; the page is handed on again");
        var changes = entering.Select(r => outcome.GetValueOrDefault(r.ProfileId) == EntryOutcomes.Entered
            ? new DeliveryChange(r with { Status = DeliveryStatus.Entered }, new CampaignProgress { Entered = 1 })
            : new DeliveryChange(r with { Status = DeliveryStatus.AlreadyIn }, new CampaignProgress { AlreadyIn = 1 })).ToList();
        var (conflicted, _, _) = await deliveries.CommitAsync(partition, changes, null, clock.GetUtcNow(), ct);
        if (conflicted.Count > 0) throw new InvalidOperationException("campaign entry rows moved meanwhile; the page is handed on again");
    }
}
