using System.Collections.Concurrent;

namespace Siyu.Channels.Sending;

/// <summary>
/// One token bucket per (channel, appId or tenant): RatePerSecond sustained, Burst at once. Senders wait for a
/// token (cancellable). A small bucket of our own rather than System.Threading.RateLimiting.TokenBucketRateLimiter,
/// because that one reads Stopwatch and runs its own Timer, so neither the app's TimeProvider nor a test's fake
/// clock can drive it.
/// </summary>
internal sealed class SendRateLimiter(ChannelOptions options, TimeProvider clock)
{
    private readonly ConcurrentDictionary<(string Channel, string Key), TokenBucket> buckets = new();

    public ValueTask AcquireAsync(string channel, string key, CancellationToken ct) =>
        Bucket(channel, key).AcquireAsync(ct);

    /// <summary>How many sends the bucket of (channel, key) has let through so far.</summary>
    public long Granted(string channel, string key) => buckets.TryGetValue((channel, key), out var b) ? b.Granted : 0;

    private TokenBucket Bucket(string channel, string key) =>
        buckets.GetOrAdd((channel, key), static (_, s) => new TokenBucket(s.options.RatePerSecond, s.options.Burst, s.clock), (options, clock));
}

/// <summary>
/// A token bucket that hands out reservations: each caller takes a token at once, the balance may go negative, and
/// a caller with a negative balance waits exactly until the bucket has refilled to its place in line. So waiters
/// are served in arrival order at the configured rate without waking each other. A cancelled waiter gives its
/// token back.
/// </summary>
internal sealed class TokenBucket
{
    private readonly Lock gate = new();
    private readonly double ratePerSecond;
    private readonly int burst;
    private readonly TimeProvider clock;
    private double tokens;
    private long refilledAt;
    private long granted;

    public TokenBucket(double ratePerSecond, int burst, TimeProvider clock)
    {
        this.ratePerSecond = ratePerSecond > 0 ? ratePerSecond : throw new ArgumentOutOfRangeException(nameof(ratePerSecond));
        this.burst = Math.Max(1, burst);
        this.clock = clock;
        tokens = this.burst;
        refilledAt = clock.GetTimestamp();
    }

    public long Granted => Interlocked.Read(ref granted);

    public async ValueTask AcquireAsync(CancellationToken ct)
    {
        ct.ThrowIfCancellationRequested();
        TimeSpan wait;
        lock (gate)
        {
            var now = clock.GetTimestamp();
            tokens = Math.Min(burst, tokens + clock.GetElapsedTime(refilledAt, now).TotalSeconds * ratePerSecond);
            refilledAt = now;
            tokens -= 1;
            wait = tokens >= 0 ? TimeSpan.Zero : TimeSpan.FromSeconds(-tokens / ratePerSecond);
        }
        if (wait > TimeSpan.Zero)
        {
            try
            {
                await Task.Delay(wait, clock, ct);
            }
            catch (OperationCanceledException)
            {
                lock (gate) tokens += 1;
                throw;
            }
        }
        Interlocked.Increment(ref granted);
    }
}
