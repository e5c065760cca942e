using System.Diagnostics;
using System.Diagnostics.Metrics;
using Azure.Core;
using Azure.Core.Pipeline;

namespace Siyu.Storage.Account;

/// <summary>
/// Counts every storage request by service, table or queue, and kind (point read, query, batch, write, delete, put,
/// get, …), with its time on the wire: <c>siyu.storage.requests</c> and <c>siyu.storage.request.duration</c>. It is
/// how a benchmark tells what one send or one step costs in storage operations, before anything is optimised.
/// </summary>
public sealed class StorageRequestMeter : HttpPipelinePolicy
{
    public const string MeterName = "Siyu.Storage";
    private static readonly Meter Meter = new(MeterName);
    private static readonly Counter<long> Requests = Meter.CreateCounter<long>("siyu.storage.requests");
    private static readonly Histogram<double> Duration = Meter.CreateHistogram<double>("siyu.storage.request.duration", "ms");

    public static StorageRequestMeter Instance { get; } = new();

    public override void Process(HttpMessage message, ReadOnlyMemory<HttpPipelinePolicy> pipeline)
    {
        var clock = Stopwatch.StartNew();
        try { ProcessNext(message, pipeline); }
        finally { Record(message, clock.Elapsed); }
    }

    public override async ValueTask ProcessAsync(HttpMessage message, ReadOnlyMemory<HttpPipelinePolicy> pipeline)
    {
        var clock = Stopwatch.StartNew();
        try { await ProcessNextAsync(message, pipeline); }
        finally { Record(message, clock.Elapsed); }
    }

    private static void Record(HttpMessage message, TimeSpan elapsed)
    {
        if (!Requests.Enabled && !Duration.Enabled) return;
        var (target, kind) = Classify(message.Request.Method, message.Request.Uri.Path, message.Request.Uri.Query);
        var tags = new TagList { { "target", target }, { "kind", kind } };
        Requests.Add(1, tags);
        Duration.Record(elapsed.TotalMilliseconds, tags);
    }

    /// <summary>What a storage request is, from its method and address: (table or queue name, kind of operation).</summary>
    public static (string Target, string Kind) Classify(RequestMethod method, string path, string query)
    {
        // Azurite addresses start with the account name; Azure's carry it in the host. Either way the tail decides.
        var parts = path.Trim('/').Split('/');
        var messages = Array.LastIndexOf(parts, "messages");
        if (messages > 0)
        {
            var queue = parts[messages - 1];
            if (messages < parts.Length - 1) return (queue, method == RequestMethod.Delete ? "delete" : "update");
            return (queue, method.Method switch
            {
                "POST" => "put",
                "GET" => query.Contains("peekonly=true", StringComparison.OrdinalIgnoreCase) ? "peek" : "get",
                "DELETE" => "clear",
                _ => method.Method.ToLowerInvariant(),
            });
        }
        var last = parts[^1];
        if (last == "$batch") return ("tables", "batch");
        var paren = last.IndexOf('(');
        if (paren < 0) return (last, method == RequestMethod.Post ? "insert" : method.Method.ToLowerInvariant());
        var keyed = last.Length > paren + 2; // "table(PartitionKey=…,RowKey=…)" rather than "table()"
        return (last[..paren], method.Method switch
        {
            "GET" => keyed ? "read" : "query",
            "PUT" or "MERGE" or "PATCH" => "write",
            "DELETE" => "delete",
            _ => method.Method.ToLowerInvariant(),
        });
    }
}
