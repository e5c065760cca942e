using Siyu.Azurite;
using Siyu.IntegrationTests.Infrastructure;

namespace Siyu.IntegrationTests.Delivery;

/// <summary>The delivery app on an Azurite of its own that keeps its data on disk, so the test can stop and start it again.</summary>
public sealed class OwnAzuriteApp : DeliveryApp
{
    private readonly string _folder = Path.Combine(Path.GetTempPath(), "siyu-azurite-" + Guid.NewGuid().ToString("N")[..8]);
    public AzuriteProcess? Azurite { get; private set; }

    protected override async Task<string> StorageConnectionStringAsync()
    {
        Directory.CreateDirectory(_folder);
        Azurite = await AzuriteProcess.StartAsync(location: _folder);
        return Azurite.ConnectionString;
    }

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        if (Azurite is not null) await Azurite.DisposeAsync();
        try { Directory.Delete(_folder, recursive: true); } catch (IOException) { }
    }
}

/// <summary>Storage going away and coming back in the middle of a campaign: the campaign completes, everyone sent to once.</summary>
public sealed class AzuriteRestartTests(OwnAzuriteApp app) : IClassFixture<OwnAzuriteApp>
{
    [Fact]
    public async Task A_campaign_completes_when_azurite_restarts_in_the_middle_of_it_with_everyone_sent_to_once()
    {
        var brand = await SendingBrand.CreateAsync(app);
        var people = await brand.PeopleAsync(80);
        app.Fake.SetLatency(TimeSpan.FromMilliseconds(60));
        try
        {
            var id = await brand.StartOkAsync(new
            {
                name = "through an outage",
                audience = new { identities = people.Select(p => "phone:" + p).ToArray() },
                message = new { template = "sms_offer", variables = new Dictionary<string, string> { ["name"] = "{{attributes.name}}", ["offer"] = "a gift" } },
            });
            await Eventually.Get(() => Task.FromResult(brand.AcceptedFor(people)), n => n >= 5, TimeSpan.FromSeconds(60), "the first sends");
            var before = brand.AcceptedFor(people);
            await app.Azurite!.RestartAsync(TimeSpan.FromSeconds(3));
            Assert.True(before < people.Count, $"all {before} sent before the restart: the test did not restart mid-campaign");

            // Just after the restart a read may still meet the outage (a 503 problem): that is not the campaign's answer.
            var done = await Eventually.Get(async () =>
            {
                var r = await app.ClientWithKey(brand.Tenant.MarketerKey).GetAsync($"/api/campaigns/{id}");
                return r.IsSuccessStatusCode ? await r.Json() : default;
            }, c => c.ValueKind == System.Text.Json.JsonValueKind.Object && c.GetProperty("done").GetBoolean(), TimeSpan.FromSeconds(180), "the campaign done");
            Assert.Equal(people.Count, SendingBrand.Progress(done, "sent"));
            Assert.Equal(0, SendingBrand.Progress(done, "pending"));
            Assert.Equal(people.Count, brand.AcceptedFor(people));
            Assert.All(people, p => Assert.Equal(1, app.Fake.AcceptedFor("+86" + p) + app.Fake.AcceptedFor(p)));
            // The campaign's rows say done a moment before its orchestration records its last step.
            await Eventually.Get(async () =>
            {
                var r = await app.ClientWithKey(brand.Tenant.MarketerKey).GetAsync($"/api/campaigns/{id}");
                return r.IsSuccessStatusCode ? (await r.Json()).GetProperty("orchestration").GetProperty("runtimeStatus").GetString() : null;
            }, s => s == "completed", TimeSpan.FromSeconds(60), "the campaign's orchestration completed");
        }
        finally { app.Fake.SetLatency(TimeSpan.Zero); }
    }
}
