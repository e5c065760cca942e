using System.Net;
using System.Net.Http.Headers;

namespace Siyu.Channels.Sending;

/// <summary>
/// One HTTP exchange with a provider under the per-attempt timeout: sends, reads the whole answer, and turns
/// timeouts and network failures into transient attempts. Cancellation of the caller's token still throws.
/// Nothing here logs: WeChat URLs carry the access token.
/// </summary>
internal sealed class ProviderHttp(ChannelOptions options, TimeProvider clock)
{
    public async Task<Attempt> ExchangeAsync(
        HttpClient client, HttpRequestMessage request, Func<ProviderAnswer, Attempt> interpret, CancellationToken ct)
    {
        using var timeout = new CancellationTokenSource(options.Timeout, clock);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(ct, timeout.Token);
        try
        {
            using var response = await client.SendAsync(request, HttpCompletionOption.ResponseContentRead, linked.Token);
            var body = await response.Content.ReadAsByteArrayAsync(linked.Token);
            return interpret(new ProviderAnswer(response.StatusCode, response.Headers, body, clock.GetUtcNow()));
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            return Attempt.Again("timeout", $"No answer within {options.Timeout.TotalSeconds:0.###} s.", maybeDelivered: true);
        }
        catch (HttpRequestException e)
        {
            // A refused connection or an unknown host never carried the request; anything later might have.
            var notSent = e.HttpRequestError is HttpRequestError.ConnectionError or HttpRequestError.NameResolutionError;
            return Attempt.Again("network", e.HttpRequestError.ToString(), maybeDelivered: !notSent);
        }
    }
}

/// <summary>A provider's whole answer to one request.</summary>
internal readonly record struct ProviderAnswer(
    HttpStatusCode Status, HttpResponseHeaders Headers, byte[] Body, DateTimeOffset ReceivedAt)
{
    public int Code => (int)Status;

    public TimeSpan? RetryAfter => Headers.RetryAfter switch
    {
        { Delta: { } delta } => delta,
        { Date: { } date } => date > ReceivedAt ? date - ReceivedAt : TimeSpan.Zero,
        _ => null,
    };
}
