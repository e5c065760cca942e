using System.Net.Http.Json;
using System.Text.Json;
using Siyu.IntegrationTests.Infrastructure;

namespace Siyu.IntegrationTests.Consent;

/// <summary>Helpers for the consent and data-rights API, used as a client would.</summary>
public static class ConsentApi
{
    public static string NewPhone() => "139" + Random.Shared.Next(10_000_000, 99_999_999);

    public static Task<HttpResponseMessage> PostConsents(this HttpClient client, params object[] consents) =>
        client.PostAsJsonAsync("/api/consents", new { consents });

    public static object Decision(string phone, string status, DateTimeOffset at, string purpose = "marketing", string channel = "sms", string? id = null) =>
        new { identities = new { phone }, purpose, channel, status, source = "store_form", evidence = "privacy-notice-v3", occurredAt = at.ToString("O"), id };

    public static async Task<string> ProfileIdOf(this HttpClient marketer, string identity, string? appId = null)
    {
        var profile = await Eventually.Get(() => marketer.FindProfile(identity, appId), p => p is not null, what: $"profile of {identity}");
        return profile!.Value.GetProperty("id").GetString()!;
    }

    public static async Task<JsonElement> Consents(this HttpClient marketer, string profileId)
    {
        var response = await marketer.GetAsync($"/api/profiles/{profileId}/consents");
        response.EnsureSuccessStatusCode();
        return await response.Json();
    }

    /// <summary>Waits until the ledger of the profile holds at least <paramref name="decisions"/> decisions.</summary>
    public static Task<JsonElement> WaitForLedger(this HttpClient marketer, string profileId, int decisions) =>
        Eventually.Get(() => marketer.Consents(profileId), c => c.GetProperty("history").GetArrayLength() >= decisions,
            what: $"{decisions} consent decisions on {profileId}");

    public static string? Current(this JsonElement consents, string purpose, string channel, string? scope = null) =>
        consents.GetProperty("current").EnumerateArray()
            .Where(c => c.GetProperty("purpose").GetString() == purpose && c.GetProperty("channel").GetString() == channel
                        && (c.TryGetProperty("scope", out var s) && s.ValueKind == JsonValueKind.String ? s.GetString() : null) == scope)
            .Select(c => c.GetProperty("status").GetString()).SingleOrDefault();

    public static async Task<JsonElement> ContactCheck(this HttpClient marketer, string profileId, string query)
    {
        var response = await marketer.GetAsync($"/api/profiles/{profileId}/contact-check?{query}");
        response.EnsureSuccessStatusCode();
        return await response.Json();
    }
}
