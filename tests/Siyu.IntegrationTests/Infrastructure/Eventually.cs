namespace Siyu.IntegrationTests.Infrastructure;

/// <summary>Waits for asynchronous processing: polls a check until it holds, or fails with the last observation.</summary>
public static class Eventually
{
    public static async Task<T> Get<T>(Func<Task<T>> read, Func<T, bool> done, TimeSpan? timeout = null, string? what = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(20));
        T last;
        while (true)
        {
            last = await read();
            if (done(last)) return last;
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"timed out waiting for {what ?? "condition"}; last value: {last}");
            await Task.Delay(50);
        }
    }
}
