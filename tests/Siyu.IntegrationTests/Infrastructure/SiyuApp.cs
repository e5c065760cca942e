using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace Siyu.IntegrationTests.Infrastructure;

/// <summary>
/// The real function app, in process, against the shared Azurite, with its own table/queue prefix and its own
/// operator key. Queue listeners run as in the standalone product.
/// </summary>
public class SiyuApp : WebApplicationFactory<Program>, IAsyncLifetime
{
    public string Prefix { get; init; } = SharedAzurite.NewPrefix();
    public string OperatorKey { get; init; } = "op-" + Guid.NewGuid().ToString("N");
    private string _connectionString = "";
    private readonly Dictionary<string, string?> _settings = new();

    /// <summary>Extra configuration for a test class (set before first use).</summary>
    public SiyuApp With(string key, string? value) { _settings[key] = value; return this; }

    public virtual async Task InitializeAsync()
    {
        _connectionString = await SharedAzurite.ConnectionStringAsync();
        _ = Server; // start the host now, so storage is created before the first test
    }

    // Virtual, so a fixture that owns more (a fake provider) disposes it too when xunit disposes the fixture.
    public new virtual Task DisposeAsync() => base.DisposeAsync().AsTask();

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseEnvironment("Testing");
        builder.UseSetting("Storage:ConnectionString", _connectionString);
        builder.UseSetting("Storage:Prefix", Prefix);
        builder.UseSetting("Operator:BootstrapKey", OperatorKey);
        builder.UseSetting("Queues:MaxPollDelay", "00:00:00.200");
        builder.UseSetting("Queues:RetryDelay", "00:00:00.200");
        builder.UseSetting("Logging:LogLevel:Default", "Warning");
        foreach (var (k, v) in _settings) builder.UseSetting(k, v);
        ConfigureMore(builder);
    }

    protected virtual void ConfigureMore(IWebHostBuilder builder) { }

    public T Service<T>() where T : notnull => Services.GetRequiredService<T>();

    public HttpClient ClientWithKey(string key)
    {
        var client = CreateClient();
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
        return client;
    }

    public HttpClient Operator() => ClientWithKey(OperatorKey);

    /// <summary>A new tenant with one key per role, made through the operator API as a script would.</summary>
    public async Task<TestTenant> NewTenantAsync()
    {
        var id = "b" + Guid.NewGuid().ToString("N")[..12];
        var op = Operator();
        (await op.PostAsJsonAsync("/api/operator/tenants", new { id, name = "Brand " + id })).EnsureSuccessStatusCode();
        var keys = new Dictionary<string, string>();
        foreach (var role in new[] { "ingest", "marketer", "admin" })
        {
            var response = await op.PostAsJsonAsync($"/api/operator/tenants/{id}/keys", new { role });
            response.EnsureSuccessStatusCode();
            var issued = await response.Content.ReadFromJsonAsync<JsonElement>();
            keys[role] = issued.GetProperty("key").GetString()!;
        }
        return new TestTenant(this, id, keys["ingest"], keys["marketer"], keys["admin"]);
    }
}

public sealed record TestTenant(SiyuApp App, string Id, string IngestKey, string MarketerKey, string AdminKey)
{
    public HttpClient Ingest() => App.ClientWithKey(IngestKey);
    public HttpClient Marketer() => App.ClientWithKey(MarketerKey);
    public HttpClient Admin() => App.ClientWithKey(AdminKey);
}
