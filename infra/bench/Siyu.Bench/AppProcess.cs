using System.Diagnostics;

namespace Siyu.Bench;

/// <summary>
/// The app in a process of its own, to be killed with SIGKILL: this benchmark's binary again with <c>--suite serve-app</c>
/// (<see cref="ServeAsync"/>), the function classes under the local host with their listeners, on the storage it is given.
/// </summary>
public sealed class AppProcess : IDisposable
{
    private readonly Process _process;
    public Uri BaseAddress { get; }

    private AppProcess(Process process, Uri baseAddress) { _process = process; BaseAddress = baseAddress; }

    /// <summary>Starts the app and answers once it listens.</summary>
    public static async Task<AppProcess> StartAsync(string connectionString, string prefix, string operatorKey, IReadOnlyDictionary<string, string?> settings)
    {
        var self = Environment.ProcessPath!;
        var start = new ProcessStartInfo(self) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        // Run as `dotnet Siyu.Bench.dll`: the same again; as the apphost: itself.
        if (Path.GetFileNameWithoutExtension(self) == "dotnet") start.ArgumentList.Add(typeof(AppProcess).Assembly.Location);
        foreach (var a in new[] { "--suite", "serve-app", "--connection", connectionString, "--prefix", prefix, "--operator", operatorKey }) start.ArgumentList.Add(a);
        foreach (var (k, v) in settings) { start.ArgumentList.Add("--set"); start.ArgumentList.Add($"{k}={v}"); }
        var process = Process.Start(start) ?? throw new InvalidOperationException("could not start the app process");
        var ready = new TaskCompletionSource<Uri>(TaskCreationOptions.RunContinuationsAsynchronously);
        var errors = new System.Collections.Concurrent.ConcurrentQueue<string>();
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is { } line && line.StartsWith("serving ", StringComparison.Ordinal)) ready.TrySetResult(new Uri(line["serving ".Length..]));
        };
        process.ErrorDataReceived += (_, e) => { if (e.Data is { } line && errors.Count < 50) errors.Enqueue(line); };
        process.Exited += (_, _) => ready.TrySetException(new InvalidOperationException($"the app process exited ({process.ExitCode}): {string.Join('\n', errors)}"));
        process.EnableRaisingEvents = true;
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return new AppProcess(process, await ready.Task.WaitAsync(TimeSpan.FromMinutes(2)));
    }

    /// <summary>SIGKILL: nothing is flushed, no round finishes, no lease is given back.</summary>
    public void Kill()
    {
        if (!_process.HasExited) _process.Kill(entireProcessTree: true);
        _process.WaitForExit();
    }

    public void Dispose()
    {
        Kill();
        _process.Dispose();
    }

    /// <summary>The child's side (<c>--suite serve-app --connection … --prefix … --operator … [--set key=value]…</c>): prints where it listens, then runs until killed.</summary>
    public static async Task<int> ServeAsync(string[] args)
    {
        string Get(string name) => args[Array.IndexOf(args, name) + 1];
        var settings = new Dictionary<string, string?>();
        for (var i = 0; i < args.Length - 1; i++)
            if (args[i] == "--set" && args[i + 1].IndexOf('=') is > 0 and var eq) settings[args[i + 1][..eq]] = args[i + 1][(eq + 1)..];
        var app = await BenchApp.StartAsync(Get("--connection"), Get("--prefix"), Get("--operator"), listeners: true, settings);
        Console.WriteLine($"serving {app.BaseAddress}");
        await Task.Delay(Timeout.Infinite);
        return 0;
    }
}
