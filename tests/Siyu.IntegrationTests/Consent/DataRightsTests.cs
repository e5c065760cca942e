using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Azure.Data.Tables;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Siyu.Functions.Privacy;
using Siyu.IntegrationTests.Infrastructure;
using Siyu.Storage.Tables;

namespace Siyu.IntegrationTests.Consent;

/// <summary>Export, erasure (with suppression, resumption and retention), sensitive attributes and the audit log.</summary>
public sealed class DataRightsTests(SiyuApp app) : IClassFixture<SiyuApp>
{
    private static readonly DateTimeOffset T0 = DateTimeOffset.UtcNow.AddDays(-2);

    /// <summary>A person with identities, attributes, events, consents and preferences.</summary>
    private static async Task<(string Id, string Phone, string MemberId)> NewPersonAsync(TestTenant tenant)
    {
        var phone = ConsentApi.NewPhone();
        var member = "M" + Guid.NewGuid().ToString("N")[..10];
        var posted = await tenant.Ingest().PostEvents(
            new { messageId = "i-" + phone, type = "identify", identities = new { phone, userId = member }, traits = new { name = "林小姐-" + member, city = "杭州" } },
            new { messageId = "o-" + phone, type = "order", identities = new { phone }, properties = new { orderId = "ORD-" + member, total = 199.5, currency = "CNY" } });
        var body = await posted.Json();
        Assert.True(body.TryGetProperty("accepted", out var n) && n.GetInt32() == 2, body.GetRawText());
        // One person first, then more about them: two new-person events racing in parallel are a merge (a later feature).
        await tenant.Marketer().WaitForProfile($"phone:{phone}", 2);
        await tenant.Ingest().PostConsents(ConsentApi.Decision(phone, "granted", T0), ConsentApi.Decision(phone, "withdrawn", T0.AddHours(1), channel: "email"));
        var id = await tenant.Marketer().ProfileIdOf($"phone:{phone}");
        await tenant.Marketer().WaitForLedger(id, 2);
        await tenant.Marketer().WaitForProfile($"phone:{phone}", 4);
        Assert.Equal(HttpStatusCode.OK, (await tenant.Ingest().PutAsJsonAsync($"/api/profiles/{id}/preferences", new { preferredChannels = new[] { "sms" } })).StatusCode);
        return (id, phone, member);
    }

    [Fact]
    public async Task Export_holds_profile_identities_events_consents_with_history_and_preferences()
    {
        var tenant = await app.NewTenantAsync();
        var (id, phone, member) = await NewPersonAsync(tenant);

        var response = await tenant.Marketer().GetAsync($"/api/profiles/{id}/export");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var doc = await response.Json();
        Assert.Equal(id, doc.GetProperty("profileId").GetString());
        Assert.Equal("杭州", doc.GetProperty("profile").GetProperty("attributes").GetProperty("city").GetString());
        var identities = doc.GetProperty("identities").EnumerateArray().Select(i => (i.GetProperty("type").GetString(), i.GetProperty("value").GetString())).ToList();
        Assert.Contains(("phone", "+86" + phone), identities);
        Assert.Contains(("userId", member), identities);
        // The identify and the order; consent decisions are in the consent ledger, exported with the consents.
        Assert.Equal(["identify", "order"], doc.GetProperty("events").EnumerateArray().Select(e => e.GetProperty("name").GetString()).Order());
        Assert.Equal(2, doc.GetProperty("consents").GetProperty("history").GetArrayLength());
        Assert.Equal("withdrawn", doc.GetProperty("consents").Current("marketing", "email"));
        Assert.Equal("sms", doc.GetProperty("preferences").GetProperty("preferredChannels")[0].GetString());
    }

    [Fact]
    public async Task Erasure_leaves_no_row_about_the_person_in_any_table_and_later_events_are_suppressed()
    {
        var tenant = await app.NewTenantAsync();
        var (id, phone, member) = await NewPersonAsync(tenant);

        await (await tenant.Marketer().DeleteAsync($"/api/profiles/{id}")).AssertProblem(HttpStatusCode.Forbidden, "wrong_role");
        var erase = await tenant.Admin().DeleteAsync($"/api/profiles/{id}");
        Assert.Equal(HttpStatusCode.Accepted, erase.StatusCode);
        // At once it reads as gone, while the erasure runs.
        await (await tenant.Marketer().GetAsync($"/api/profiles/{id}/export")).AssertProblem(HttpStatusCode.NotFound, "profile_not_found");

        var again = await Eventually.Get(() => tenant.Admin().DeleteAsync($"/api/profiles/{id}"), r => r.StatusCode == HttpStatusCode.NoContent,
            what: "the erasure to finish (a second erase answers 204)");
        Assert.Equal(HttpStatusCode.NoContent, again.StatusCode);
        await (await tenant.Marketer().GetAsync($"/api/profiles/{id}")).AssertProblem(HttpStatusCode.NotFound, "profile_not_found");
        await (await tenant.Admin().DeleteAsync("/api/profiles/AAAAAAAAAAAAAAAAAAAA")).AssertProblem(HttpStatusCode.NotFound, "profile_not_found");

        await AssertNothingLeftAsync(id, [phone, member, "杭州", "ORD-" + member, "privacy-notice-v3"]);

        // Events about the person afterwards are dropped, not made into a new profile...
        await tenant.Ingest().PostEvents(new { messageId = "after-" + phone, type = "track", @event = "visit", identities = new { phone } });
        // ...while a marker event for someone else shows when it must have been processed.
        var marker = ConsentApi.NewPhone();
        await tenant.Ingest().PostEvents(new { messageId = "marker-" + marker, type = "track", @event = "visit", identities = new { phone = marker } });
        await tenant.Marketer().WaitForProfile($"phone:{marker}", 1);
        await Task.Delay(300);
        Assert.Null(await tenant.Marketer().FindProfile($"phone:{phone}"));

        // A consent given before the erasure, posted again (a client retrying an old batch), does not bring them back.
        await tenant.Ingest().PostConsents(ConsentApi.Decision(phone, "granted", T0));
        var marker2 = ConsentApi.NewPhone();
        await tenant.Ingest().PostEvents(new { messageId = "marker-" + marker2, type = "track", @event = "visit", identities = new { phone = marker2 } });
        await tenant.Marketer().WaitForProfile($"phone:{marker2}", 1);
        await Task.Delay(300);
        Assert.Null(await tenant.Marketer().FindProfile($"phone:{phone}"));
        await (await tenant.Admin().GetAsync($"/api/profiles/{id[..5]}/consents")).AssertProblem(HttpStatusCode.NotFound, "profile_not_found");

        // A fresh consent brings them back, as a new person.
        await tenant.Ingest().PostConsents(ConsentApi.Decision(phone, "granted", DateTimeOffset.UtcNow));
        var newId = await tenant.Marketer().ProfileIdOf($"phone:{phone}");
        Assert.NotEqual(id, newId);
        var fresh = await tenant.Marketer().WaitForLedger(newId, 1);
        Assert.Equal(1, fresh.GetProperty("history").GetArrayLength());
    }

    /// <summary>Enumerates every table of this app: only the erasure receipt and the audit log may name the profile id, and nothing holds the person's data.</summary>
    private Task AssertNothingLeftAsync(string profileId, string[] personalValues) => AssertNothingLeftAsync(app, profileId, personalValues);

    private static async Task AssertNothingLeftAsync(SiyuApp app, string profileId, string[] personalValues)
    {
        var tables = app.Service<StorageTables>();
        var names = new List<string>();
        await foreach (var t in tables.Service.QueryAsync(t => t.Name.CompareTo(app.Prefix) >= 0 && t.Name.CompareTo(app.Prefix + "{") < 0)) names.Add(t.Name);
        Assert.Equal(tables.All.Select(t => t.Name).Order(), names.Order());
        var allowedToNameTheId = new[] { tables.Erasures.Name, tables.Audit.Name };
        foreach (var name in names)
        {
            await foreach (var row in tables.Service.GetTableClient(name).QueryAsync<TableEntity>())
            {
                var text = row.PartitionKey + " " + row.RowKey + " " + string.Join(" ", row.Select(p => p.Value?.ToString()));
                foreach (var value in personalValues) Assert.DoesNotContain(value, text);
                if (!allowedToNameTheId.Contains(name)) Assert.DoesNotContain(profileId, text);
            }
        }
    }

    [Fact]
    public async Task An_erasure_that_dies_half_way_completes_when_the_app_restarts()
    {
        // The first process dies inside the erasure, after the identity index and history are gone.
        var first = new CrashingApp();
        // What the dying process had taken off the task hub's queues shows again after 10 s (5 min by default).
        first.With("AzureFunctionsJobHost:extensions:durableTask:storageProvider:workItemQueueVisibilityTimeout", "00:00:10");
        first.With("AzureFunctionsJobHost:extensions:durableTask:storageProvider:controlQueueVisibilityTimeout", "00:00:10");
        await first.InitializeAsync();
        var tenant = await first.NewTenantAsync();
        var (id, phone, _) = await NewPersonAsync(tenant);
        Assert.Equal(HttpStatusCode.Accepted, (await tenant.Admin().DeleteAsync($"/api/profiles/{id}")).StatusCode);
        await Eventually.Get(() => Task.FromResult(CrashingHolder.Crashes), n => n > 0, what: "the erasure to crash");
        var tables = first.Service<StorageTables>();
        await first.DisposeAsync();
        Assert.Null(await new Siyu.Storage.Identities.IdentityStore(tables, TimeProvider.System).LookupAsync(tenant.Id, $"phone:+86{phone}"));
        Assert.NotNull(await new Siyu.Storage.Profiles.ProfileStore(tables).ReadAsync(tenant.Id, id)); // half-way: the profile row is still there

        // A new process on the same task hub takes the orchestration up again and finishes.
        await using var second = new SiyuApp { Prefix = first.Prefix, OperatorKey = first.OperatorKey };
        await second.InitializeAsync();
        var admin = second.ClientWithKey(tenant.AdminKey);
        await Eventually.Get(() => admin.DeleteAsync($"/api/profiles/{id}"), r => r.StatusCode == HttpStatusCode.NoContent,
            timeout: TimeSpan.FromSeconds(40), what: "the resumed erasure to finish");
        Assert.Null(await second.Service<Siyu.Storage.Profiles.ProfileStore>().ReadAsync(tenant.Id, id));
        await AssertNothingLeftAsync(second, id, [phone]);
    }

    private sealed class CrashingApp : SiyuApp
    {
        protected override void ConfigureMore(AppBuilder builder) =>
            builder.ConfigureServices(s => s.AddSingleton<IPersonalDataHolder, CrashingHolder>());
    }

    /// <summary>Stands for the process dying: registered after the real holders, it never lets an erasure finish.</summary>
    private sealed class CrashingHolder : IPersonalDataHolder
    {
        public static int Crashes;
        public string Section => "crash";
        public Task<System.Text.Json.Nodes.JsonNode?> ExportAsync(PersonalDataSubject subject, CancellationToken ct) => Task.FromResult<System.Text.Json.Nodes.JsonNode?>(null);
        public Task EraseAsync(PersonalDataSubject subject, CancellationToken ct)
        {
            Interlocked.Increment(ref Crashes);
            throw new IOException("the process died here");
        }
    }

    [Fact]
    public async Task Sensitive_attributes_need_their_consent_and_are_shown_to_admins_only()
    {
        var tenant = await app.NewTenantAsync();
        await (await tenant.Marketer().PutAsJsonAsync("/api/attributes/diagnosis", new { sensitive = true, purpose = "sensitive-health" }))
            .AssertProblem(HttpStatusCode.Forbidden, "wrong_role");
        await (await tenant.Admin().PutAsJsonAsync("/api/attributes/diagnosis", new { sensitive = true, purpose = "marketing" }))
            .AssertProblem(HttpStatusCode.BadRequest, "invalid_purpose");
        Assert.Equal(HttpStatusCode.OK, (await tenant.Admin().PutAsJsonAsync("/api/attributes/diagnosis", new { sensitive = true, purpose = "sensitive-health" })).StatusCode);

        var phone = ConsentApi.NewPhone();
        // Without consent: not stored.
        await tenant.Ingest().PostEvents(new { messageId = "h1-" + phone, type = "identify", identities = new { phone }, timestamp = T0.ToString("O"),
            traits = new { diagnosis = "lactose intolerance", city = "上海" } });
        var before = await tenant.Admin().WaitForProfile($"phone:{phone}", 1);
        Assert.False(before.GetProperty("attributes").TryGetProperty("diagnosis", out _));
        var id = before.GetProperty("id").GetString()!;

        // With consent: stored, shown to admins, hidden from marketers, never in event history.
        await tenant.Ingest().PostConsents(new { identities = new { phone }, purpose = "sensitive-health", channel = "all", status = "granted",
            source = "health_survey", occurredAt = T0.AddHours(1).ToString("O") });
        await tenant.Admin().WaitForLedger(id, 1);
        await tenant.Ingest().PostEvents(new { messageId = "h2-" + phone, type = "identify", identities = new { phone }, timestamp = T0.AddHours(2).ToString("O"),
            traits = new { diagnosis = "lactose intolerance" } });
        var admin = await tenant.Admin().WaitForProfile($"phone:{phone}", 3);
        Assert.Equal("lactose intolerance", admin.GetProperty("attributes").GetProperty("diagnosis").GetString());
        var marketer = (await tenant.Marketer().FindProfile($"phone:{phone}"))!.Value;
        Assert.False(marketer.GetProperty("attributes").TryGetProperty("diagnosis", out _));
        var export = await (await tenant.Marketer().GetAsync($"/api/profiles/{id}/export")).Json();
        Assert.DoesNotContain("lactose", export.GetRawText());
        Assert.True(export.TryGetProperty("omitted", out _));
        Assert.Contains("lactose", (await (await tenant.Admin().GetAsync($"/api/profiles/{id}/export")).Json()).GetProperty("profile").GetRawText());
        Assert.DoesNotContain("lactose", (await (await tenant.Admin().GetAsync($"/api/profiles/{id}/events")).Json()).GetRawText());

        // Withdrawn: removed from the profile.
        await tenant.Ingest().PostConsents(new { identities = new { phone }, purpose = "sensitive-health", channel = "all", status = "withdrawn",
            source = "app_settings", occurredAt = T0.AddHours(3).ToString("O") });
        await tenant.Admin().WaitForLedger(id, 2);
        var after = (await tenant.Admin().FindProfile($"phone:{phone}"))!.Value;
        Assert.False(after.GetProperty("attributes").TryGetProperty("diagnosis", out _));
        Assert.Equal("上海", after.GetProperty("attributes").GetProperty("city").GetString());
    }

    [Fact]
    public async Task The_audit_log_records_who_read_exported_erased_and_changed_consent_for_admins_of_the_tenant_only()
    {
        var tenant = await app.NewTenantAsync();
        var other = await app.NewTenantAsync();
        var (id, _, _) = await NewPersonAsync(tenant);
        // Consents named by identity are audited without a profile id (it is not known yet); by id, with it.
        await tenant.Admin().PostConsents(new { profileId = id, purpose = "analytics", channel = "all", status = "denied", source = "api", occurredAt = T0.ToString("O") });
        var read = await tenant.Marketer().GetAsync($"/api/profiles/{id}");
        var requestId = read.Headers.GetValues("X-Request-Id").Single();
        await tenant.Marketer().GetAsync($"/api/profiles/{id}/export");
        await tenant.Admin().DeleteAsync($"/api/profiles/{id}");

        await (await tenant.Marketer().GetAsync("/api/audit")).AssertProblem(HttpStatusCode.Forbidden, "wrong_role");
        var log = await (await tenant.Admin().GetAsync($"/api/audit?profileId={id}")).Json();
        var entries = log.GetProperty("entries").EnumerateArray().ToList();
        var actions = entries.Select(e => e.GetProperty("action").GetString()).ToList();
        foreach (var action in new[] { "consent.record", "preferences.write", "profile.read", "profile.export", "profile.erase" }) Assert.Contains(action, actions);
        var readEntry = entries.First(e => e.GetProperty("action").GetString() == "profile.read" && e.GetProperty("requestId").GetString() == requestId);
        Assert.Equal(tenant.MarketerKey.Split('_')[2], readEntry.GetProperty("keyId").GetString());
        // Newest first.
        var times = entries.Select(e => e.GetProperty("at").GetDateTimeOffset()).ToList();
        Assert.Equal(times.OrderByDescending(t => t), times);

        var foreign = await (await other.Admin().GetAsync($"/api/audit?profileId={id}")).Json();
        Assert.Equal(0, foreign.GetProperty("entries").GetArrayLength());
    }
}
