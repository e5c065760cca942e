using Microsoft.DurableTask.Client;
using Microsoft.Extensions.Options;
using Siyu.Functions.Campaigns;
using Siyu.Functions.Journeys;
using Siyu.Functions.Tags;
using Siyu.Storage.Delivery;
using Siyu.Storage.Jobs;
using Siyu.Storage.Journeys;
using Siyu.Storage.Tenants;

namespace Siyu.Functions.Operations;

/// <summary>Configuration section "Operations".</summary>
public sealed class OperationSettings
{
    /// <summary>Completed (or terminated) orchestrations are purged from the task hub this long after they last moved. Failed ones are kept for operators.</summary>
    public int RetentionDays { get; set; } = 30;
}

public sealed record HousekeepingReport(int Purged, int CampaignsStarted, int JourneyVersionsStarted, int TagJobsStarted);

/// <summary>
/// The orchestrations' hourly housekeeping: purges ended instances past their retention (their history holds ids
/// only, but need not be kept), starts any stored campaign whose orchestration was never started (the process died
/// between storing it and starting it), does the same for each bulk tagging job with a chunk left and for each journey's
/// current version (and has the version before it look again, for a publish whose signal was lost), and makes sure the
/// journey clock runs.
/// </summary>
public sealed class OperationsHousekeeping(DurableAccess durable, TenantStore tenants, CampaignStore campaigns, JourneyStore journeys, JourneyVersions versions, TagJobStore tagJobs, ClockBell bell,
    IOptions<OperationSettings> settings, TimeProvider clock, ILogger<OperationsHousekeeping> log)
{
    public async Task<HousekeepingReport> RunAsync(CancellationToken ct)
    {
        var purged = await PurgeAsync(ct);
        var started = 0;
        var versionsStarted = 0;
        var tagJobsStarted = 0;
        foreach (var tenant in await tenants.ListAsync(ct))
        {
            foreach (var campaign in await campaigns.ListAsync(tenant.Id, ct))
                if (campaign.FinishedAt is null && campaign.Status is CampaignStatus.Scheduled or CampaignStatus.Running or CampaignStatus.Cancelled
                    && await durable.StartOnceAsync(CampaignOrchestration.Name, OperationIds.Campaign(tenant.Id, campaign.Id), new CampaignRef(tenant.Id, campaign.Id), ct))
                    started++;
            foreach (var journey in await journeys.ListAsync(tenant.Id, ct))
                if (journey.Version > 0 && await versions.PublishedAsync(tenant.Id, journey.Id, journey.Version, ct))
                    versionsStarted++;
            foreach (var (jobId, chunks) in await tagJobs.ListUnfinishedAsync(tenant.Id, ct))
                if (await durable.StartOnceAsync(BulkTagOrchestration.Name, OperationIds.BulkTag(tenant.Id, jobId), new BulkTagJobRef(tenant.Id, jobId, chunks), ct))
                    tagJobsStarted++;
        }
        await bell.RingAsync(ct);
        log.LogInformation("Operations housekeeping: {Purged} ended orchestrations purged, {Started} campaigns, {TagJobs} tagging jobs and {Versions} journey versions started",
            purged, started, tagJobsStarted, versionsStarted);
        return new HousekeepingReport(purged, started, versionsStarted, tagJobsStarted);
    }

    /// <summary>Purges completed and terminated instances that last moved before the retention cut-off.</summary>
    public async Task<int> PurgeAsync(CancellationToken ct)
    {
        var cutoff = clock.GetUtcNow().AddDays(-settings.Value.RetentionDays);
        var query = new OrchestrationQuery
        {
            CreatedTo = cutoff,
            Statuses = [OrchestrationRuntimeStatus.Completed, OrchestrationRuntimeStatus.Terminated],
            PageSize = 100,
        };
        var old = new List<string>();
        await foreach (var instance in durable.Client.GetAllInstancesAsync(query))
            if (instance.LastUpdatedAt < cutoff) old.Add(instance.InstanceId);
        var purged = 0;
        foreach (var id in old) purged += (await durable.Client.PurgeInstanceAsync(id, cancellation: ct)).PurgedInstanceCount;
        return purged;
    }
}
