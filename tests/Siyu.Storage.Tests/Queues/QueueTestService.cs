using Siyu.Storage.Queues;

namespace Siyu.Storage.Tests.Queues;

/// <summary>One <see cref="AzureQueueService"/> over the shared Azurite for all queue tests, and fresh queues from it.</summary>
internal static class QueueTestService
{
    private static readonly Lazy<Task<AzureQueueService>> Instance = new(async () =>
        new AzureQueueService(await AzuriteFixture.AccountAsync()));

    public static Task<AzureQueueService> GetAsync() => Instance.Value;

    /// <summary>A new, created queue with a name no other test uses.</summary>
    public static async Task<IMessageQueue> NewQueueAsync()
    {
        var queue = (await GetAsync()).Queue(AzuriteFixture.NewName("q"));
        Assert.True(await queue.CreateIfNotExistsAsync());
        return queue;
    }

    /// <summary>Polls <paramref name="receive"/> until it returns something or <paramref name="within"/> passes.</summary>
    public static async Task<IReadOnlyList<T>> EventuallyAsync<T>(Func<Task<IReadOnlyList<T>>> receive, TimeSpan within)
    {
        var deadline = DateTime.UtcNow + within;
        while (true)
        {
            var got = await receive();
            if (got.Count > 0 || DateTime.UtcNow > deadline) return got;
            await Task.Delay(100);
        }
    }
}
