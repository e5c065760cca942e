using Microsoft.Extensions.Time.Testing;
using Siyu.Channels.Sending;

namespace Siyu.Channels.Tests;

/// <summary>The token bucket on a fake clock: counts of what got through, never wall-clock timing.</summary>
public sealed class RateLimitTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(10);

    [Fact]
    public async Task A_burst_goes_through_at_once_and_the_rest_at_the_configured_rate()
    {
        var clock = new FakeTimeProvider();
        var bucket = new TokenBucket(ratePerSecond: 10, burst: 5, clock);

        var waits = Enumerable.Range(0, 25).Select(_ => bucket.AcquireAsync(default).AsTask()).ToArray();
        Assert.Equal(5, waits.Count(w => w.IsCompletedSuccessfully));

        clock.Advance(TimeSpan.FromMilliseconds(100)); // one more token at 10/s
        await Task.WhenAll(waits[..6]).WaitAsync(Patience);
        Assert.Equal(6, bucket.Granted);
        Assert.All(waits[6..], w => Assert.False(w.IsCompleted));

        clock.Advance(TimeSpan.FromSeconds(1)); // ten more
        await Task.WhenAll(waits[..16]).WaitAsync(Patience);
        Assert.Equal(16, bucket.Granted);
        Assert.All(waits[16..], w => Assert.False(w.IsCompleted));
    }

    [Fact]
    public async Task A_cancelled_waiter_returns_its_token_to_the_bucket()
    {
        var clock = new FakeTimeProvider();
        var bucket = new TokenBucket(ratePerSecond: 1, burst: 1, clock);
        await bucket.AcquireAsync(default);

        using var cancel = new CancellationTokenSource();
        var abandoned = bucket.AcquireAsync(cancel.Token).AsTask(); // reserved the token due at 1 s
        var next = bucket.AcquireAsync(default).AsTask();           // reserved the one due at 2 s
        await cancel.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => abandoned);

        clock.Advance(TimeSpan.FromSeconds(2));
        await next.WaitAsync(Patience);
        // Without the returned token the bucket would be empty now and this caller would wait another second.
        Assert.True(bucket.AcquireAsync(default).IsCompletedSuccessfully);
        Assert.Equal(3, bucket.Granted);
    }

    [Fact]
    public async Task Sends_over_one_app_are_held_to_the_burst_until_the_clock_moves()
    {
        var clock = new FakeTimeProvider();
        await using var h = await Harness.StartAsync(clock, new Dictionary<string, string?>
        {
            ["Channels:RatePerSecond"] = "2",
            ["Channels:Burst"] = "3",
        });

        var sends = Enumerable.Range(0, 5)
            .Select(i => h.Senders.SendAsync(Harness.Template($"d~r~{i}", $"openid-r{i}"), Harness.WeChatAccount, default))
            .ToArray();
        await WhenCountAsync(() => h.Fake.Accepted.Count, 3);
        var limiter = h.Get<SendRateLimiter>();
        Assert.Equal(3, limiter.Granted(ChannelNames.WeChatTemplate, Harness.AppId));

        clock.Advance(TimeSpan.FromSeconds(1)); // two more at 2/s
        var results = await Task.WhenAll(sends).WaitAsync(Patience);

        Assert.All(results, r => Assert.Equal(SendOutcome.Accepted, r.Outcome));
        Assert.Equal(5, limiter.Granted(ChannelNames.WeChatTemplate, Harness.AppId));
        Assert.Equal(0, limiter.Granted(ChannelNames.WeChatTemplate, "another-app"));
    }

    private static async Task WhenCountAsync(Func<int> count, int expected)
    {
        using var patience = new CancellationTokenSource(Patience);
        while (count() < expected) await Task.Delay(10, patience.Token);
        await Task.Delay(100, patience.Token); // give any send the limiter wrongly let through time to arrive
        Assert.Equal(expected, count());
    }
}
