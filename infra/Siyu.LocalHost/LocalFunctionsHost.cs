using System.Reflection;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Siyu.LocalHost;

/// <summary>What the host is started with.</summary>
public sealed record LocalHostOptions
{
    /// <summary>Where HTTP triggers listen: <c>http://127.0.0.1:7071</c> as <c>func start</c> does; port 0 picks a free one.</summary>
    public string Url { get; init; } = "http://127.0.0.1:7071";
    /// <summary>Arguments for the app's entry point.</summary>
    public string[] Args { get; init; } = [];
    /// <summary>App settings on top of the app's own (as the Functions host's app settings / local.settings.json would be).</summary>
    public IDictionary<string, string?>? Settings { get; init; }
    /// <summary>Services added to the app's own after it registered them (last registration wins), e.g. a test clock.</summary>
    public Action<IServiceCollection>? Services { get; init; }
    /// <summary>Pull the queue triggers and fire the timers (off: HTTP only).</summary>
    public bool Listen { get; init; } = true;
    /// <summary>The clock timers run on.</summary>
    public TimeProvider Clock { get; init; } = TimeProvider.System;
    public TimeSpan StartTimeout { get; init; } = TimeSpan.FromMinutes(1);
}

/// <summary>
/// The stand-in for <c>func start</c> on machines where Azure Functions Core Tools cannot be installed: it runs an
/// isolated-worker app's own function classes as the Functions host and the worker would call them, in process (from
/// xUnit tests with <see cref="StartAsync"/>, or from the console with Siyu.LocalHost.Cli).
/// <list type="bullet">
/// <item>The same functions: read from the <c>functions.metadata</c> the worker SDK generates, each entry point found by
/// its <c>[Function]</c> name and checked against its binding attributes; no list of functions here.</item>
/// <item>The same services: the app's own <c>Program</c> builds its host (configuration, DI, options), stopped before
/// it would connect to the host over gRPC (<see cref="AppServices"/>).</item>
/// <item>The same pipeline: every invocation but an orchestrator's goes through the app's worker middleware
/// (<c>UseMiddleware</c>, the ASP.NET Core integration's, the Durable extension's), ending in this host's executor
/// (<see cref="WorkerPipeline"/>).</item>
/// <item>The same binding: a DI scope per invocation, the class built by constructor injection, <c>HttpRequest</c> or
/// <c>HttpRequestData</c>, route values, <c>FunctionContext</c> (with <c>GetHttpContext()</c>), <c>CancellationToken</c>,
/// queue messages as text, bytes, <c>QueueMessage</c> or JSON, <c>TimerInfo</c>, <c>[DurableClient]</c>
/// (<see cref="FunctionInvoker"/>).</item>
/// <item>The same triggers: HTTP on Kestrel at the host's routes (<see cref="HttpTriggers"/>), queues under host.json's
/// settings with the host's retry and poison behaviour (<see cref="QueueTrigger"/>), timers on their NCRONTAB schedule
/// (<see cref="TimerTrigger"/>), orchestrations and activities on DurableTask.Core over the Azure Storage task hub
/// through Microsoft.DurableTask's shims, with a <c>DurableTaskClient</c> for <c>[DurableClient]</c>
/// (<see cref="Durable.DurableTriggers"/>).</item>
/// </list>
/// What differs: one process with the app (no gRPC, no separate worker process, the worker's own web server not
/// started: Kestrel here serves the routes); orchestrator functions are run by the shims outside the worker pipeline
/// (under the worker the Durable middleware replays them inside it); one instance (no scale controller, no singleton
/// locks for timers, no host-wide concurrency limits beyond the queue settings); output bindings, blob triggers and
/// entities are not bound, and a function that uses one stops the start with a message that says so.
/// </summary>
public sealed class LocalFunctionsHost : IAsyncDisposable
{
    private readonly IHost _app;
    private readonly WebApplication _web;
    private readonly CancellationTokenSource _stop;
    private readonly Durable.DurableTriggers? _durable;
    private readonly List<Task> _listeners = [];

    private LocalFunctionsHost(IHost app, WebApplication web, Uri baseAddress, IReadOnlyList<FunctionInfo> functions, CancellationTokenSource stop,
        Durable.DurableTriggers? durable)
    {
        _app = app;
        _web = web;
        _stop = stop;
        _durable = durable;
        BaseAddress = baseAddress;
        Functions = functions;
    }

    /// <summary>The task hub's client, as a <c>[DurableClient]</c> parameter gets it; null when the app has no Durable functions.</summary>
    public Microsoft.DurableTask.Client.DurableTaskClient? DurableClient => _durable?.Client;

    /// <summary>The app's own services (the same instances its functions get).</summary>
    public IServiceProvider Services => _app.Services;

    public Uri BaseAddress { get; }

    public IReadOnlyList<FunctionInfo> Functions { get; }

    /// <summary>The app's functions on <c>http://127.0.0.1:{port}</c> (0: a free one) with these app settings on top of its own.</summary>
    public static Task<LocalFunctionsHost> StartAsync(Assembly app, IDictionary<string, string?> settings, int port = 0) =>
        StartAsync(app, new LocalHostOptions { Url = $"http://127.0.0.1:{port}", Settings = settings });

    /// <summary>Builds the app's services with its own entry point, serves its HTTP triggers, then starts its hosted
    /// services, the task hub worker, the queue listeners and the timers; a function it cannot run stops the start.</summary>
    public static async Task<LocalFunctionsHost> StartAsync(Assembly app, LocalHostOptions? options = null)
    {
        options ??= new LocalHostOptions();
        var declared = FunctionsMetadata.Read(app);
        var unknown = declared.Select(f => f.Trigger.Type).Where(t => !Triggers.Contains(t, StringComparer.OrdinalIgnoreCase)).Distinct().ToList();
        if (unknown.Count > 0) throw new NotSupportedException($"the local host does not run {string.Join(", ", unknown)} functions");
        // The worker's own services read where the host is; they are built (the app's services may depend on them)
        // but never started, so this address is never called.
        var settings = new Dictionary<string, string?>
        {
            ["Functions:Worker:HostEndpoint"] = "http://127.0.0.1:9", ["Functions:Worker:WorkerId"] = Guid.NewGuid().ToString(),
            ["Functions:Worker:RequestId"] = Guid.NewGuid().ToString(), ["Functions:Worker:GrpcMaxMessageLength"] = int.MaxValue.ToString(System.Globalization.CultureInfo.InvariantCulture),
        };
        foreach (var (k, v) in options.Settings ?? new Dictionary<string, string?>()) settings[k] = v;
        // The Functions host hands app settings to the worker as environment variables, so the app's Program sees them
        // from its first line (a service registered only when a setting is on, say). Environment variables are one per
        // process, and tests start several hosts in one: the settings go in as command-line arguments, which
        // FunctionsApplication.CreateBuilder(args) reads as early, and again at HostBuilding so they come last.
        var args = options.Args.Concat(settings.Where(s => s.Value is not null).Select(s => $"--{s.Key}={s.Value}")).ToArray();
        var host = await AppServices.BuildAsync(app, args, HostBuilderExtras.With(settings, options.Services), options.StartTimeout);
        var config = host.Services.GetRequiredService<IConfiguration>();
        var hostJson = HostJson.Read(app, config);
        // A function is switched off by the app setting AzureWebJobs.<name>.Disabled, as under the Functions host.
        var functions = declared.Where(f => !config.GetValue($"AzureWebJobs.{f.Name}.Disabled", false)).ToList();
        var loggers = host.Services.GetRequiredService<ILoggerFactory>();
        var log = loggers.CreateLogger("Siyu.LocalHost");
        var stop = new CancellationTokenSource();
        // Orchestrations and activities run on a task hub; the functions that start or signal them get its client.
        var durableKinds = new[] { "orchestrationTrigger", "activityTrigger" };
        var needsDurable = functions.Any(f => f.Bindings.Any(b => b.Type.Equals("durableClient", StringComparison.OrdinalIgnoreCase)
                                                            || durableKinds.Contains(b.Type, StringComparer.OrdinalIgnoreCase)));
        var durable = needsDurable ? await Durable.DurableTriggers.CreateAsync(hostJson.Durable, config, host.Services, loggers, stop.Token) : null;
        var inputs = durable is null ? new Dictionary<string, Func<object>>() : new Dictionary<string, Func<object>> { ["durableClient"] = () => durable.Client };
        var invokers = functions.Select(f => new FunctionInvoker(f, host.Services, inputs)).ToList();
        foreach (var invoker in invokers.Where(i => durableKinds.Contains(i.Function.Trigger.Type, StringComparer.OrdinalIgnoreCase))) durable!.Add(invoker);

        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls(options.Url);
        builder.Logging.ClearProviders();
        var web = builder.Build();
        HttpTriggers.Map(web, invokers, hostJson, config);
        await web.StartAsync();
        var address = new Uri(web.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First());

        var local = new LocalFunctionsHost(host, web, address, functions, stop, durable);
        try
        {
            if (options.Listen && durable is not null) await durable.StartAsync();
            if (options.Listen)
            {
                // Made here, so a queue name, connection or schedule that cannot be resolved stops the start with its reason.
                var queues = invokers.Where(i => i.Function.Trigger.Type.Equals("queueTrigger", StringComparison.OrdinalIgnoreCase))
                    .Select(i => QueueTrigger.Create(i, config, hostJson.Queues, log)).ToList();
                var timers = invokers.Where(i => i.Function.Trigger.Type.Equals("timerTrigger", StringComparison.OrdinalIgnoreCase))
                    .Select(i => TimerTrigger.Create(i, config, options.Clock, log)).ToList();
                foreach (var q in queues) local._listeners.Add(Task.Run(() => q.RunAsync(local._stop.Token)));
                foreach (var t in timers) local._listeners.Add(Task.Run(() => t.RunAsync(local._stop.Token)));
            }
            // Then the app's own hosted services (its start-up work, its background loops), as the worker starts them: after
            // its gRPC client (registered first, by CreateBuilder), so functions may run while they start; not the
            // worker's own services, which need the Functions host.
            foreach (var service in host.Services.GetServices<IHostedService>().Where(s => !IsWorkerInfrastructure(s)))
            {
                await service.StartAsync(local._stop.Token);
                local._hosted.Add(service);
            }
        }
        catch
        {
            await local.DisposeAsync();
            throw;
        }
        log.LogInformation("Local Functions host: {Count} functions, HTTP on {Address}", functions.Count, address);
        return local;
    }

    private readonly List<IHostedService> _hosted = [];

    private static readonly string[] Triggers = ["httpTrigger", "queueTrigger", "timerTrigger", "orchestrationTrigger", "activityTrigger"];

    private static bool IsWorkerInfrastructure(IHostedService service) =>
        service.GetType().Namespace?.StartsWith("Microsoft.Azure.Functions.Worker", StringComparison.Ordinal) == true
        || service.GetType().Namespace?.StartsWith("Microsoft.AspNetCore", StringComparison.Ordinal) == true
        || service.GetType().Namespace?.StartsWith("Microsoft.Extensions.Hosting", StringComparison.Ordinal) == true;

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await Task.WhenAll(_listeners).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        if (_durable is not null) await _durable.DisposeAsync();
        foreach (var service in Enumerable.Reverse(_hosted))
        {
            await service.StopAsync(CancellationToken.None);
        }
        await _web.StopAsync();
        await _web.DisposeAsync();
        if (_app is IAsyncDisposable a) await a.DisposeAsync(); else _app.Dispose();
        _stop.Dispose();
    }
}
