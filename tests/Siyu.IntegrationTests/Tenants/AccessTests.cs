using System.Net;
using System.Net.Http.Json;
using Siyu.IntegrationTests.Infrastructure;

namespace Siyu.IntegrationTests.Tenants;

/// <summary>Every request is authenticated; keys are scoped to one tenant and one role; tenants never see each other.</summary>
public sealed class AccessTests(SiyuApp app) : IClassFixture<SiyuApp>
{
    private static object Event(string anon) => new { type = "track", messageId = Guid.NewGuid().ToString("N"), @event = "view", identities = new { anonymousId = anon } };

    [Fact]
    public async Task Requests_without_a_valid_key_are_401()
    {
        var tenant = await app.NewTenantAsync();
        await (await app.CreateClient().PostEvents(Event("a"))).AssertProblem(HttpStatusCode.Unauthorized, "missing_api_key");
        await (await app.ClientWithKey("not-a-key").PostEvents(Event("a"))).AssertProblem(HttpStatusCode.Unauthorized, "invalid_api_key");

        // Right shape, wrong secret.
        var forged = tenant.IngestKey[..^4] + "0000";
        await (await app.ClientWithKey(forged).PostEvents(Event("a"))).AssertProblem(HttpStatusCode.Unauthorized, "invalid_api_key");

        // X-Api-Key works as well as Authorization: Bearer.
        var viaHeader = app.CreateClient();
        viaHeader.DefaultRequestHeaders.Add("X-Api-Key", tenant.IngestKey);
        Assert.Equal(HttpStatusCode.Accepted, (await viaHeader.PostEvents(Event("a"))).StatusCode);
    }

    [Fact]
    public async Task Each_role_may_do_only_its_own_work()
    {
        var tenant = await app.NewTenantAsync();
        await (await tenant.Marketer().PostEvents(Event("a"))).AssertProblem(HttpStatusCode.Forbidden, "wrong_role");
        await (await tenant.Ingest().GetAsync("/api/profiles?identity=anonymousId:a")).AssertProblem(HttpStatusCode.Forbidden, "wrong_role");
        await (await tenant.Ingest().GetAsync("/api/keys")).AssertProblem(HttpStatusCode.Forbidden, "wrong_role");
        await (await tenant.Marketer().GetAsync("/api/wechat-apps")).AssertProblem(HttpStatusCode.Forbidden, "wrong_role");
        Assert.Equal(HttpStatusCode.Accepted, (await tenant.Admin().PostEvents(Event("a"))).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await tenant.Admin().GetAsync("/api/keys")).StatusCode);
    }

    [Fact]
    public async Task A_tenant_cannot_see_another_tenants_profiles()
    {
        var a = await app.NewTenantAsync();
        var b = await app.NewTenantAsync();
        var anon = "shared-device-" + Guid.NewGuid().ToString("N")[..6];
        await a.Ingest().PostEvents(Event(anon));
        var profile = await a.Marketer().WaitForProfile($"anonymousId:{anon}", 1);
        var id = profile.GetProperty("id").GetString();

        await (await b.Marketer().GetAsync($"/api/profiles/{id}")).AssertProblem(HttpStatusCode.NotFound, "profile_not_found");
        await (await b.Marketer().GetAsync($"/api/profiles/{id}/events")).AssertProblem(HttpStatusCode.NotFound, "profile_not_found");
        Assert.Null(await b.Marketer().FindProfile($"anonymousId:{anon}"));

        // The same identity in tenant B is a different person.
        await b.Ingest().PostEvents(Event(anon));
        var inB = await b.Marketer().WaitForProfile($"anonymousId:{anon}", 1);
        Assert.NotEqual(id, inB.GetProperty("id").GetString());
    }

    [Fact]
    public async Task A_revoked_key_stops_working_at_once()
    {
        var tenant = await app.NewTenantAsync();
        var issued = await (await tenant.Admin().PostAsJsonAsync("/api/keys", new { role = "ingest", name = "store-pos" })).Json();
        var key = issued.GetProperty("key").GetString()!;
        var client = app.ClientWithKey(key);
        Assert.Equal(HttpStatusCode.Accepted, (await client.PostEvents(Event("a"))).StatusCode);

        var listed = await (await tenant.Admin().GetAsync("/api/keys")).Content.ReadAsStringAsync();
        Assert.Contains("store-pos", listed);
        Assert.DoesNotContain(key.Split('_')[3], listed); // the secret is never listed

        Assert.Equal(HttpStatusCode.NoContent, (await tenant.Admin().DeleteAsync($"/api/keys/{issued.GetProperty("keyId").GetString()}")).StatusCode);
        await (await client.PostEvents(Event("a"))).AssertProblem(HttpStatusCode.Unauthorized, "invalid_api_key");
    }

    [Fact]
    public async Task The_operator_api_needs_the_bootstrap_key_and_validates_its_input()
    {
        var tenant = await app.NewTenantAsync();
        await (await tenant.Admin().GetAsync("/api/operator/tenants")).AssertProblem(HttpStatusCode.Unauthorized, "invalid_operator_key");
        // The bootstrap key is not a tenant key.
        await (await app.Operator().GetAsync("/api/keys")).AssertProblem(HttpStatusCode.Unauthorized, "invalid_api_key");

        var op = app.Operator();
        await (await op.PostAsJsonAsync("/api/operator/tenants", new { id = "Bad_Id!" })).AssertProblem(HttpStatusCode.BadRequest, "invalid_tenant_id");
        await (await op.PostAsJsonAsync("/api/operator/tenants", new { id = tenant.Id })).AssertProblem(HttpStatusCode.Conflict, "tenant_exists");
        await (await op.PostAsJsonAsync("/api/operator/tenants/nosuchtenant/keys", new { role = "ingest" })).AssertProblem(HttpStatusCode.NotFound, "tenant_not_found");
        await (await op.PostAsJsonAsync($"/api/operator/tenants/{tenant.Id}/keys", new { role = "superuser" })).AssertProblem(HttpStatusCode.BadRequest, "invalid_role");
        await (await op.DeleteAsync($"/api/operator/tenants/{tenant.Id}/keys/nosuchkey000")).AssertProblem(HttpStatusCode.NotFound, "key_not_found");

        var bad = await op.PostAsync("/api/operator/tenants", new StringContent("{not json", System.Text.Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        Assert.Equal("application/problem+json", bad.Content.Headers.ContentType?.MediaType);

        var tenants = await (await op.GetAsync("/api/operator/tenants")).Content.ReadAsStringAsync();
        Assert.Contains(tenant.Id, tenants);
    }

    [Fact]
    public async Task Health_and_the_OpenAPI_document_need_no_key()
    {
        var client = app.CreateClient();
        var health = await client.GetAsync("/api/health");
        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
        var report = await health.Json();
        Assert.Equal("healthy", report.GetProperty("status").GetString());
        Assert.Equal("ok", report.GetProperty("tables").GetString());
        Assert.Equal("ok", report.GetProperty("queues").GetString());

        var openApi = await (await client.GetAsync("/api/openapi.json")).Json();
        var paths = openApi.GetProperty("paths");
        foreach (var path in new[] { "/api/events", "/api/profiles/{id}", "/api/wechat/{tenant}/{appId}", "/api/wechat-apps/{appId}", "/api/operator/tenants", "/api/health" })
            Assert.True(paths.TryGetProperty(path, out _), $"OpenAPI lacks {path}");
    }

    [Fact]
    public async Task An_unknown_route_is_a_404_problem()
    {
        var response = await app.CreateClient().GetAsync("/api/nothing-here");
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
    }
}
