using Azure.Storage.Queues;
using Microsoft.Extensions.DependencyInjection;
using Siyu.Azurite;
using Siyu.LocalHost.SampleApp;

namespace Siyu.LocalHost.Tests;

/// <summary>The sample app under the local host, on a free port, its queues under a name of its own in the run's Azurite.</summary>
public sealed class SampleHost : IAsyncLifetime
{
    public LocalFunctionsHost Host { get; private set; } = null!;
    public string Queue { get; } = "sample" + Guid.NewGuid().ToString("N")[..10];
    public string ConnectionString { get; private set; } = "";
    public Journal Journal => Host.Services.GetRequiredService<Journal>();

    public HttpClient Client() => new() { BaseAddress = Host.BaseAddress };

    /// <summary>A queue as a producer sees it (created when missing: the listener may not have made it yet).</summary>
    public QueueClient QueueClient(string name)
    {
        var queue = new QueueClient(ConnectionString, name, new QueueClientOptions(QueueClientOptions.ServiceVersion.V2026_06_06) { MessageEncoding = QueueMessageEncoding.None });
        queue.CreateIfNotExists();
        return queue;
    }

    public async Task InitializeAsync()
    {
        ConnectionString = (await AzuriteProcess.SharedAsync()).ConnectionString;
        Host = await LocalFunctionsHost.StartAsync(typeof(Journal).Assembly, new LocalHostOptions
        {
            Url = "http://127.0.0.1:0",
            Settings = new Dictionary<string, string?>
            {
                ["SampleStorage"] = ConnectionString,
                ["SampleQueue"] = Queue,
                ["SampleHub"] = "hub" + Guid.NewGuid().ToString("N")[..12],
                ["LocalHost:FunctionKey"] = "function-key",
            },
        });
    }

    public async Task DisposeAsync() => await Host.DisposeAsync();
}
