using System.Diagnostics;

namespace Siyu.Azurite;

/// <summary>
/// A throwaway Azurite on free loopback ports, in memory (or in a folder, to survive a restart). Table, Queue and Blob
/// services run as separate Node processes, so each gets its own event loop (and core) — Azurite is single-threaded per process.
/// </summary>
public sealed class AzuriteProcess : IAsyncDisposable
{
    /// <summary>The emulator's well-known development account, published in Azurite's own documentation.</summary>
    public const string AccountName = "devstoreaccount1";
    public const string AccountKey = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

    private readonly List<Process> _processes = new();
    /// <summary>Where the data is kept on disk; null for in memory.</summary>
    private string? _location;

    public int TablePort { get; private set; }
    public int QueuePort { get; private set; }
    /// <summary>Blobs: the Durable task hub keeps its leases and large messages there.</summary>
    public int BlobPort { get; private set; }

    public string ConnectionString =>
        $"DefaultEndpointsProtocol=http;AccountName={AccountName};AccountKey={AccountKey};" +
        $"TableEndpoint=http://127.0.0.1:{TablePort}/{AccountName};QueueEndpoint=http://127.0.0.1:{QueuePort}/{AccountName};" +
        $"BlobEndpoint=http://127.0.0.1:{BlobPort}/{AccountName};";

    private static readonly Lazy<Task<AzuriteProcess>> SharedInstance = new(async () =>
    {
        var azurite = await StartAsync();
        AppDomain.CurrentDomain.ProcessExit += (_, _) => azurite.DisposeAsync().AsTask().Wait();
        return azurite;
    });

    /// <summary>One Azurite for the whole process (a test run), started on first use and killed when the process exits.</summary>
    public static Task<AzuriteProcess> SharedAsync() => SharedInstance.Value;

    /// <param name="location">A folder to keep the data in, so that <see cref="RestartAsync"/> finds it again; in memory when null.</param>
    public static async Task<AzuriteProcess> StartAsync(CancellationToken ct = default, string? location = null)
    {
        var azurite = new AzuriteProcess { _location = location };
        try
        {
            // The ports reserved at once, so they differ: two services on one port would answer each other's requests.
            var ports = FreePorts(3);
            await azurite.StartAllAsync(ports[0], ports[1], ports[2], ct);
            return azurite;
        }
        catch
        {
            await azurite.DisposeAsync();
            throw;
        }
    }

    /// <summary>Kills the services and starts them again on the same ports and data (an emulator, or a storage outage, coming back).</summary>
    public async Task RestartAsync(TimeSpan downFor, CancellationToken ct = default)
    {
        if (_location is null) throw new InvalidOperationException("an in-memory Azurite loses its data on restart; start it with a location");
        // Stopped with SIGINT, not killed: Azurite keeps its data in memory and saves it every 5 s; its services save on
        // close only for SIGINT (SIGTERM ends node at once, losing what real storage had acknowledged for good).
        List<Process> running;
        lock (_processes) { running = [.. _processes]; _processes.Clear(); }
        foreach (var p in running)
        {
            using (var term = Process.Start("kill", ["-INT", p.Id.ToString()])) await term.WaitForExitAsync(ct);
            using var wait = CancellationTokenSource.CreateLinkedTokenSource(ct);
            wait.CancelAfter(TimeSpan.FromSeconds(15));
            try { await p.WaitForExitAsync(wait.Token); }
            catch (OperationCanceledException) when (!ct.IsCancellationRequested) { p.Kill(entireProcessTree: true); }
            p.Dispose();
        }
        await Task.Delay(downFor, ct);
        await StartAllAsync(TablePort, QueuePort, BlobPort, ct);
    }

    private async Task StartAllAsync(int tablePort, int queuePort, int blobPort, CancellationToken ct)
    {
        var table = StartService("azurite-table", "--tablePort", tablePort, ct);
        var queue = StartService("azurite-queue", "--queuePort", queuePort, ct);
        var blob = StartService("azurite-blob", "--blobPort", blobPort, ct);
        TablePort = await table;
        QueuePort = await queue;
        BlobPort = await blob;
    }

    /// <summary>The folder holding infra/azurite/node_modules, found by walking up from the working directory.</summary>
    public static string FindInstall()
    {
        foreach (var start in new[] { Directory.GetCurrentDirectory(), AppContext.BaseDirectory })
        {
            for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
            {
                var candidate = Path.Combine(dir.FullName, "infra", "azurite");
                if (File.Exists(Path.Combine(candidate, "node_modules", "azurite", "package.json"))) return candidate;
            }
        }
        throw new InvalidOperationException(
            "Azurite is not installed. Run the README's test command (it runs `npm ci` in infra/azurite), " +
            "or `npm ci --prefix infra/azurite` yourself.");
    }

    private async Task<int> StartService(string binary, string portFlag, int port, CancellationToken ct)
    {
        var install = FindInstall();
        var script = Path.Combine(install, "node_modules", "azurite", "dist", "src", binary switch
        {
            "azurite-table" => Path.Combine("table", "main.js"),
            "azurite-queue" => Path.Combine("queue", "main.js"),
            "azurite-blob" => Path.Combine("blob", "main.js"),
            _ => throw new ArgumentOutOfRangeException(nameof(binary)),
        });
        var host = portFlag.Replace("Port", "Host");
        var psi = new ProcessStartInfo("node")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = install,
        };
        psi.ArgumentList.Add(script);
        if (_location is null) psi.ArgumentList.Add("--inMemoryPersistence");
        else { psi.ArgumentList.Add("--location"); psi.ArgumentList.Add(_location); }
        foreach (var arg in new[] { "--disableTelemetry", "--silent", "--disableProductStyleUrl", host, "127.0.0.1", portFlag, port.ToString() })
            psi.ArgumentList.Add(arg);
        var process = Process.Start(psi) ?? throw new InvalidOperationException($"could not start {binary}");
        lock (_processes) _processes.Add(process);

        var ready = new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);
        var log = new System.Text.StringBuilder();
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is null) return;
            lock (log) log.AppendLine(e.Data);
        };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (log) log.AppendLine(e.Data); };
        process.EnableRaisingEvents = true;
        process.Exited += (_, _) => ready.TrySetException(new InvalidOperationException($"{binary} exited: {log}"));
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();

        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(TimeSpan.FromSeconds(30));
        await using (timeout.Token.Register(() => ready.TrySetException(new TimeoutException($"{binary} did not start: {log}"))))
        {
            // Ready means accepting connections (its log lines differ between versions and entry points).
            _ = Task.Run(async () =>
            {
                while (!ready.Task.IsCompleted)
                {
                    try
                    {
                        using var probe = new System.Net.Sockets.TcpClient();
                        await probe.ConnectAsync(System.Net.IPAddress.Loopback, port, timeout.Token);
                        // Someone answers on the port: make sure it is this service, not a process that beat it there.
                        await Task.Delay(100, CancellationToken.None);
                        if (process.HasExited) ready.TrySetException(new InvalidOperationException($"{binary} exited: {log}"));
                        else ready.TrySetResult(port);
                    }
                    catch (Exception) when (!timeout.IsCancellationRequested) { await Task.Delay(50, CancellationToken.None); }
                    catch (Exception) { return; }
                }
            }, CancellationToken.None);
            return await ready.Task;
        }
    }

    /// <summary>
    /// Distinct loopback ports that are free now, all held until all are chosen. (The standalone services print the
    /// port they were given, not the one bound, so we choose.)
    /// </summary>
    private static int[] FreePorts(int count)
    {
        var listeners = Enumerable.Range(0, count).Select(_ => new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0)).ToList();
        foreach (var l in listeners) l.Start();
        var ports = listeners.Select(l => ((System.Net.IPEndPoint)l.LocalEndpoint).Port).ToArray();
        foreach (var l in listeners) l.Stop();
        return ports;
    }

    public ValueTask DisposeAsync()
    {
        lock (_processes)
        {
            foreach (var p in _processes)
            {
                try { if (!p.HasExited) p.Kill(entireProcessTree: true); } catch (InvalidOperationException) { }
                p.Dispose();
            }
            _processes.Clear();
        }
        return ValueTask.CompletedTask;
    }
}
