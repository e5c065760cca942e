using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Siyu.LocalHost;

namespace Siyu.IntegrationTests.Infrastructure;

/// <summary>
/// The real function app run by the local Functions host (infra/Siyu.LocalHost), in process, against the shared
/// Azurite, with its own table/queue prefix and its own operator key: its HTTP functions on a loopback port, its queue
/// functions pulled under host.json's settings, its timers on their schedules.
/// </summary>
public class SiyuApp : IAsyncLifetime, IAsyncDisposable
{
    public string Prefix { get; init; } = SharedAzurite.NewPrefix();
    public string OperatorKey { get; init; } = "op-" + Guid.NewGuid().ToString("N");
    /// <summary>Pull the queues and fire the timers (off: HTTP only, the tests drive the work themselves).</summary>
    public bool Listen { get; init; } = true;
    private readonly Dictionary<string, string?> _settings = new();
    private LocalFunctionsHost? _host;

    /// <summary>Extra configuration for a test class (set before first use).</summary>
    public SiyuApp With(string key, string? value) { _settings[key] = value; return this; }

    public virtual async Task InitializeAsync()
    {
        var connectionString = await StorageConnectionStringAsync();
        var settings = new Dictionary<string, string?>
        {
            ["DOTNET_ENVIRONMENT"] = "Testing",
            ["Storage:ConnectionString"] = connectionString,
            // The queue triggers' connection (host.json and the [QueueTrigger] attributes name it).
            ["SiyuStorage"] = connectionString,
            ["Storage:Prefix"] = Prefix,
            // Its own task hub (letters and digits).
            ["Durable:HubName"] = "h" + new string(Prefix.Where(char.IsLetterOrDigit).ToArray()),
            ["Operator:BootstrapKey"] = OperatorKey,
            // Quicker than production: an idle queue is looked at every 200 ms, a failed message is tried again at once.
            [$"{HostJson.OverridePrefix}:extensions:queues:maxPollingInterval"] = "00:00:00.200",
            [$"{HostJson.OverridePrefix}:extensions:queues:visibilityTimeout"] = "00:00:00",
            [$"{HostJson.OverridePrefix}:extensions:durableTask:storageProvider:maxQueuePollingInterval"] = "00:00:00.500",
            ["Logging:LogLevel:Default"] = "Warning",
        };
        var builder = new AppBuilder(settings);
        foreach (var (k, v) in _settings) builder.UseSetting(k, v);
        ConfigureMore(builder);
        _host = await LocalFunctionsHost.StartAsync(typeof(Siyu.Functions.Hosting.Composition).Assembly, new LocalHostOptions
        {
            Url = "http://127.0.0.1:0",
            Settings = settings,
            Services = builder.ConfigureAll,
            Listen = Listen,
        });
        // What a function with a [DurableClient] input does first, done once for tests that call services directly.
        if (_host.DurableClient is { } durable) _host.Services.GetRequiredService<Siyu.Functions.Operations.DurableAccess>().Use(durable);
    }

    public virtual async Task DisposeAsync()
    {
        if (_host is not null) await _host.DisposeAsync();
        _host = null;
    }

    async ValueTask IAsyncDisposable.DisposeAsync() => await DisposeAsync();

    /// <summary>The Azurite the app runs on: the test run's shared one unless a test class brings its own.</summary>
    protected virtual Task<string> StorageConnectionStringAsync() => SharedAzurite.ConnectionStringAsync();

    /// <summary>Settings and services of a test class, on top of the app's own.</summary>
    protected virtual void ConfigureMore(AppBuilder builder) { }

    private LocalFunctionsHost Host => _host ?? throw new InvalidOperationException("the app is not started (InitializeAsync)");

    public IServiceProvider Services => Host.Services;

    /// <summary>The app's task hub, as a <c>[DurableClient]</c> gets it.</summary>
    public Microsoft.DurableTask.Client.DurableTaskClient Durable => Host.DurableClient ?? throw new InvalidOperationException("the app has no Durable functions");

    public T Service<T>() where T : notnull => Services.GetRequiredService<T>();

    /// <summary>Where the app listens (a real socket: a browser can reach it).</summary>
    public Uri BaseAddress => Host.BaseAddress;

    public HttpClient CreateClient() => new() { BaseAddress = Host.BaseAddress, Timeout = TimeSpan.FromMinutes(2) };

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

/// <summary>What a test class adds to the app: app settings (as the Functions host's would be) and services (last registration wins).</summary>
public sealed class AppBuilder(IDictionary<string, string?> settings)
{
    private readonly List<Action<IServiceCollection>> _services = [];

    public AppBuilder UseSetting(string key, string? value) { settings[key] = value; return this; }

    public AppBuilder ConfigureServices(Action<IServiceCollection> configure) { _services.Add(configure); return this; }

    /// <summary>The same as <see cref="ConfigureServices"/>: registered after the app's own, so they replace them.</summary>
    public AppBuilder ConfigureTestServices(Action<IServiceCollection> configure) => ConfigureServices(configure);

    internal void ConfigureAll(IServiceCollection services) { foreach (var c in _services) c(services); }
}

public sealed record TestTenant(SiyuApp App, string Id, string IngestKey, string MarketerKey, string AdminKey)
{
    public HttpClient Ingest() => App.ClientWithKey(IngestKey);
    public HttpClient Marketer() => App.ClientWithKey(MarketerKey);
    public HttpClient Admin() => App.ClientWithKey(AdminKey);
}
