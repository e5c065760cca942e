using System.Text.Json.Nodes;
using Microsoft.Azure.Functions.Worker;
using Microsoft.DurableTask;
using Microsoft.DurableTask.Client;
using Microsoft.Extensions.Options;
using Siyu.Functions.Delivery;
using Siyu.Functions.Operations;
using Siyu.Storage.Delivery;

namespace Siyu.Functions.Campaigns;

/// <summary>A campaign, by reference (all an orchestration keeps of it); <see cref="Trace"/>: the starting request's W3C traceparent, when it was traced.</summary>
public sealed record CampaignRef(string Tenant, string Campaign, string? Trace = null);

/// <summary>One fan-out part of a campaign.</summary>
public sealed record CampaignPart(string Tenant, string Campaign, int Part, string? Trace = null);

/// <summary>The wait before a campaign starts: <see cref="Stopped"/> when it was cancelled or is gone, else seconds to wait (0: start now).</summary>
public sealed record CampaignWait(bool Stopped, double Seconds);

/// <summary>Every recipient decided or not, and how many are still pending.</summary>
public sealed record CampaignSettlement(bool Done, long Pending);

/// <summary>What an operator sees of a running campaign's orchestration (its custom status): counts and the last checkpoint, no recipients.</summary>
public sealed record CampaignCheckpoint(string Phase, int Parts, int PartsDone, long Targeted, DateTime At);

/// <summary>
/// One orchestration per campaign (instance <see cref="OperationIds.Campaign"/>): it waits for <c>startAt</c> on
/// durable timers, fans the audience out a part at a time (each call of a part works a slice of pages from its
/// checkpoint), reports progress as its custom status, stops fanning out on <c>cancel</c>, and completes once every
/// recipient is decided, writing the campaign's summary. Sending stays with the delivery worker.
/// </summary>
public static class CampaignOrchestration
{
    public const string Name = "RunCampaign";
    public const string CancelEvent = "cancel";
    /// <summary>Settlement is looked at this often at first, then less often up to <see cref="SettleLookMax"/>.</summary>
    private static readonly TimeSpan SettleLook = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan SettleLookMax = TimeSpan.FromMinutes(1);
    /// <summary>Looks at settlement per generation of the instance before it continues as new (keeps its history short).</summary>
    private const int LooksPerGeneration = 60;
    private const int MaxStartHops = 1000;

    [Function(Name)]
    public static async Task<string> Run([OrchestrationTrigger] TaskOrchestrationContext context)
    {
        var campaign = context.GetInput<CampaignRef>()!;
        var cancelled = context.WaitForExternalEvent<bool>(CancelEvent);

        // The start time: hops of at most the start look, each followed by a fresh look at the campaign's own clock
        // (a start is at most 90 days away, so a few hops of the default week; the bound only keeps history finite).
        for (var hop = 0; hop < MaxStartHops; hop++)
        {
            var wait = await context.CallActivityAsync<CampaignWait>(nameof(CampaignActivities.CampaignStartsIn), campaign, Steps.Retried);
            if (wait.Stopped || wait.Seconds <= 0) break;
            context.SetCustomStatus(new CampaignCheckpoint("scheduled", 0, 0, 0, context.CurrentUtcDateTime));
            using var timerCancel = new CancellationTokenSource();
            var timer = context.CreateTimer(context.CurrentUtcDateTime.AddSeconds(wait.Seconds), timerCancel.Token);
            if (await Task.WhenAny(timer, cancelled) == cancelled)
            {
                timerCancel.Cancel();
                break;
            }
        }

        var parts = await context.CallActivityAsync<int>(nameof(CampaignActivities.CampaignBegin), campaign, Steps.Retried);
        var progress = Enumerable.Range(0, parts).Select(p => new PartProgress(p, false, 0)).ToArray();
        // Fan-out: every part not yet done works one slice per round, all parts at once.
        while (progress.Any(p => !p.Done))
        {
            var round = progress.Where(p => !p.Done)
                .Select(p => context.CallActivityAsync<PartProgress>(nameof(CampaignActivities.CampaignFanOutPart),
                    new CampaignPart(campaign.Tenant, campaign.Campaign, p.Part, campaign.Trace), Steps.Retried))
                .ToList();
            foreach (var result in await Task.WhenAll(round)) progress[result.Part] = result;
            context.SetCustomStatus(new CampaignCheckpoint(cancelled.IsCompleted ? "cancelling" : "fanning-out", parts, progress.Count(p => p.Done),
                progress.Sum(p => p.Targeted), context.CurrentUtcDateTime));
        }

        // Every recipient decided: delivery settles what the fan-out handed on (cancelled ones too).
        var look = SettleLook;
        for (var looks = 0; ; looks++)
        {
            var settled = await context.CallActivityAsync<CampaignSettlement>(nameof(CampaignActivities.CampaignSettle), campaign, Steps.Retried);
            if (settled.Done) break;
            if (looks == LooksPerGeneration)
            {
                // Fan-out is over; a fresh generation goes on looking (begin and parts are idempotent and return at once).
                context.ContinueAsNew(campaign, preserveUnprocessedEvents: true);
                return "settling";
            }
            context.SetCustomStatus(new CampaignCheckpoint("settling", parts, parts, progress.Sum(p => p.Targeted), context.CurrentUtcDateTime));
            await context.CreateTimer(look, CancellationToken.None);
            look = look * 2 > SettleLookMax ? SettleLookMax : look * 2;
        }
        await context.CallActivityAsync(nameof(CampaignActivities.CampaignFinish), campaign, Steps.Retried);
        context.SetCustomStatus(new CampaignCheckpoint("done", parts, parts, progress.Sum(p => p.Targeted), context.CurrentUtcDateTime));
        return "done";
    }
}

/// <summary>The campaign orchestration's steps: each reads the campaign afresh and is safe to run again.</summary>
public sealed class CampaignActivities(CampaignStore campaigns, DeliveryStore deliveries, CampaignFanOut fanOut, DurableAccess durable, IOptions<DeliverySettings> settings,
    TimeProvider clock, ILogger<CampaignActivities> log)
{
    [Function(nameof(CampaignStartsIn))]
    public async Task<CampaignWait> CampaignStartsIn([ActivityTrigger] CampaignRef c, CancellationToken ct)
    {
        var campaign = await campaigns.GetAsync(c.Tenant, c.Campaign, ct);
        if (campaign is null || campaign.Status == CampaignStatus.Cancelled) return new CampaignWait(true, 0);
        if (campaign.Definition.StartAt is not { } at) return new CampaignWait(false, 0);
        var left = at - clock.GetUtcNow();
        var look = settings.Value.CampaignStartLook > TimeSpan.Zero ? settings.Value.CampaignStartLook : TimeSpan.FromDays(7);
        return new CampaignWait(false, Math.Max(0, (left < look ? left : look).TotalSeconds));
    }

    /// <summary>Moves a scheduled campaign to running; its fan-out's part count, 0 when it was cancelled or is gone (the parts then only settle what they counted).</summary>
    [Function(nameof(CampaignBegin))]
    public async Task<int> CampaignBegin([ActivityTrigger] CampaignRef c, CancellationToken ct)
    {
        for (var attempt = 0; attempt < 10; attempt++)
        {
            var campaign = await campaigns.GetAsync(c.Tenant, c.Campaign, ct);
            if (campaign is null) return 0;
            // A cancelled campaign still has every part looked at once: a page counted before the stop is handed on.
            if (campaign.Status != CampaignStatus.Scheduled) return campaign.Parts;
            if (await campaigns.SetStatusAsync(campaign, CampaignStatus.Running, clock.GetUtcNow(), ct)) return campaign.Parts;
        }
        throw new InvalidOperationException($"campaign {c.Campaign} kept changing while it was starting");
    }

    /// <summary>A part's slice. Journey entries file timers, which may ring the journey clock: the task hub's client goes to DurableAccess first.</summary>
    [Function(nameof(CampaignFanOutPart))]
    public async Task<PartProgress> CampaignFanOutPart([ActivityTrigger] CampaignPart p, [DurableClient] DurableTaskClient client, CancellationToken ct)
    {
        durable.Use(client);
        // The part's sends are stamped with this span, so a campaign is one trace from its request to the provider calls.
        using var span = Hosting.Telemetry.Step("campaign fan-out", p.Trace);
        span?.SetTag("siyu.campaign", p.Campaign);
        span?.SetTag("siyu.part", p.Part);
        return await fanOut.RunPartAsync(p.Tenant, p.Campaign, p.Part, ct);
    }

    [Function(nameof(CampaignSettle))]
    public async Task<CampaignSettlement> CampaignSettle([ActivityTrigger] CampaignRef c, CancellationToken ct)
    {
        if (await campaigns.GetAsync(c.Tenant, c.Campaign, ct) is not { } campaign) return new CampaignSettlement(true, 0);
        var view = await CampaignEndpoints.ViewAsync(campaign, campaigns, deliveries, ct);
        return new CampaignSettlement(view.Done, view.Progress.Pending);
    }

    /// <summary>Writes the campaign's summary: its counts when the last recipient was decided.</summary>
    [Function(nameof(CampaignFinish))]
    public async Task CampaignFinish([ActivityTrigger] CampaignRef c, CancellationToken ct)
    {
        if (await campaigns.GetAsync(c.Tenant, c.Campaign, ct) is not { } campaign) return;
        var view = await CampaignEndpoints.ViewAsync(campaign, campaigns, deliveries, ct);
        var summary = System.Text.Json.JsonSerializer.SerializeToNode(view.Progress, System.Text.Json.JsonSerializerOptions.Web)!.AsObject();
        summary["status"] = view.Status;
        await campaigns.FinishAsync(c.Tenant, c.Campaign, summary, clock.GetUtcNow(), ct);
        log.LogInformation("Campaign {Campaign} of tenant {Tenant} finished: {Status}", c.Campaign, c.Tenant, view.Status);
    }
}
