using System.Net;
using System.Net.Http.Json;
using Siyu.IntegrationTests.Infrastructure;

namespace Siyu.IntegrationTests.Consent;

/// <summary>The tag taxonomy and manual tagging, with sensitive tags held only under their consent.</summary>
public sealed class TagTests(SiyuApp app) : IClassFixture<SiyuApp>
{
    [Fact]
    public async Task Tags_come_from_the_taxonomy_and_sensitive_ones_need_an_admin_and_the_persons_consent()
    {
        var tenant = await app.NewTenantAsync();
        var phone = ConsentApi.NewPhone();
        await tenant.Ingest().PostEvents(new { messageId = "v-" + phone, type = "track", @event = "visit", identities = new { phone } });
        var id = await tenant.Marketer().ProfileIdOf($"phone:{phone}");

        // The taxonomy: marketers define ordinary tags, only admins sensitive ones; bad names are refused.
        Assert.Equal(HttpStatusCode.OK, (await tenant.Marketer().PutAsJsonAsync("/api/tags/core-fan", new { group = "loyalty", description = "buys every month" })).StatusCode);
        await (await tenant.Marketer().PutAsJsonAsync("/api/tags/lactose-free", new { sensitive = true, purpose = "sensitive-health" })).AssertProblem(HttpStatusCode.Forbidden, "wrong_role");
        await (await tenant.Admin().PutAsJsonAsync("/api/tags/lactose-free", new { sensitive = true, purpose = "marketing" })).AssertProblem(HttpStatusCode.BadRequest, "invalid_tag_definition");
        Assert.Equal(HttpStatusCode.OK, (await tenant.Admin().PutAsJsonAsync("/api/tags/lactose-free", new { group = "health", sensitive = true, purpose = "sensitive-health" })).StatusCode);
        await (await tenant.Marketer().PutAsJsonAsync("/api/tags/bad%0Aname", new { })).AssertProblem(HttpStatusCode.BadRequest, "invalid_tag");
        var taxonomy = await (await tenant.Marketer().GetAsync("/api/tags")).Json();
        Assert.Equal(["core-fan", "lactose-free"], taxonomy.EnumerateArray().Select(t => t.GetProperty("name").GetString()));

        // Tagging: known tags only; a sensitive tag only by an admin, and only with the person's consent.
        Assert.Equal(HttpStatusCode.OK, (await tenant.Marketer().PostAsJsonAsync($"/api/profiles/{id}/tags", new { tags = new[] { "core-fan" } })).StatusCode);
        await (await tenant.Marketer().PostAsJsonAsync($"/api/profiles/{id}/tags", new { tags = new[] { "vip" } })).AssertProblem(HttpStatusCode.BadRequest, "unknown_tag");
        await (await tenant.Marketer().PostAsJsonAsync($"/api/profiles/{id}/tags", new { tags = new[] { "lactose-free" } })).AssertProblem(HttpStatusCode.Forbidden, "wrong_role");
        await (await tenant.Admin().PostAsJsonAsync($"/api/profiles/{id}/tags", new { tags = new[] { "lactose-free" } })).AssertProblem(HttpStatusCode.Conflict, "consent_required");

        await tenant.Ingest().PostConsents(new { profileId = id, purpose = "sensitive-health", channel = "all", status = "granted", source = "health_survey",
            occurredAt = DateTimeOffset.UtcNow.AddMinutes(-5).ToString("O") });
        await tenant.Admin().WaitForLedger(id, 1);
        Assert.Equal(HttpStatusCode.OK, (await tenant.Admin().PostAsJsonAsync($"/api/profiles/{id}/tags", new { tags = new[] { "lactose-free" } })).StatusCode);

        var asAdmin = await (await tenant.Admin().GetAsync($"/api/profiles/{id}")).Json();
        Assert.Equal(["core-fan", "lactose-free"], asAdmin.GetProperty("tags").EnumerateObject().Select(t => t.Name).Order());
        Assert.Equal(tenant.MarketerKey.Split('_')[2], asAdmin.GetProperty("tags").GetProperty("core-fan").GetProperty("by").GetString());
        var asMarketer = await (await tenant.Marketer().GetAsync($"/api/profiles/{id}")).Json();
        Assert.Equal(["core-fan"], asMarketer.GetProperty("tags").EnumerateObject().Select(t => t.Name));
        var export = await (await tenant.Marketer().GetAsync($"/api/profiles/{id}/export")).Json();
        Assert.DoesNotContain("lactose-free", export.GetRawText());
        Assert.True(export.TryGetProperty("omitted", out _));

        // Withdrawing the consent takes the sensitive tag away; ordinary tags stay and can be removed by hand.
        await tenant.Ingest().PostConsents(new { profileId = id, purpose = "sensitive-health", channel = "all", status = "withdrawn", source = "app_settings",
            occurredAt = DateTimeOffset.UtcNow.ToString("O") });
        await tenant.Admin().WaitForLedger(id, 2);
        var after = await (await tenant.Admin().GetAsync($"/api/profiles/{id}")).Json();
        Assert.Equal(["core-fan"], after.GetProperty("tags").EnumerateObject().Select(t => t.Name));
        Assert.Equal(HttpStatusCode.NoContent, (await tenant.Marketer().DeleteAsync($"/api/profiles/{id}/tags/core-fan")).StatusCode);
        await (await tenant.Marketer().DeleteAsync($"/api/profiles/{id}/tags/core-fan")).AssertProblem(HttpStatusCode.NotFound, "tag_not_on_profile");
        Assert.Empty((await (await tenant.Admin().GetAsync($"/api/profiles/{id}")).Json()).GetProperty("tags").EnumerateObject());
    }
}
