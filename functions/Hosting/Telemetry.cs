using System.Diagnostics;
using System.Text.Json;
using Azure.Monitor.OpenTelemetry.Exporter;
using Microsoft.Azure.Functions.Worker.OpenTelemetry;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace Siyu.Functions.Hosting;

/// <summary>
/// Traces and metrics with OpenTelemetry, exported to Application Insights (<c>APPLICATIONINSIGHTS_CONNECTION_STRING</c>)
/// and/or an OTLP collector (<c>OTEL_EXPORTER_OTLP_ENDPOINT</c>); the worker's invocation spans join the host's traces
/// (Worker.OpenTelemetry). A request's span carries its request id (<c>siyu.request_id</c>, the <c>X-Request-Id</c>
/// header and the problem+json <c>requestId</c>).
/// <para>
/// A trace follows the work across queues: every message the app queues (ingest, journeys, deliveries, campaigns)
/// starts with <c>"traces"</c>, the W3C trace context of what queued it (for ingest, of each request whose events share
/// the message), and the handler round that takes it runs in a span (<see cref="Round"/>) that continues the first
/// message's trace and links to every message's. So a campaign request, its fan-out, the delivery round and the
/// provider call it makes are one trace when they go one message at a time, and linked traces when rounds gather many.
/// Trace contexts are ids only: no personal data travels in them.
/// </para>
/// </summary>
public static class Telemetry
{
    public const string SourceName = "Siyu";
    public static readonly ActivitySource Source = new(SourceName);
    public const string RequestIdTag = "siyu.request_id";
    private const int MaxTraces = 16;

    /// <summary>
    /// On when there is somewhere to send it (Application Insights or OTLP), or when <c>Telemetry:Enabled</c> says so
    /// (a test that keeps spans in memory): without an exporter, recording spans would only cost.
    /// </summary>
    public static IServiceCollection AddSiyuTelemetry(this IServiceCollection services, IConfiguration config)
    {
        var azureMonitor = !string.IsNullOrEmpty(config["APPLICATIONINSIGHTS_CONNECTION_STRING"]);
        var otlp = !string.IsNullOrEmpty(config["OTEL_EXPORTER_OTLP_ENDPOINT"]);
        if (!azureMonitor && !otlp && !config.GetValue("Telemetry:Enabled", false)) return services;
        var otel = services.AddOpenTelemetry()
            .ConfigureResource(r => r.AddService("siyu-functions"))
            .WithTracing(t => t.AddSource(SourceName).AddAspNetCoreInstrumentation().AddHttpClientInstrumentation())
            .WithMetrics(m => m.AddMeter("Siyu.*").AddAspNetCoreInstrumentation().AddHttpClientInstrumentation());
        otel.UseFunctionsWorkerDefaults();
        if (azureMonitor) otel.UseAzureMonitorExporter();
        if (otlp) otel.UseOtlpExporter();
        return services;
    }

    /// <summary>The trace context of the work running now, to put in a message it queues; null when nothing traces.</summary>
    public static string? Current => Activity.Current?.Id is { } id && Activity.Current.IdFormat == ActivityIdFormat.W3C ? id : null;

    /// <summary><paramref name="json"/> (a JSON object) with <c>"traces"</c> first: <paramref name="traces"/>, or the current one.</summary>
    public static string Stamp(string json, IEnumerable<string?>? traces = null)
    {
        var list = (traces ?? [Current]).Where(t => t is not null).Distinct().Take(MaxTraces).ToList();
        if (list.Count == 0 || json.Length < 2 || json[0] != '{') return json;
        var head = "{\"traces\":" + JsonSerializer.Serialize(list) + (json[1] == '}' ? "" : ",");
        return head + json[1..];
    }

    /// <summary>The trace contexts a message starts with (see <see cref="Stamp"/>); read from its head only.</summary>
    public static IEnumerable<ActivityContext> TracesOf(string text)
    {
        if (!text.StartsWith("{\"traces\":[", StringComparison.Ordinal)) yield break;
        var end = text.IndexOf(']', 11);
        if (end < 0) yield break;
        foreach (var part in text[11..end].Split(','))
            if (ActivityContext.TryParse(part.Trim().Trim('"'), null, out var context)) yield return context;
    }

    /// <summary>
    /// The span a handler round runs in: a consumer span of the queue, continuing the first message's trace and linked
    /// to every message's. Null when nothing listens.
    /// </summary>
    /// <summary>
    /// A span for an orchestration's step, continuing the trace of the request that started the orchestration
    /// (<paramref name="trace"/>: its W3C traceparent, ids only, carried in the orchestration's input); null when nothing traces.
    /// </summary>
    public static Activity? Step(string name, string? trace) =>
        trace is not null && ActivityContext.TryParse(trace, null, out var parent)
            ? Source.StartActivity(name, ActivityKind.Internal, parent)
            : Source.StartActivity(name, ActivityKind.Internal);

    public static Activity? Round(string queue, IReadOnlyList<string> messages)
    {
        if (!Source.HasListeners()) return null; // tracing off: no span, and no message read for its traces
        var contexts = messages.SelectMany(TracesOf).Distinct().Take(MaxTraces * 4).ToList();
        var activity = Source.StartActivity($"{queue} process", ActivityKind.Consumer,
            contexts.Count > 0 ? contexts[0] : default, links: contexts.Select(c => new ActivityLink(c)));
        activity?.SetTag("messaging.system", "azure_queue_storage");
        activity?.SetTag("messaging.destination.name", queue);
        activity?.SetTag("messaging.batch.message_count", messages.Count);
        return activity;
    }
}
