using DurableTask.AzureStorage;
using DurableTask.Core;
using Microsoft.DurableTask;
using Microsoft.DurableTask.Client;
using Microsoft.DurableTask.Converters;
using Microsoft.DurableTask.Worker;
using Microsoft.DurableTask.Worker.Shims;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Siyu.LocalHost.Durable;

/// <summary>
/// Orchestration and activity functions on a DurableTask.Core <see cref="TaskHubWorker"/> over
/// <see cref="AzureStorageOrchestrationService"/>, the backend and engine the Durable extension runs them on under the
/// Functions host, through Microsoft.DurableTask's public shims (<see cref="DurableTaskShimFactory"/>): the same code
/// path the extension uses to run an isolated worker's orchestrators. The task hub is host.json's
/// <c>extensions.durableTask.hubName</c> on the storage connection its <c>storageProvider.connectionName</c> names; it
/// needs the blob service too (leases).
/// </summary>
internal sealed class DurableTriggers : IAsyncDisposable
{
    private readonly TaskHubWorker _worker;
    private readonly DataConverter _converter;
    private readonly DurableTaskShimFactory _shims;
    private readonly ILoggerFactory _loggers;
    private readonly CancellationToken _stopping;

    public DurableTaskClient Client { get; }

    private DurableTriggers(TaskHubWorker worker, DurableTaskClient client, DataConverter converter, DurableTaskShimFactory shims, ILoggerFactory loggers,
        CancellationToken stopping)
    {
        _worker = worker;
        Client = client;
        _converter = converter;
        _shims = shims;
        _loggers = loggers;
        _stopping = stopping;
    }

    public static async Task<DurableTriggers> CreateAsync(DurableSettings settings, IConfiguration config, IServiceProvider services,
        ILoggerFactory loggers, CancellationToken stopping)
    {
        var hub = Settings.Resolve(settings.HubName, config);
        var connection = config[settings.ConnectionName] ?? config[$"ConnectionStrings:{settings.ConnectionName}"]
                         ?? throw new InvalidOperationException($"the task hub's connection '{settings.ConnectionName}' is not set");
        var service = new AzureStorageOrchestrationService(new AzureStorageOrchestrationServiceSettings
        {
            TaskHubName = hub,
            StorageAccountClientProvider = new StorageAccountClientProvider(connection),
            PartitionCount = settings.PartitionCount,
            MaxQueuePollingInterval = settings.MaxQueuePollingInterval,
            ControlQueueVisibilityTimeout = settings.ControlQueueVisibilityTimeout,
            WorkItemQueueVisibilityTimeout = settings.WorkItemQueueVisibilityTimeout,
            LoggerFactory = loggers,
        });
        await service.CreateIfNotExistsAsync();

        // The app's own converter when it set one (DurableTaskWorkerOptions), else the SDK's JSON one.
        var converter = (services.GetService(typeof(IOptions<DurableTaskWorkerOptions>)) as IOptions<DurableTaskWorkerOptions>)?.Value.DataConverter
                        ?? JsonDataConverter.Default;
        var shims = new DurableTaskShimFactory(new DurableTaskWorkerOptions { DataConverter = converter }, loggers);
        var client = new TaskHubDurableClient(hub, new TaskHubClient(service, new SdkDataConverter(converter), loggers), service, converter);
        // As the extension runs isolated workers' orchestrations: failures travel as failure details (type, message,
        // stack), which is what a retry policy's HandleFailure and a client's FailureDetails read.
        var worker = new TaskHubWorker(service, loggers) { ErrorPropagationMode = ErrorPropagationMode.UseFailureDetails };
        return new DurableTriggers(worker, client, converter, shims, loggers, stopping);
    }

    public void Add(FunctionInvoker invoker)
    {
        var name = new TaskName(invoker.Function.Name);
        if (invoker.Function.Trigger.Type.Equals("orchestrationTrigger", StringComparison.OrdinalIgnoreCase))
            _worker.AddTaskOrchestrations(new Creator<TaskOrchestration>(name.Name, () => _shims.CreateOrchestration(name, new FunctionOrchestrator(invoker, _converter, _loggers))));
        else
            _worker.AddTaskActivities(new Creator<DurableTask.Core.TaskActivity>(name.Name, () => _shims.CreateActivity(name, new FunctionActivity(invoker, _stopping))));
    }

    public async Task StartAsync() => await _worker.StartAsync();

    public async ValueTask DisposeAsync()
    {
        await _worker.StopAsync(isForced: true);
        _worker.Dispose();
    }

    /// <summary>DurableTask.Core asks for a fresh orchestration or activity object per work item.</summary>
    private sealed class Creator<T> : ObjectCreator<T>
    {
        private readonly Func<T> _create;

        // The worker matches a work item's name and version against these.
        public Creator(string name, Func<T> create)
        {
            Name = name;
            Version = "";
            _create = create;
        }

        public override T Create() => _create();
    }
}
