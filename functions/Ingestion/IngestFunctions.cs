using Azure.Storage.Queues.Models;
using Microsoft.Azure.Functions.Worker;
using Microsoft.DurableTask.Client;
using Siyu.Functions.Hosting;
using Siyu.Functions.Operations;

namespace Siyu.Functions.Ingestion;

/// <summary>The ingest queues, one function per partition: events accepted by the API or a WeChat push, onto profiles.</summary>
public sealed class IngestFunctions(QueueFunctionRunner runner, IngestProcessor processor, QueueNames names, DurableAccess durable)
{
    [Function("ProcessIngest0")]
    public Task Ingest0([QueueTrigger("%Storage:Prefix%-ingest-0", Connection = QueueConnection.Name)] QueueMessage message, [DurableClient] DurableTaskClient client) =>
        Run(client, 0, message);

    [Function("ProcessIngest1")]
    public Task Ingest1([QueueTrigger("%Storage:Prefix%-ingest-1", Connection = QueueConnection.Name)] QueueMessage message, [DurableClient] DurableTaskClient client) =>
        Run(client, 1, message);

    [Function("ProcessIngest2")]
    public Task Ingest2([QueueTrigger("%Storage:Prefix%-ingest-2", Connection = QueueConnection.Name)] QueueMessage message, [DurableClient] DurableTaskClient client) =>
        Run(client, 2, message);

    [Function("ProcessIngest3")]
    public Task Ingest3([QueueTrigger("%Storage:Prefix%-ingest-3", Connection = QueueConnection.Name)] QueueMessage message, [DurableClient] DurableTaskClient client) =>
        Run(client, 3, message);

    // Events merge profiles (each merge has its orchestration) and enter journeys (which file timers and may ring the
    // journey clock): the task hub's client goes to DurableAccess first.
    private Task Run(DurableTaskClient client, int partition, QueueMessage message)
    {
        durable.Use(client);
        return runner.RunAsync(processor, names.Ingest[partition], message);
    }
}
