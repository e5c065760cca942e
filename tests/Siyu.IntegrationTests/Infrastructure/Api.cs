using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;

namespace Siyu.IntegrationTests.Infrastructure;

/// <summary>Small helpers for calling the API the way a client would.</summary>
public static class Api
{
    public static Task<HttpResponseMessage> PostEvents(this HttpClient client, params object[] events) =>
        client.PostAsJsonAsync("/api/events", new { batch = events });

    public static Task<HttpResponseMessage> PostRaw(this HttpClient client, string path, string body, string contentType = "application/json") =>
        client.PostAsync(path, new StringContent(body, Encoding.UTF8, contentType));

    public static async Task<JsonElement> Json(this HttpResponseMessage response) =>
        JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.Clone();

    /// <summary>The profile of an identity, or null while it does not exist yet.</summary>
    public static async Task<JsonElement?> FindProfile(this HttpClient client, string identity, string? appId = null)
    {
        var url = $"/api/profiles?identity={Uri.EscapeDataString(identity)}" + (appId is null ? "" : $"&appId={appId}");
        var response = await client.GetAsync(url);
        if (response.StatusCode == HttpStatusCode.NotFound) return null;
        response.EnsureSuccessStatusCode();
        return await response.Json();
    }

    /// <summary>Waits until the identity's profile has at least <paramref name="events"/> events.</summary>
    public static async Task<JsonElement> WaitForProfile(this HttpClient client, string identity, long events, string? appId = null)
    {
        var profile = await Eventually.Get(() => client.FindProfile(identity, appId),
            p => p is { } v && v.GetProperty("eventCount").GetInt64() >= events, what: $"profile {identity} with {events} events");
        return profile!.Value;
    }

    /// <summary>
    /// A problem's <c>errors</c> as "path: message" lines, after checking that each has the one shape every error list
    /// has: a path, a code and a message, all strings.
    /// </summary>
    public static List<string> ErrorTexts(this JsonElement problem) => problem.GetProperty("errors").EnumerateArray().Select(e =>
    {
        var path = e.GetProperty("path").GetString()!;
        Assert.False(string.IsNullOrEmpty(e.GetProperty("code").GetString()), $"an error without a code: {e}");
        var message = e.GetProperty("message").GetString()!;
        return path.Length == 0 ? message : $"{path}: {message}";
    }).ToList();

    public static async Task AssertProblem(this HttpResponseMessage response, HttpStatusCode status, string code)
    {
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == status, $"expected {(int)status} {code}, got {(int)response.StatusCode}: {body}");
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal(code, JsonDocument.Parse(body).RootElement.GetProperty("code").GetString());
    }
}
