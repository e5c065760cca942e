using System.Diagnostics;
using System.Text.Json;
using Microsoft.Extensions.Options;
using Siyu.Channels;
using Siyu.Core.Delivery;
using Siyu.Core.Events;
using Siyu.Core.Tenants;
using Siyu.Core.WeChat;
using Siyu.Functions.Ingestion;
using Siyu.Functions.Journeys;
using Siyu.Storage.Audience;
using Siyu.Storage.Delivery;
using Siyu.Storage.Identities;
using Siyu.Storage.Journeys;
using Siyu.Storage.Privacy;
using Siyu.Storage.Profiles;
using Siyu.Storage.Tenants;
using Siyu.Storage.WeChat;

namespace Siyu.Functions.Hosting;

/// <summary>
/// Local run only (Demo:Seed=true): makes sure tenant "demo" exists with what <see cref="DemoData"/> describes, and
/// prints its API keys (kept across restarts, see <see cref="DemoKeys"/>). Every part is made only when missing, so a
/// restart, or two instances starting at once, duplicates nothing and undoes nothing the examples did: a journey
/// paused stays paused, a person erased stays erased, a person merged stays merged.
/// </summary>
public sealed class DemoSeeder(
    TenantStore tenants, DemoKeys demoKeys, WeChatAppStore apps, SendingStore sending, TemplateStore templates, JourneyStore journeys,
    AudienceStore audience, DefinitionStore definitions, JourneyCatalog catalog, IdentityStore identities, ProfileStore profiles,
    PrivacyStores privacy, IngestQueue ingest, IOptions<IngestionSettings> ingestion, TimeProvider clock, IConfiguration config,
    ILogger<DemoSeeder> log) : IHostedService
{
    public const string TenantId = "demo";

    /// <summary>How long the start waits for the demo people's events to be processed.</summary>
    public static readonly TimeSpan PeopleWait = TimeSpan.FromSeconds(30);

    public async Task StartAsync(CancellationToken ct)
    {
        await tenants.CreateAsync(TenantId, DemoData.TenantName, ct);
        var keysFile = config["Demo:KeysFile"] is { Length: > 0 } f ? f : null;
        var keys = await demoKeys.EnsureAsync(TenantId, keysFile, ct);

        var made = new List<string>();
        if (await SeedWeChatAppAsync(ct)) made.Add($"WeChat app {DemoData.WeChatAppId}");
        if (await SeedSmsAccountAsync(ct)) made.Add($"Aliyun SMS account {DemoData.SmsAccessKeyId}");
        if (await SeedTemplateAsync(ct)) made.Add($"template {DemoData.TemplateId}");
        if (await SeedJourneyAsync(ct)) made.Add($"journey {DemoData.JourneyId} (live)");
        var people = 0;
        foreach (var round in DemoData.People()) people += await SeedPeopleAsync(round, ct);
        if (people > 0) made.Add($"{people} people");

        var lines = new List<string>
        {
            "",
            $"Demo tenant '{TenantId}' is ready" + (made.Count > 0 ? $" (made now: {string.Join(", ", made)}):" : " (nothing to make):"),
            $"  WeChat app {DemoData.WeChatAppId}, Aliyun SMS account {DemoData.SmsAccessKeyId}, template {DemoData.TemplateId}, journey {DemoData.JourneyId}; " +
            $"people {string.Join(", ", DemoData.People().SelectMany(r => r).Select(p => p.Name))} (seeded once: erased or merged stays so)",
            keysFile is null
                ? "API keys (new on every start: set Demo:KeysFile to keep them):"
                : $"API keys (kept in {keysFile}: the same after a restart{(keys.Minted.Count > 0 ? $"; new now: {string.Join(", ", keys.Minted.Select(r => r.Name()))}" : "")}):",
        };
        foreach (var (role, key) in keys.Keys) lines.Add($"  {role.Name(),-9} {key}");
        lines.Add("");
        Console.WriteLine(string.Join(Environment.NewLine, lines));
        log.LogInformation("Seeded demo tenant {Tenant}: {Made}", TenantId, made.Count > 0 ? string.Join(", ", made) : "nothing new");
    }

    public Task StopAsync(CancellationToken ct) => Task.CompletedTask;

    private async Task<bool> SeedWeChatAppAsync(CancellationToken ct)
    {
        if (await apps.GetAsync(TenantId, DemoData.WeChatAppId, ct) is not null) return false;
        var app = new WeChatApp(DemoData.WeChatAppId, WeChatAppKind.OfficialAccount, DemoData.WeChatToken, "", null, WeChatMessageMode.Plaintext);
        if (app.Validate() is { Count: > 0 } problems) throw new InvalidOperationException("demo WeChat app: " + string.Join("; ", problems));
        await apps.UpsertAsync(TenantId, app, DemoData.WeChatAppSecret, ct);
        return true;
    }

    private async Task<bool> SeedSmsAccountAsync(CancellationToken ct)
    {
        if (await sending.GetChannelAsync(TenantId, "sms", ct) is not null) return false;
        await sending.PutChannelAsync(TenantId, new ChannelSettings("sms", DemoData.SmsAccessKeySecret, DemoData.SmsSignName, null, clock.GetUtcNow(), Dedupes: false,
            ChannelProviders.Aliyun, DemoData.SmsAccessKeyId), ct);
        return true;
    }

    private async Task<bool> SeedTemplateAsync(CancellationToken ct)
    {
        if (await templates.GetAsync(TenantId, DemoData.TemplateId, ct) is not null) return false;
        var errors = new List<(string Field, string Message)>();
        var document = DemoData.Template();
        if (MessageTemplates.Parse(DemoData.TemplateId, document, errors) is null)
            throw new InvalidOperationException("demo template: " + string.Join("; ", errors.Select(e => $"{e.Field}: {e.Message}")));
        await templates.PutAsync(TenantId, DemoData.TemplateId, document, clock.GetUtcNow(), ct);
        return true;
    }

    /// <summary>Saves and publishes the journey unless it exists; one saved but never published (a start cut short) is published.</summary>
    private async Task<bool> SeedJourneyAsync(CancellationToken ct)
    {
        var journey = await journeys.GetAsync(TenantId, DemoData.JourneyId, ct);
        if (journey is { Version: > 0 }) return false;
        var document = DemoData.Journey();
        var name = document["name"]!.GetValue<string>();
        if (journey is null)
        {
            await journeys.SaveDraftAsync(TenantId, DemoData.JourneyId, name, document, null, clock.GetUtcNow(), ct);
            journey = await journeys.GetAsync(TenantId, DemoData.JourneyId, ct);
            if (journey is null or { Version: > 0 }) return false;
        }
        if (await JourneysEndpoints.ValidateAsync(TenantId, document, audience, definitions, templates, ct) is { Count: > 0 } problems)
            throw new InvalidOperationException("demo journey: " + string.Join("; ", problems));
        // Null: another instance published it at the same moment, which is as good.
        var published = await journeys.PublishAsync(TenantId, journey, name, document, clock.GetUtcNow(), ct) is not null;
        catalog.Invalidate(TenantId);
        return published;
    }

    /// <summary>
    /// Queues the events of each person not known yet (by any of their identities) and not erased, through the same
    /// validation and queue as <c>POST /api/events</c>, then waits until they are on their profiles. Their fixed
    /// messageIds make a repeat harmless.
    /// </summary>
    private async Task<int> SeedPeopleAsync(IReadOnlyList<DemoPerson> round, CancellationToken ct)
    {
        var validator = new EventValidator(ingestion.Value.MaxFutureSkew);
        var now = clock.GetUtcNow();
        var queued = new List<(DemoPerson Person, IReadOnlyList<string> Keys, int Events)>();
        foreach (var person in round)
        {
            var events = person.Events.Select((e, i) =>
            {
                using var doc = JsonDocument.Parse(e.ToJsonString());
                if (!validator.TryValidate(doc.RootElement, i, now, out var evt, out var error))
                    throw new InvalidOperationException($"demo person {person.Name}: event {error!.MessageId}: {error.Message}");
                return evt! with { Source = "demo_seed" };
            }).ToList();
            var keys = events.SelectMany(e => e.Identities).Select(i => i.Key).Distinct().ToList();
            if (await AnyKnownAsync(keys, ct) || (await privacy.Suppressions.FindAsync(TenantId, keys, ct)).Count > 0) continue;
            await ingest.EnqueueAsync(TenantId, events, ct);
            queued.Add((person, keys, events.Count));
        }
        var waited = Stopwatch.StartNew();
        foreach (var (person, keys, events) in queued)
        {
            while (!await ProcessedAsync(keys, events, ct))
            {
                if (waited.Elapsed > PeopleWait)
                {
                    log.LogWarning("Demo person {Name} is queued but not processed after {Wait}; are the queue listeners running?", person.Name, PeopleWait);
                    return queued.Count;
                }
                await Task.Delay(100, ct);
            }
        }
        return queued.Count;
    }

    private async Task<bool> AnyKnownAsync(IReadOnlyList<string> keys, CancellationToken ct)
    {
        foreach (var key in keys)
            if (await identities.LookupAsync(TenantId, key, ct) is not null) return true;
        return false;
    }

    /// <summary>Every identity leads to one profile, and it holds at least this many events.</summary>
    private async Task<bool> ProcessedAsync(IReadOnlyList<string> keys, int events, CancellationToken ct)
    {
        var owners = new HashSet<string?>();
        foreach (var key in keys) owners.Add(await identities.LookupAsync(TenantId, key, ct));
        if (owners.Count != 1 || owners.Single() is not { } profileId) return false;
        return await profiles.ReadAsync(TenantId, profileId, ct) is { } profile && profile.State.EventCount >= events;
    }
}
