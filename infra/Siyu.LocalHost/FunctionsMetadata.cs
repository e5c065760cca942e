using Microsoft.Extensions.Configuration;
using System.Reflection;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Siyu.LocalHost;

/// <summary>One binding of a function as the worker SDK wrote it into <c>functions.metadata</c>.</summary>
public sealed record BindingInfo(string Name, string Type, string Direction, JsonObject Raw)
{
    public string? Text(string property) => Raw[property]?.GetValue<string>();

    public bool Flag(string property) => Raw[property] is JsonValue v && (v.TryGetValue<bool>(out var b) ? b : bool.TryParse(v.ToString(), out var p) && p);

    public IReadOnlyList<string> Texts(string property) =>
        Raw[property] is JsonArray a ? a.Select(n => n!.GetValue<string>()).ToList() : [];

    public bool IsTrigger => Type.EndsWith("Trigger", StringComparison.OrdinalIgnoreCase);
}

/// <summary>A function of the app: its name, the method the SDK names as its entry point, and its bindings.</summary>
public sealed record FunctionInfo(string Name, string EntryPoint, MethodInfo Method, IReadOnlyList<BindingInfo> Bindings)
{
    public BindingInfo Trigger => Bindings.Single(b => b.IsTrigger);
}

/// <summary>
/// Reads the <c>functions.metadata</c> the worker SDK generates next to the app's assembly: the same list the Functions
/// host loads, so a new function needs nothing here. Each entry point is checked against the app's own types.
/// </summary>
public static class FunctionsMetadata
{
    public const string FileName = "functions.metadata";

    public static IReadOnlyList<FunctionInfo> Read(Assembly app)
    {
        var folder = Path.GetDirectoryName(app.Location) ?? throw new InvalidOperationException($"{app.GetName().Name} has no location");
        var path = Path.Combine(folder, FileName);
        if (!File.Exists(path))
            throw new FileNotFoundException($"{FileName} is missing next to {app.GetName().Name}.dll: is Microsoft.Azure.Functions.Worker.Sdk referenced by the app?", path);
        return Parse(File.ReadAllText(path), app);
    }

    public static IReadOnlyList<FunctionInfo> Parse(string json, Assembly app)
    {
        var functions = new List<FunctionInfo>();
        foreach (var node in JsonNode.Parse(json)!.AsArray())
        {
            var f = node!.AsObject();
            var name = f["name"]!.GetValue<string>();
            var entryPoint = f["entryPoint"]!.GetValue<string>();
            var bindings = f["bindings"]!.AsArray().Select(b => b!.AsObject()).Select(b => new BindingInfo(
                b["name"]!.GetValue<string>(), b["type"]!.GetValue<string>(), b["direction"]?.GetValue<string>() ?? "In", b)).ToList();
            var method = Resolve(app, name, entryPoint);
            CheckAttributes(name, method, bindings);
            functions.Add(new FunctionInfo(name, entryPoint, method, bindings));
        }
        return functions;
    }

    /// <summary>
    /// Each input binding the metadata names is a parameter of the method carrying that binding's attribute
    /// (<c>queueTrigger</c> → <c>[QueueTrigger]</c>): a metadata file older than the code stops the start.
    /// </summary>
    private static void CheckAttributes(string function, MethodInfo method, IReadOnlyList<BindingInfo> bindings)
    {
        foreach (var binding in bindings.Where(b => b.Direction.Equals("In", StringComparison.OrdinalIgnoreCase)))
        {
            var parameter = method.GetParameters().FirstOrDefault(p => p.Name == binding.Name);
            var attribute = binding.Type + "Attribute";
            if (parameter is null || !parameter.GetCustomAttributes().Any(a => a.GetType().Name.Equals(attribute, StringComparison.OrdinalIgnoreCase)))
                throw new InvalidOperationException(
                    $"function {function}: {FileName} binds {binding.Type} '{binding.Name}' but {method.DeclaringType!.Name}.{method.Name} has no such parameter with [{binding.Type}]: rebuild the app");
        }
    }

    /// <summary>"Namespace.Type.Method": the type is everything before the last dot.</summary>
    private static MethodInfo Resolve(Assembly app, string function, string entryPoint)
    {
        var dot = entryPoint.LastIndexOf('.');
        var type = app.GetType(entryPoint[..dot], throwOnError: false)
                   ?? throw new InvalidOperationException($"function {function}: type {entryPoint[..dot]} is not in {app.GetName().Name}");
        var methods = type.GetMethods(BindingFlags.Public | BindingFlags.Instance | BindingFlags.Static)
            .Where(m => m.Name == entryPoint[(dot + 1)..]
                        && m.GetCustomAttribute<Microsoft.Azure.Functions.Worker.FunctionAttribute>()?.Name == function).ToList();
        return methods.Count == 1 ? methods[0]
            : throw new InvalidOperationException($"function {function}: {methods.Count} methods {entryPoint} carry [Function(\"{function}\")]");
    }
}

/// <summary>The parts of <c>host.json</c> the host applies: the HTTP route prefix, the queue trigger and Durable task hub settings.</summary>
public sealed record HostJson(string RoutePrefix, QueueTriggerSettings Queues, DurableSettings Durable)
{
    /// <summary>
    /// host.json beside the app, with the host's overrides applied: an app setting <c>AzureFunctionsJobHost__a__b</c>
    /// (configuration key <c>AzureFunctionsJobHost:a:b</c>) replaces host.json's <c>a.b</c>, as under the Functions host.
    /// </summary>
    public static HostJson Read(Assembly app, Microsoft.Extensions.Configuration.IConfiguration? settings = null)
    {
        var path = Path.Combine(Path.GetDirectoryName(app.Location)!, "host.json");
        return Parse(File.Exists(path) ? File.ReadAllText(path) : "{}", settings);
    }

    public static HostJson Parse(string json, Microsoft.Extensions.Configuration.IConfiguration? settings = null)
    {
        var root = JsonNode.Parse(json, documentOptions: new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true })!.AsObject();
        foreach (var (key, value) in settings?.GetSection(OverridePrefix).AsEnumerable(makePathsRelative: true) ?? [])
        {
            if (value is null) continue;
            var path = key.Split(':');
            var node = root;
            foreach (var part in path[..^1])
            {
                if (node[part] is not JsonObject next) node[part] = next = new JsonObject();
                node = next;
            }
            node[path[^1]] = value;
        }
        var extensions = root["extensions"] as JsonObject;
        var prefix = (extensions?["http"] as JsonObject)?["routePrefix"]?.GetValue<string>() ?? "api";
        var q = extensions?["queues"] as JsonObject;
        var defaults = new QueueTriggerSettings();
        var durable = extensions?["durableTask"] as JsonObject;
        var provider = durable?["storageProvider"] as JsonObject;
        var durableDefaults = new DurableSettings();
        var durableSettings = new DurableSettings
        {
            HubName = durable?["hubName"]?.GetValue<string>() ?? durableDefaults.HubName,
            ConnectionName = provider?["connectionName"]?.GetValue<string>() ?? provider?["connectionStringName"]?.GetValue<string>() ?? durableDefaults.ConnectionName,
            PartitionCount = Int(provider, "partitionCount") ?? durableDefaults.PartitionCount,
            MaxQueuePollingInterval = Time(provider, "maxQueuePollingInterval") ?? durableDefaults.MaxQueuePollingInterval,
            ControlQueueVisibilityTimeout = Time(provider, "controlQueueVisibilityTimeout") ?? durableDefaults.ControlQueueVisibilityTimeout,
            WorkItemQueueVisibilityTimeout = Time(provider, "workItemQueueVisibilityTimeout") ?? durableDefaults.WorkItemQueueVisibilityTimeout,
        };
        return new HostJson(prefix.Trim('/'), new QueueTriggerSettings
        {
            BatchSize = Int(q, "batchSize") ?? defaults.BatchSize,
            // The host's default: half a batch per core.
            NewBatchThreshold = Int(q, "newBatchThreshold") ?? Environment.ProcessorCount * (Int(q, "batchSize") ?? defaults.BatchSize) / 2,
            MaxPollingInterval = Time(q, "maxPollingInterval") ?? defaults.MaxPollingInterval,
            VisibilityTimeout = Time(q, "visibilityTimeout") ?? defaults.VisibilityTimeout,
            MaxDequeueCount = Int(q, "maxDequeueCount") ?? defaults.MaxDequeueCount,
            MessageEncoding = q?["messageEncoding"]?.GetValue<string>() ?? defaults.MessageEncoding,
        }, durableSettings);
    }

    /// <summary>The section of the app settings that overrides host.json.</summary>
    public const string OverridePrefix = "AzureFunctionsJobHost";

    // Overrides arrive as text.
    private static int? Int(JsonObject? o, string name) => o?[name] is JsonValue v
        ? v.TryGetValue<int>(out var i) ? i : int.Parse(v.GetValue<string>(), System.Globalization.CultureInfo.InvariantCulture)
        : null;

    private static TimeSpan? Time(JsonObject? o, string name) =>
        o?[name] is JsonValue v ? TimeSpan.Parse(v.GetValue<string>(), System.Globalization.CultureInfo.InvariantCulture) : null;
}

/// <summary>host.json's <c>extensions.queues</c>, with the Functions host's defaults.</summary>
public sealed record QueueTriggerSettings
{
    public int BatchSize { get; init; } = 16;
    public int NewBatchThreshold { get; init; } = 8;
    public TimeSpan MaxPollingInterval { get; init; } = TimeSpan.FromMinutes(1);
    public TimeSpan VisibilityTimeout { get; init; } = TimeSpan.Zero;
    public int MaxDequeueCount { get; init; } = 5;
    /// <summary><c>base64</c> (the default) or <c>none</c>.</summary>
    public string MessageEncoding { get; init; } = "base64";
}

/// <summary>host.json's <c>extensions.durableTask</c> (Azure Storage provider), with the Durable extension's defaults.</summary>
public sealed record DurableSettings
{
    /// <summary>May be <c>%Setting%</c>. The extension's local default.</summary>
    public string HubName { get; init; } = "TestHubName";
    public string ConnectionName { get; init; } = "AzureWebJobsStorage";
    public int PartitionCount { get; init; } = 4;
    public TimeSpan MaxQueuePollingInterval { get; init; } = TimeSpan.FromSeconds(30);
    /// <summary>How long a dequeued orchestration or activity message stays hidden: after a crash, the wait before another instance runs it.</summary>
    public TimeSpan ControlQueueVisibilityTimeout { get; init; } = TimeSpan.FromMinutes(5);
    public TimeSpan WorkItemQueueVisibilityTimeout { get; init; } = TimeSpan.FromMinutes(5);
}
