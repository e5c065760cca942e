using Polly;
using Polly.Retry;

namespace Siyu.Channels.Sending;

/// <summary>
/// The retry loop of one SendAsync call, on Polly.Core (8.x): up to MaxAttempts attempts, exponential backoff with
/// jitter from RetryBaseDelay, a provider's Retry-After honoured when it is short enough (MaxRetryAfterWait). Only
/// transient attempts are repeated, and of those only what cannot make a second message: a send without an
/// idempotency key the provider dedupes on is not repeated once the request may have reached the provider.
/// Delays run on the injected TimeProvider.
/// </summary>
internal sealed class SendAttempts
{
    private readonly ResiliencePipeline<Attempt> pipeline;

    public SendAttempts(ChannelOptions options, TimeProvider clock)
    {
        var builder = new ResiliencePipelineBuilder<Attempt> { TimeProvider = clock };
        var retries = options.MaxAttempts - 1;
        if (retries > 0)
        {
            var maxRetryAfterWait = options.MaxRetryAfterWait;
            builder.AddRetry(new RetryStrategyOptions<Attempt>
            {
                MaxRetryAttempts = retries,
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                Delay = options.RetryBaseDelay,
                ShouldHandle = args => ValueTask.FromResult(
                    args.Outcome.Result is { Transient: true } a && !(a.Result.RetryAfter > maxRetryAfterWait)),
                // null falls back to the exponential backoff above.
                DelayGenerator = args => ValueTask.FromResult(args.Outcome.Result.Result?.RetryAfter),
            });
        }
        pipeline = builder.Build();
    }

    public async Task<SendResult> RunAsync<TState>(
        Func<TState, CancellationToken, Task<Attempt>> attempt, TState state, bool idempotent, CancellationToken ct)
    {
        var last = await pipeline.ExecuteAsync(
            static async (s, token) =>
            {
                var a = await s.attempt(s.state, token);
                return s.idempotent || !a.MaybeDelivered ? a : a with { Transient = false };
            },
            (attempt, state, idempotent),
            ct);
        return last.MaybeDelivered && last.Result.Outcome == SendOutcome.Retry ? last.Result with { MaybeDelivered = true } : last.Result;
    }
}
