using Azure.Storage.Queues.Models;
using Microsoft.Azure.Functions.Worker;
using Siyu.Functions.Hosting;

namespace Siyu.Functions.Journeys;

/// <summary>The journey engine's queues (one per partition: a person's runs always go to the same one) and its clock.</summary>
public sealed class JourneyFunctions(QueueFunctionRunner runner, JourneyWork work, TimerSweep timers, QueueNames names)
{
    [Function("ProcessJourneys0")]
    public Task Journeys0([QueueTrigger("%Storage:Prefix%-journey-0", Connection = QueueConnection.Name)] QueueMessage message) => runner.RunAsync(work, names.Journeys[0], message);

    [Function("ProcessJourneys1")]
    public Task Journeys1([QueueTrigger("%Storage:Prefix%-journey-1", Connection = QueueConnection.Name)] QueueMessage message) => runner.RunAsync(work, names.Journeys[1], message);

    [Function("ProcessJourneys2")]
    public Task Journeys2([QueueTrigger("%Storage:Prefix%-journey-2", Connection = QueueConnection.Name)] QueueMessage message) => runner.RunAsync(work, names.Journeys[2], message);

    [Function("ProcessJourneys3")]
    public Task Journeys3([QueueTrigger("%Storage:Prefix%-journey-3", Connection = QueueConnection.Name)] QueueMessage message) => runner.RunAsync(work, names.Journeys[3], message);

    /// <summary>Every second: runs whose timers fell due are handed to the engine; a busy sweep goes on within the tick.</summary>
    [Function("JourneyTimers")]
    public async Task Timers([TimerTrigger("*/1 * * * * *")] TimerInfo timer, CancellationToken ct)
    {
        var until = DateTime.UtcNow.AddSeconds(30);
        while (await timers.RunOnceAsync(ct) > 0 && DateTime.UtcNow < until) { }
    }
}
