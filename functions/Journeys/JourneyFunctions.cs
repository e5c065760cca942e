using Azure.Storage.Queues.Models;
using Microsoft.Azure.Functions.Worker;
using Microsoft.DurableTask.Client;
using Siyu.Functions.Hosting;
using Siyu.Functions.Operations;

namespace Siyu.Functions.Journeys;

/// <summary>The journey engine's queues (one per partition: a person's runs always go to the same one); its clock is <see cref="JourneyClock"/>.</summary>
public sealed class JourneyFunctions(QueueFunctionRunner runner, JourneyWork work, QueueNames names, DurableAccess durable)
{
    [Function("ProcessJourneys0")]
    public Task Journeys0([QueueTrigger("%Storage:Prefix%-journey-0", Connection = QueueConnection.Name)] QueueMessage message, [DurableClient] DurableTaskClient client) =>
        Run(client, 0, message);

    [Function("ProcessJourneys1")]
    public Task Journeys1([QueueTrigger("%Storage:Prefix%-journey-1", Connection = QueueConnection.Name)] QueueMessage message, [DurableClient] DurableTaskClient client) =>
        Run(client, 1, message);

    [Function("ProcessJourneys2")]
    public Task Journeys2([QueueTrigger("%Storage:Prefix%-journey-2", Connection = QueueConnection.Name)] QueueMessage message, [DurableClient] DurableTaskClient client) =>
        Run(client, 2, message);

    [Function("ProcessJourneys3")]
    public Task Journeys3([QueueTrigger("%Storage:Prefix%-journey-3", Connection = QueueConnection.Name)] QueueMessage message, [DurableClient] DurableTaskClient client) =>
        Run(client, 3, message);

    // Steps file timers, and filing one may ring the journey clock: the task hub's client goes to DurableAccess first.
    private Task Run(DurableTaskClient client, int partition, QueueMessage message)
    {
        durable.Use(client);
        return runner.RunAsync(work, names.Journeys[partition], message);
    }
}
