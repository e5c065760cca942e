using System.Net;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using Siyu.Functions.Privacy;
using Siyu.IntegrationTests.Infrastructure;

namespace Siyu.IntegrationTests.Consent;

/// <summary>An app whose clock the test moves: half a year passes in a line.</summary>
public sealed class ClockedApp : SiyuApp
{
    public FakeTimeProvider Clock { get; } = new(DateTimeOffset.UtcNow);

    /// <summary>
    /// The scheduled timers run on the app's clock, so a jump of days would fire each of them in the middle of a test
    /// and race with what it checks (an hourly sweep repairing the index row a test removed before its own sweep runs).
    /// Tests on this app run the scheduled work themselves.
    /// </summary>
    public ClockedApp()
    {
        foreach (var timer in new[] { "AudienceSweep", "RetentionPurge", "OperationsHousekeeping", "AudienceSnapshot" })
            With($"AzureWebJobs.{timer}.Disabled", "true");
    }

    protected override void ConfigureMore(AppBuilder builder) =>
        builder.ConfigureServices(s => s.AddSingleton<TimeProvider>(Clock));

    /// <summary>
    /// Moves the app's clock on and rings the journey clock, as time passing would: the durable clock sleeps on the
    /// task hub's real-time timers, so a jump of the app's clock alone would wake it only when real time got there.
    /// </summary>
    public async Task AdvanceAsync(TimeSpan by)
    {
        Clock.Advance(by);
        await Service<Siyu.Functions.Journeys.ClockBell>().RingAsync(CancellationToken.None);
    }
}

public sealed class RetentionTests(ClockedApp app) : IClassFixture<ClockedApp>
{
    [Fact]
    public async Task Retention_erases_inactive_profiles_and_deletes_old_events_but_keeps_the_consent_ledger()
    {
        var tenant = await app.NewTenantAsync();
        var dormant = ConsentApi.NewPhone();
        var active = ConsentApi.NewPhone();
        var imported = ConsentApi.NewPhone();
        var start = app.Clock.GetUtcNow();
        await tenant.Ingest().PostEvents(
            new { messageId = "d-" + dormant, type = "track", @event = "visit", identities = new { phone = dormant } },
            new { messageId = "a1-" + active, type = "track", @event = "visit", identities = new { phone = active } });
        await tenant.Ingest().PostConsents(ConsentApi.Decision(active, "granted", start.AddMinutes(-1)));
        var dormantId = (await tenant.Marketer().WaitForProfile($"phone:{dormant}", 1)).GetProperty("id").GetString()!;
        var activeId = (await tenant.Marketer().WaitForProfile($"phone:{active}", 2)).GetProperty("id").GetString()!;

        // 400 days pass. The active person comes back; another is imported with a history from long ago.
        app.Clock.Advance(TimeSpan.FromDays(400));
        var old = app.Clock.GetUtcNow().AddDays(-300).ToString("O");
        await tenant.Ingest().PostEvents(
            new { messageId = "a2-" + active, type = "track", @event = "visit", identities = new { phone = active } },
            new { messageId = "i-" + imported, type = "order", identities = new { phone = imported }, timestamp = old,
                  properties = new { orderId = "HIST-" + imported, total = 99 } });
        await tenant.Marketer().WaitForProfile($"phone:{active}", 3);
        var importedId = (await tenant.Marketer().WaitForProfile($"phone:{imported}", 1)).GetProperty("id").GetString()!;

        var report = await app.Service<RetentionPurge>().RunAsync(CancellationToken.None);
        // a1, and the dormant visit unless its erasure (running meanwhile) got there first; the 300-day-old import stays.
        Assert.True(report.ProfilesErased == 1 && report.EventsDeleted is 1 or 2, $"report: {report}");

        await Eventually.Get(() => tenant.Admin().DeleteAsync($"/api/profiles/{dormantId}"), r => r.StatusCode == HttpStatusCode.NoContent, what: "the dormant profile erased");
        var events = await (await tenant.Marketer().GetAsync($"/api/profiles/{activeId}/events")).Json();
        Assert.Equal(["a2-" + active], events.GetProperty("events").EnumerateArray().Select(e => e.GetProperty("messageId").GetString()));
        var profile = (await tenant.Marketer().FindProfile($"phone:{active}"))!.Value;
        Assert.All(profile.GetProperty("recentEvents").EnumerateArray(),
            e => Assert.True(e.GetProperty("timestamp").GetDateTimeOffset() > app.Clock.GetUtcNow().AddDays(-365)));
        // The ledger is the proof of consent: it stays while the profile does.
        Assert.Equal(1, (await tenant.Marketer().Consents(activeId)).GetProperty("history").GetArrayLength());
        // Imported with a past: its events may age out, but the profile, received just now, is not inactive.
        Assert.Equal(HttpStatusCode.OK, (await tenant.Marketer().GetAsync($"/api/profiles/{importedId}")).StatusCode);
        Assert.Equal(1, (await (await tenant.Marketer().GetAsync($"/api/profiles/{importedId}/events")).Json()).GetProperty("events").GetArrayLength());
    }
}
