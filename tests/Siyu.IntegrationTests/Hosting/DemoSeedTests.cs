using System.Net;
using System.Text.Json;
using Siyu.IntegrationTests.Infrastructure;

namespace Siyu.IntegrationTests.Hosting;

public sealed class DemoApp : SiyuApp
{
    protected override void ConfigureMore(Microsoft.AspNetCore.Hosting.IWebHostBuilder builder) => builder.UseSetting("Demo:Seed", "true");
}

/// <summary>The local run seeds a demo tenant with one working key per role.</summary>
public sealed class DemoSeedTests(DemoApp app) : IClassFixture<DemoApp>
{
    [Fact]
    public async Task The_demo_tenant_exists_with_one_active_key_per_role()
    {
        var keys = await (await app.Operator().GetAsync("/api/operator/tenants/demo/keys")).Json();
        var active = keys.EnumerateArray().Where(k => k.GetProperty("revokedAt").ValueKind == JsonValueKind.Null).ToList();
        Assert.Equal(["admin", "ingest", "marketer"], active.Select(k => k.GetProperty("role").GetString()).Order());
        Assert.All(active, k => Assert.StartsWith("demo-", k.GetProperty("name").GetString()));
    }

    [Fact]
    public async Task Seeding_again_revokes_the_old_demo_keys_and_issues_new_ones()
    {
        var seeder = new Siyu.Functions.Hosting.DemoSeeder(app.Service<Siyu.Storage.Tenants.TenantStore>(),
            Microsoft.Extensions.Logging.Abstractions.NullLogger<Siyu.Functions.Hosting.DemoSeeder>.Instance);
        await seeder.StartAsync(default);
        var keys = await (await app.Operator().GetAsync("/api/operator/tenants/demo/keys")).Json();
        Assert.Equal(3, keys.EnumerateArray().Count(k => k.GetProperty("revokedAt").ValueKind == JsonValueKind.Null));
        Assert.True(keys.GetArrayLength() >= 6);
        Assert.Equal(HttpStatusCode.OK, (await app.CreateClient().GetAsync("/api/health")).StatusCode);
    }
}
