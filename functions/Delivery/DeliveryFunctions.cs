using Azure.Storage.Queues.Models;
using Microsoft.Azure.Functions.Worker;
using Siyu.Functions.Hosting;

namespace Siyu.Functions.Delivery;

/// <summary>The delivery queues, one per partition (a person's sends always go to the same one): decide, send, record.</summary>
public sealed class DeliveryFunctions(QueueFunctionRunner runner, DeliveryWorker worker, QueueNames names)
{
    [Function("ProcessDeliveries0")]
    public Task Deliveries0([QueueTrigger("%Storage:Prefix%-deliver-0", Connection = QueueConnection.Name)] QueueMessage message) => runner.RunDeliveryAsync(worker, names.Deliveries[0], message);

    [Function("ProcessDeliveries1")]
    public Task Deliveries1([QueueTrigger("%Storage:Prefix%-deliver-1", Connection = QueueConnection.Name)] QueueMessage message) => runner.RunDeliveryAsync(worker, names.Deliveries[1], message);

    [Function("ProcessDeliveries2")]
    public Task Deliveries2([QueueTrigger("%Storage:Prefix%-deliver-2", Connection = QueueConnection.Name)] QueueMessage message) => runner.RunDeliveryAsync(worker, names.Deliveries[2], message);

    [Function("ProcessDeliveries3")]
    public Task Deliveries3([QueueTrigger("%Storage:Prefix%-deliver-3", Connection = QueueConnection.Name)] QueueMessage message) => runner.RunDeliveryAsync(worker, names.Deliveries[3], message);
}
