using Azure.Storage.Queues.Models;
using Microsoft.Azure.Functions.Worker;
using Siyu.Functions.Hosting;

namespace Siyu.Functions.Ingestion;

/// <summary>The ingest queues, one function per partition: events accepted by the API or a WeChat push, onto profiles.</summary>
public sealed class IngestFunctions(QueueFunctionRunner runner, IngestProcessor processor, QueueNames names)
{
    [Function("ProcessIngest0")]
    public Task Ingest0([QueueTrigger("%Storage:Prefix%-ingest-0", Connection = QueueConnection.Name)] QueueMessage message) => runner.RunAsync(processor, names.Ingest[0], message);

    [Function("ProcessIngest1")]
    public Task Ingest1([QueueTrigger("%Storage:Prefix%-ingest-1", Connection = QueueConnection.Name)] QueueMessage message) => runner.RunAsync(processor, names.Ingest[1], message);

    [Function("ProcessIngest2")]
    public Task Ingest2([QueueTrigger("%Storage:Prefix%-ingest-2", Connection = QueueConnection.Name)] QueueMessage message) => runner.RunAsync(processor, names.Ingest[2], message);

    [Function("ProcessIngest3")]
    public Task Ingest3([QueueTrigger("%Storage:Prefix%-ingest-3", Connection = QueueConnection.Name)] QueueMessage message) => runner.RunAsync(processor, names.Ingest[3], message);
}
