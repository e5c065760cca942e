using System.Net;
using System.Text.Json.Nodes;
using Siyu.Core.Journeys;
using Siyu.Core.Profiles;
using Siyu.Functions.Audience;
using Siyu.Storage.Profiles;

namespace Siyu.Functions.Journeys;

/// <summary>
/// Carries out a journey's outside effects. Each is safe to repeat under its key: a tag or an attribute that is
/// already so is left alone, and a webhook carries the key as <c>Idempotency-Key</c> so the receiver can drop a repeat.
/// Returns a short note for the run's path.
/// </summary>
public sealed class JourneyEffects(ProfileRefresher refresher, IHttpClientFactory http, TimeProvider clock, ILogger<JourneyEffects> log)
{
    public const string WebhookClient = "journey-webhooks";
    public const int WebhookAttempts = 3;

    public async Task<string?> CarryOutAsync(string tenantId, JourneyInstance run, JourneyEffect effect, CancellationToken ct)
    {
        var now = clock.GetUtcNow();
        var by = $"journey:{run.JourneyId}";
        switch (effect)
        {
            case TagEffect t:
            {
                var (result, _) = await refresher.UpdateAsync(tenantId, run.ProfileId,
                    s => t.Add ? s.Tags.TryAdd(t.Tag, new TagMark(now, by)) : s.Tags.Remove(t.Tag),
                    s => [ProfileStore.ToTagHistoryEntity(tenantId, s.ProfileId, t.Tag, t.Add, by, now)], ct: ct);
                return result == ProfileUpdate.Missing ? "profile gone" : null;
            }
            case SetAttributeEffect a:
            {
                var (result, _) = await refresher.UpdateAsync(tenantId, run.ProfileId, s =>
                {
                    if (JsonNode.DeepEquals(s.Attributes.GetValueOrDefault(a.Attribute), a.Value) && s.Attributes.ContainsKey(a.Attribute)) return false;
                    s.Attributes[a.Attribute] = a.Value?.DeepClone();
                    s.AttributeVersions[a.Attribute] = new AttributeVersion(now, a.Key);
                    return true;
                }, ct: ct);
                return result == ProfileUpdate.Missing ? "profile gone" : null;
            }
            case WebhookEffect w:
                return await PostAsync(w, ct);
            default:
                throw new InvalidOperationException($"no way to carry out {effect.GetType().Name}");
        }
    }

    /// <summary>
    /// POSTs, retrying a few times on 5xx, 408, 429 and network failures. A definite refusal (other 4xx) is not retried.
    /// Either way the run goes on; the outcome is noted on its path.
    /// </summary>
    private async Task<string> PostAsync(WebhookEffect w, CancellationToken ct)
    {
        var client = http.CreateClient(WebhookClient);
        string outcome = "";
        for (var attempt = 1; attempt <= WebhookAttempts; attempt++)
        {
            try
            {
                using var request = new HttpRequestMessage(HttpMethod.Post, w.Url) { Content = JsonContent(w.Body) };
                request.Headers.Add("Idempotency-Key", w.Key);
                using var response = await client.SendAsync(request, ct);
                var status = (int)response.StatusCode;
                if (response.IsSuccessStatusCode) return $"webhook {status}";
                outcome = $"webhook {status}";
                if (status is not (>= 500 or (int)HttpStatusCode.RequestTimeout or (int)HttpStatusCode.TooManyRequests)) return $"{outcome}, not retried";
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException && !ct.IsCancellationRequested)
            {
                outcome = $"webhook unreachable ({e.GetType().Name})";
            }
            if (attempt < WebhookAttempts) await Task.Delay(TimeSpan.FromMilliseconds(250 * Math.Pow(4, attempt - 1)), ct);
        }
        log.LogWarning("Webhook {Url} failed after {Attempts} tries: {Outcome}", w.Url, WebhookAttempts, outcome);
        return $"{outcome}, gave up after {WebhookAttempts} tries";
    }

    private static StringContent JsonContent(JsonObject body) => new(body.ToJsonString(), System.Text.Encoding.UTF8, "application/json");
}
