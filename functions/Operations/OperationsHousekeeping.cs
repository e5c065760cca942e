using Microsoft.DurableTask.Client;
using Microsoft.Extensions.Options;
using Siyu.Functions.Campaigns;
using Siyu.Functions.Journeys;
using Siyu.Storage.Delivery;
using Siyu.Storage.Tenants;

namespace Siyu.Functions.Operations;

/// <summary>Configuration section "Operations".</summary>
public sealed class OperationSettings
{
    /// <summary>Completed (or terminated) orchestrations are purged from the task hub this long after they last moved. Failed ones are kept for operators.</summary>
    public int RetentionDays { get; set; } = 30;
}

public sealed record HousekeepingReport(int Purged, int CampaignsStarted);

/// <summary>
/// The orchestrations' hourly housekeeping: purges ended instances past their retention (their history holds ids
/// only, but need not be kept), starts any stored campaign whose orchestration was never started (the process died
/// between storing it and starting it), and makes sure the journey clock runs.
/// </summary>
public sealed class OperationsHousekeeping(DurableAccess durable, TenantStore tenants, CampaignStore campaigns, ClockBell bell,
    IOptions<OperationSettings> settings, TimeProvider clock, ILogger<OperationsHousekeeping> log)
{
    public async Task<HousekeepingReport> RunAsync(CancellationToken ct)
    {
        var purged = await PurgeAsync(ct);
        var started = 0;
        foreach (var tenant in await tenants.ListAsync(ct))
            foreach (var campaign in await campaigns.ListAsync(tenant.Id, ct))
                if (campaign.FinishedAt is null && campaign.Status is CampaignStatus.Scheduled or CampaignStatus.Running or CampaignStatus.Cancelled
                    && await durable.StartOnceAsync(CampaignOrchestration.Name, OperationIds.Campaign(tenant.Id, campaign.Id), new CampaignRef(tenant.Id, campaign.Id), ct))
                    started++;
        await bell.RingAsync(ct);
        log.LogInformation("Operations housekeeping: {Purged} ended orchestrations purged, {Started} campaigns started", purged, started);
        return new HousekeepingReport(purged, started);
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
