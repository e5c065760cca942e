using System.Diagnostics;
using Azure.Data.Tables;
using Azure.Storage.Queues;
using Siyu.Storage.Queues;

namespace Siyu.Bench;

/// <summary>
/// The raw ceilings of this Azurite on this machine, measured in the same run as the product: what the same storage
/// does with nothing of ours in the way. Every product figure is reported beside one of these, as a ratio.
/// </summary>
public static class RawAzurite
{
    public sealed record Ceilings(double SingleUpsertsPerSecond, double BatchTransactionsPerSecond, double BatchedEntitiesPerSecond, double QueuePutsPerSecond, double PointReadsPerSecond);

    public static async Task<Ceilings> MeasureAsync(string connectionString, TimeSpan duration)
    {
        var service = new TableServiceClient(connectionString);
        var single = service.GetTableClient("rawsingle");
        var batch = service.GetTableClient("rawbatch");
        await single.CreateIfNotExistsAsync();
        await batch.CreateIfNotExistsAsync();
        // The SDK's own client, as the product's adapter drives it (raw text), at a version this Azurite accepts.
        var queue = new QueueClient(connectionString, "rawput", new QueueClientOptions(AzureQueueService.ServiceVersion) { MessageEncoding = QueueMessageEncoding.None });
        await queue.CreateIfNotExistsAsync();

        var singles = await Run(32, duration, async (w, i) =>
            await single.UpsertEntityAsync(new TableEntity($"p{w}", $"r{i}") { ["V"] = i, ["Text"] = "a profile-sized row would be bigger" }));
        var batches = await Run(8, duration, async (w, i) =>
            await batch.SubmitTransactionAsync(Enumerable.Range(0, 100).Select(k =>
                new TableTransactionAction(TableTransactionActionType.UpsertReplace, new TableEntity($"p{w}", $"r{i}-{k}") { ["V"] = k }))));
        var puts = await Run(32, duration, async (_, i) => await queue.SendMessageAsync($"message {i}"));
        // Reads of rows the single-upsert run wrote: the cost of "one read".
        var reads = await Run(32, duration, async (w, i) => await single.GetEntityIfExistsAsync<TableEntity>($"p{w}", $"r{i % 100}"));
        await queue.DeleteIfExistsAsync();
        return new Ceilings(singles, batches, batches * 100, puts, reads);
    }

    /// <summary>Runs <paramref name="workers"/> loops of an operation for a while; answers operations per second.</summary>
    private static async Task<double> Run(int workers, TimeSpan duration, Func<int, int, Task> operation)
    {
        var done = 0;
        var clock = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, workers).Select(w => Task.Run(async () =>
        {
            for (var i = 0; clock.Elapsed < duration; i++)
            {
                await operation(w, i);
                Interlocked.Increment(ref done);
            }
        })));
        return done / clock.Elapsed.TotalSeconds;
    }
}
