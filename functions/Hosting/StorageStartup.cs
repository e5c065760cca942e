using Siyu.Storage.Queues;
using Siyu.Storage.Tables;

namespace Siyu.Functions.Hosting;

/// <summary>Creates the tables and queues before the app serves or listens. Waits for storage to come up.</summary>
public sealed class StorageStartup(StorageTables tables, IQueueService queues, QueueNames names, ILogger<StorageStartup> log) : IHostedService
{
    public async Task StartAsync(CancellationToken ct)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                await tables.EnsureCreatedAsync(ct);
                foreach (var queue in names.All) await queues.Queue(queue).CreateIfNotExistsAsync(ct);
                return;
            }
            catch (Exception e) when (attempt < 30 && e is not OperationCanceledException)
            {
                log.LogWarning("Storage is not reachable yet ({Message}); retrying", e.Message);
                await Task.Delay(TimeSpan.FromSeconds(1), ct);
            }
        }
    }

    public Task StopAsync(CancellationToken ct) => Task.CompletedTask;
}
