using Siyu.Functions.Hosting;

namespace Siyu.Bench;

/// <summary>The real function app, composed exactly as in production, on Kestrel on a loopback port.</summary>
public sealed class BenchApp : IAsyncDisposable
{
    private readonly WebApplication _app;
    public Uri BaseAddress { get; }
    public IServiceProvider Services => _app.Services;

    private BenchApp(WebApplication app, Uri baseAddress) { _app = app; BaseAddress = baseAddress; }

    public static async Task<BenchApp> StartAsync(string connectionString, string prefix, string operatorKey, bool listeners,
        IReadOnlyDictionary<string, string?>? settings = null)
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { EnvironmentName = "Benchmark" });
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Storage:ConnectionString"] = connectionString,
            ["Storage:Prefix"] = prefix,
            ["Operator:BootstrapKey"] = operatorKey,
            ["Secrets:EncryptionKey"] = Convert.ToBase64String(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32)),
            ["Queues:ListenersEnabled"] = listeners ? "true" : "false",
            ["Logging:LogLevel:Default"] = "Warning",
            ["Logging:LogLevel:Microsoft.Hosting.Lifetime"] = "Warning",
            ["Logging:LogLevel:Siyu"] = Environment.GetEnvironmentVariable("SIYU_BENCH_LOG") ?? "Warning",
        });
        if (settings is not null) builder.Configuration.AddInMemoryCollection(settings);
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Services.AddSiyu(builder.Configuration);
        var app = builder.Build();
        app.UseSiyu();
        await app.StartAsync();
        return new BenchApp(app, new Uri(app.Urls.First()));
    }

    private bool _disposed;

    public async ValueTask DisposeAsync()
    {
        if (_disposed) return;
        _disposed = true;
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
