using System.Diagnostics;
using System.Reflection;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace Siyu.LocalHost;

/// <summary>
/// The app's own services, built by the app's own entry point: <c>Program</c> runs as it would under the Functions host
/// (<c>FunctionsApplication.CreateBuilder(args)</c> … <c>Build()</c>), and is stopped the moment its host is built, before
/// <c>Run()</c> would start the worker's gRPC channel to a host that is not here. The same hook the ASP.NET Core test
/// host uses: the "Microsoft.Extensions.Hosting" diagnostic events. At "HostBuilding" the caller may add configuration
/// and services (tests replace a clock or a provider address this way), as the Functions host's settings would.
/// </summary>
public static class AppServices
{
    public static async Task<IHost> BuildAsync(Assembly app, string[] args, Action<IHostBuilder>? configure, TimeSpan timeout)
    {
        var entryPoint = app.EntryPoint ?? throw new InvalidOperationException($"{app.GetName().Name} has no entry point (Program)");
        var built = new TaskCompletionSource<IHost>(TaskCreationOptions.RunContinuationsAsynchronously);
        // This build's own mark: several hosts may be built in one process (two test fixtures of one app), each must
        // see only the events of the entry point it runs.
        var mark = new object();
        var subscriptions = new List<IDisposable>();
        using var all = DiagnosticListener.AllListeners.Subscribe(new Observer<DiagnosticListener>(listener =>
        {
            if (listener.Name != "Microsoft.Extensions.Hosting") return;
            lock (subscriptions) subscriptions.Add(listener.Subscribe(new Observer<KeyValuePair<string, object?>>(e =>
            {
                if (!ReferenceEquals(Building.Value, mark)) return;
                if (e.Key == "HostBuilding" && e.Value is IHostBuilder builder) configure?.Invoke(builder);
                if (e.Key == "HostBuilt" && e.Value is IHost host)
                {
                    built.TrySetResult(host);
                    throw new StopAtBuilt();
                }
            })));
        }));

        var thread = new Thread(() =>
        {
            Building.Value = mark;
            try
            {
                var result = entryPoint.Invoke(null, entryPoint.GetParameters().Length == 0 ? [] : [args]);
                if (result is Task task) task.GetAwaiter().GetResult();
                built.TrySetException(new InvalidOperationException($"{app.GetName().Name}'s entry point returned without building a host"));
            }
            catch (Exception e) when (Unwrap(e) is StopAtBuilt) { }
            catch (Exception e) { built.TrySetException(Unwrap(e)); }
        }) { Name = EntryThreadName, IsBackground = true };
        thread.Start();
        try
        {
            return await built.Task.WaitAsync(timeout);
        }
        finally
        {
            lock (subscriptions) foreach (var s in subscriptions) s.Dispose();
        }
    }

    private const string EntryThreadName = "functions-app-entry-point";
    /// <summary>Which build the code running now belongs to: set on the entry point's thread, it flows through its awaits.</summary>
    private static readonly AsyncLocal<object?> Building = new();

    private static Exception Unwrap(Exception e) => e is TargetInvocationException { InnerException: { } inner } ? Unwrap(inner) : e;

    /// <summary>Thrown out of the app's <c>Build()</c> once its host exists: the app must not go on to <c>Run()</c>.</summary>
    private sealed class StopAtBuilt : Exception;

    private sealed class Observer<T>(Action<T> next) : IObserver<T>
    {
        public void OnCompleted() { }
        public void OnError(Exception error) { }
        public void OnNext(T value) => next(value);
    }
}

/// <summary>Adds settings and services to the app's host at "HostBuilding", as the Functions host's app settings would, and
/// readies the app's worker pipeline to run here (<see cref="WorkerPipeline"/>).</summary>
public static class HostBuilderExtras
{
    public static Action<IHostBuilder> With(IDictionary<string, string?>? settings, Action<IServiceCollection>? services) => builder =>
    {
        if (settings is { Count: > 0 }) builder.ConfigureAppConfiguration(c => c.AddInMemoryCollection(settings));
        if (services is not null) builder.ConfigureServices(services);
        // Last, so it sees the integration's registration whoever made it.
        builder.ConfigureServices(WorkerPipeline.Prepare);
    };
}
