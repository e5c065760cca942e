using Azure.Storage.Queues.Models;
using Microsoft.Azure.Functions.Worker;
using Siyu.Functions.Campaigns;
using Siyu.Functions.Merges;
using Siyu.Functions.Privacy;
using Siyu.Functions.Segments;
using Siyu.Functions.Tags;

namespace Siyu.Functions.Hosting;

/// <summary>The connection the queue triggers use: a connection string (Azurite), or <c>SiyuStorage__queueServiceUri</c> with a managed identity.</summary>
public static class QueueConnection
{
    public const string Name = "SiyuStorage";
}

/// <summary>
/// The single-queue work of the other concerns (erasures, merges, the audience sweep, bulk tagging, campaign fan-out)
/// and the schedules that start some of it.
/// </summary>
public sealed class WorkFunctions(QueueFunctionRunner runner, QueueNames names, Erasure erasure, ProfileMerger merger, AudienceSweep sweep,
    BulkTagging tagging, CampaignFanOut fanOut, RetentionPurge purge)
{
    [Function("ProcessErasures")]
    public Task Erasures([QueueTrigger("%Storage:Prefix%-erase", Connection = QueueConnection.Name)] QueueMessage message) =>
        runner.RunAsync(erasure, names.Erase, message);

    [Function("ProcessMerges")]
    public Task Merges([QueueTrigger("%Storage:Prefix%-merge", Connection = QueueConnection.Name)] QueueMessage message) =>
        runner.RunAsync(merger, names.Merge, message);

    [Function("ProcessSweep")]
    public Task Sweep([QueueTrigger("%Storage:Prefix%-sweep", Connection = QueueConnection.Name)] QueueMessage message) =>
        runner.RunAsync(sweep, names.Sweep, message);

    [Function("ProcessBulkTags")]
    public Task BulkTags([QueueTrigger("%Storage:Prefix%-bulk-tag", Connection = QueueConnection.Name)] QueueMessage message) =>
        runner.RunAsync(tagging, names.BulkTag, message);

    [Function("ProcessCampaigns")]
    public Task Campaigns([QueueTrigger("%Storage:Prefix%-campaigns", Connection = QueueConnection.Name)] QueueMessage message) =>
        runner.RunAsync(fanOut, names.Campaigns, message);

    /// <summary>Hourly: every tenant's segments and traits are swept (a message per tenant and profile partition).</summary>
    [Function("AudienceSweep")]
    public async Task AudienceSweep([TimerTrigger("0 0 * * * *")] TimerInfo timer, CancellationToken ct) => await sweep.RequestAllAsync(ct);

    /// <summary>Hourly: retention erases what is past its period, resumes stalled erasures and clears expired WeChat nonces.</summary>
    [Function("RetentionPurge")]
    public async Task Retention([TimerTrigger("0 30 * * * *")] TimerInfo timer, CancellationToken ct) => await purge.RunAsync(ct);
}
