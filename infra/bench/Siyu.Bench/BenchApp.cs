using Siyu.LocalHost;

namespace Siyu.Bench;

/// <summary>
/// The real function app, composed exactly as in production, run by the local Functions host (infra/Siyu.LocalHost):
/// its HTTP functions on a loopback port, its queue functions pulled under host.json's settings.
/// </summary>
public sealed class BenchApp : IAsyncDisposable
{
    private readonly LocalFunctionsHost _host;
    public Uri BaseAddress => _host.BaseAddress;
    public IServiceProvider Services => _host.Services;

    private BenchApp(LocalFunctionsHost host) => _host = host;

    /// <param name="listeners">Pull the queues and fire the timers (off: HTTP only).</param>
    public static async Task<BenchApp> StartAsync(string connectionString, string prefix, string operatorKey, bool listeners,
        IReadOnlyDictionary<string, string?>? settings = null)
    {
        var all = new Dictionary<string, string?>
        {
            ["DOTNET_ENVIRONMENT"] = "Benchmark",
            ["Storage:ConnectionString"] = connectionString,
            ["SiyuStorage"] = connectionString,
            ["Storage:Prefix"] = prefix,
            // host.json names the task hub %Durable:HubName%; one per prefix (letters and digits), so a restarted child finds its own.
            ["Durable:HubName"] = "bench" + new string(prefix.Where(char.IsLetterOrDigit).ToArray()),
            ["Operator:BootstrapKey"] = operatorKey,
            ["Secrets:EncryptionKey"] = Convert.ToBase64String(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32)),
            ["Logging:LogLevel:Default"] = "Warning",
            ["Logging:LogLevel:Microsoft.Hosting.Lifetime"] = "Warning",
            ["Logging:LogLevel:Siyu"] = Environment.GetEnvironmentVariable("SIYU_BENCH_LOG") ?? "Warning",
        };
        foreach (var (k, v) in settings ?? new Dictionary<string, string?>()) all[k] = v;
        var host = await LocalFunctionsHost.StartAsync(typeof(Siyu.Functions.Hosting.Composition).Assembly, new LocalHostOptions
        {
            Url = "http://127.0.0.1:0",
            Settings = all,
            Listen = listeners,
        });
        return new BenchApp(host);
    }

    private bool _disposed;

    public async ValueTask DisposeAsync()
    {
        if (_disposed) return;
        _disposed = true;
        await _host.DisposeAsync();
    }
}
