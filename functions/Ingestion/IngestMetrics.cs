using System.Diagnostics.Metrics;

namespace Siyu.Functions.Ingestion;

/// <summary>
/// Ingestion counters on System.Diagnostics.Metrics (meter "Siyu.Ingestion"), so OpenTelemetry or dotnet-counters
/// can read them; the benchmark listens to them too.
/// </summary>
public static class IngestMetrics
{
    public const string MeterName = "Siyu.Ingestion";
    private static readonly Meter Meter = new(MeterName);

    /// <summary>Events newly folded into a profile (replays not counted).</summary>
    public static readonly Counter<long> EventsCommitted = Meter.CreateCounter<long>("siyu.ingest.events_committed");
    /// <summary>Events found already stored: replays and client retries.</summary>
    public static readonly Counter<long> EventsDuplicate = Meter.CreateCounter<long>("siyu.ingest.events_duplicate");
    /// <summary>How long one queue put takes, in milliseconds: the part of acknowledgement latency spent in storage.</summary>
    public static readonly Histogram<double> EnqueueMilliseconds = Meter.CreateHistogram<double>("siyu.ingest.enqueue_ms", "ms");
    /// <summary>Events about erased people, dropped (the suppression list recognised them, or their profile is being erased).</summary>
    public static readonly Counter<long> EventsSuppressed = Meter.CreateCounter<long>("siyu.ingest.events_suppressed");
    /// <summary>Events accepted by the HTTP and WeChat endpoints and queued.</summary>
    public static readonly Counter<long> EventsAccepted = Meter.CreateCounter<long>("siyu.ingest.events_accepted");
}
