using Siyu.Storage.Caching;

namespace Siyu.Storage.Tests.Caching;

public sealed class BoundedCacheTests
{
    [Fact]
    public async Task Concurrent_misses_of_one_key_share_one_load()
    {
        var cache = new BoundedCache<string, int>(100, TimeProvider.System, TimeSpan.FromMinutes(1));
        var loads = 0;
        var gate = new TaskCompletionSource();
        async Task<int> Load(string _)
        {
            Interlocked.Increment(ref loads);
            await gate.Task;
            return 42;
        }

        var readers = Enumerable.Range(0, 50).Select(_ => Task.Run(() => cache.GetOrAddAsync("halt", Load))).ToList();
        await Task.Delay(100);
        gate.SetResult();
        var values = await Task.WhenAll(readers);

        Assert.All(values, v => Assert.Equal(42, v));
        Assert.Equal(1, loads);
        Assert.True(cache.TryGet("halt", out var cached));
        Assert.Equal(42, cached);
    }

    [Fact]
    public async Task A_value_loaded_across_a_remove_is_returned_but_not_kept()
    {
        var cache = new BoundedCache<string, string>(100, TimeProvider.System, TimeSpan.FromMinutes(1));
        var gate = new TaskCompletionSource();
        var loading = cache.GetOrAddAsync("campaign", async _ => { await gate.Task; return "running"; });
        cache.Remove("campaign"); // a cancel happened while the old state was being read
        gate.SetResult();

        Assert.Equal("running", await loading);
        Assert.False(cache.TryGet("campaign", out _));
        Assert.Equal("cancelled", await cache.GetOrAddAsync("campaign", _ => Task.FromResult("cancelled")));
    }

    [Fact]
    public async Task A_failed_load_is_not_cached_and_the_next_reader_loads_again()
    {
        var cache = new BoundedCache<string, int>(100, TimeProvider.System);
        await Assert.ThrowsAsync<InvalidOperationException>(() => cache.GetOrAddAsync("k", _ => Task.FromException<int>(new InvalidOperationException("storage down"))));
        Assert.Equal(7, await cache.GetOrAddAsync("k", _ => Task.FromResult(7)));
    }
}
