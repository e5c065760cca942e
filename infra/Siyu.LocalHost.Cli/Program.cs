// The stand-in for `func start`: runs the isolated-worker function app built at the given path under the local host,
// with the Values of the local.settings.json beside it as app settings, until Ctrl-C or SIGTERM.
//   dotnet run --project infra/Siyu.LocalHost.Cli -- path/to/App.dll [--url http://127.0.0.1:7071]
using System.Reflection;
using System.Runtime.InteropServices;
using System.Runtime.Loader;
using Siyu.LocalHost;

if (args.Length == 0 || args[0] is "-h" or "--help")
{
    Console.WriteLine("usage: Siyu.LocalHost.Cli <app.dll> [--url http://127.0.0.1:7071] [-- app arguments]");
    return args.Length == 0 ? 2 : 0;
}
var appPath = Path.GetFullPath(args[0]);
if (!File.Exists(appPath))
{
    Console.Error.WriteLine($"no function app at {appPath}: build it first");
    return 2;
}
var url = "http://127.0.0.1:7071";
var appArgs = Array.Empty<string>();
for (var i = 1; i < args.Length; i++)
{
    switch (args[i])
    {
        case "--url" when i + 1 < args.Length: url = args[++i]; break;
        case "--": appArgs = args[(i + 1)..]; i = args.Length; break;
        default:
            Console.Error.WriteLine($"unknown option {args[i]}");
            return 2;
    }
}

var app = AppLoading.Load(appPath);
// As the host runs the worker: in the app's folder, so its content root and relative files are its own.
Directory.SetCurrentDirectory(Path.GetDirectoryName(appPath)!);
var stopped = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
Console.CancelKeyPress += (_, e) => { e.Cancel = true; stopped.TrySetResult(); };
using var term = PosixSignalRegistration.Create(PosixSignal.SIGTERM, c => { c.Cancel = true; stopped.TrySetResult(); });

await using (var host = await LocalFunctionsHost.StartAsync(app, new LocalHostOptions
{
    Url = url,
    Args = appArgs,
    Settings = LocalSettings.Read(Path.GetDirectoryName(appPath)!),
}))
{
    Console.WriteLine($"Functions ({host.Functions.Count}) on {host.BaseAddress}:");
    foreach (var f in host.Functions) Console.WriteLine($"  {f.Name}: {f.Trigger.Type}");
    await stopped.Task;
}
return 0;

/// <summary>
/// Loads the app into this process's default context, so the worker, ASP.NET Core and Durable Task types it uses are
/// the ones the host binds (one copy each, the versions pinned for both); its other dependencies come from its own
/// folder, as its deps.json names them.
/// </summary>
internal static class AppLoading
{
    public static Assembly Load(string path)
    {
        var folder = Path.GetDirectoryName(path)!;
        var resolver = File.Exists(Path.ChangeExtension(path, ".deps.json")) ? new AssemblyDependencyResolver(path) : null;
        AssemblyLoadContext.Default.Resolving += (context, name) =>
        {
            var file = resolver?.ResolveAssemblyToPath(name) ?? Path.Combine(folder, name.Name + ".dll");
            if (!File.Exists(file)) return null;
            // One version of an assembly per process: the host carries its own, older than the one the app was built with.
            if (HostCarries(name.Name!))
                throw new InvalidOperationException($"the app needs {name.Name} {name.Version}, older in the local host: " +
                                                    "give Siyu.LocalHost a reference to it at the app's version");
            return context.LoadFromAssemblyPath(file);
        };
        AssemblyLoadContext.Default.ResolvingUnmanagedDll += (_, name) =>
            resolver?.ResolveUnmanagedDllToPath(name) is { } file ? NativeLibrary.Load(file) : IntPtr.Zero;
        return AssemblyLoadContext.Default.LoadFromAssemblyPath(path);
    }

    private static bool HostCarries(string name) =>
        ((string?)AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES") ?? "").Split(Path.PathSeparator)
        .Any(p => Path.GetFileNameWithoutExtension(p).Equals(name, StringComparison.OrdinalIgnoreCase));
}
