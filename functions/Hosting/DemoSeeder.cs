using Siyu.Core.Tenants;
using Siyu.Storage.Tenants;

namespace Siyu.Functions.Hosting;

/// <summary>
/// Local run only (Demo:Seed=true): makes sure a "demo" tenant exists and prints fresh API keys for it, one per
/// role. Keys are stored hashed, so earlier demo keys cannot be shown again; they are revoked and replaced.
/// </summary>
public sealed class DemoSeeder(TenantStore tenants, ILogger<DemoSeeder> log) : IHostedService
{
    public const string TenantId = "demo";

    public async Task StartAsync(CancellationToken ct)
    {
        await tenants.CreateAsync(TenantId, "Demo brand", ct);
        foreach (var old in (await tenants.ListKeysAsync(TenantId, ct)).Where(k => k.IsActive && k.Name.StartsWith("demo-", StringComparison.Ordinal)))
            await tenants.RevokeKeyAsync(TenantId, old.KeyId, ct);

        var lines = new List<string> { "", "Demo tenant 'demo' is ready. API keys (shown once; new ones on every start):" };
        foreach (var role in Enum.GetValues<Role>())
        {
            var (_, key) = await tenants.IssueKeyAsync(TenantId, role, $"demo-{role.Name()}", ct);
            lines.Add($"  {role.Name(),-9} {key}");
        }
        lines.Add("");
        Console.WriteLine(string.Join(Environment.NewLine, lines));
        log.LogInformation("Seeded demo tenant {Tenant}", TenantId);
    }

    public Task StopAsync(CancellationToken ct) => Task.CompletedTask;
}
