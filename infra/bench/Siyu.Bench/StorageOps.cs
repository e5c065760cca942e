using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using Siyu.Storage.Account;

namespace Siyu.Bench;

/// <summary>
/// Listens to the app's storage request meter: how many requests of each kind (point read, query, batch, put, get…)
/// went to each table and queue between two moments, and their time on the wire. Printed per unit of work (per send,
/// per step), it says what to optimise.
/// </summary>
public sealed class StorageOps : IDisposable
{
    private readonly MeterListener _listener = new();
    private readonly ConcurrentDictionary<(string Target, string Kind), (long Count, double Ms)> _seen = new();

    public StorageOps()
    {
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter.Name == StorageRequestMeter.MeterName && instrument.Name == "siyu.storage.request.duration") listener.EnableMeasurementEvents(instrument);
        };
        _listener.SetMeasurementEventCallback<double>((_, ms, tags, _) =>
        {
            string target = "?", kind = "?";
            foreach (var t in tags)
            {
                if (t.Key == "target") target = t.Value as string ?? "?";
                else if (t.Key == "kind") kind = t.Value as string ?? "?";
            }
            _seen.AddOrUpdate((target, kind), (1, ms), (_, v) => (v.Count + 1, v.Ms + ms));
        });
        _listener.Start();
    }

    public IReadOnlyDictionary<(string Target, string Kind), (long Count, double Ms)> Snapshot() => new Dictionary<(string, string), (long, double)>(_seen);

    /// <summary>Requests since <paramref name="before"/>, per <paramref name="units"/> units of work, busiest first.</summary>
    public string Report(IReadOnlyDictionary<(string Target, string Kind), (long Count, double Ms)> before, double units, string unit)
    {
        var rows = _seen.Select(kv =>
        {
            var b = before.GetValueOrDefault(kv.Key);
            return (kv.Key.Target, kv.Key.Kind, Count: kv.Value.Count - b.Count, Ms: kv.Value.Ms - b.Ms);
        }).Where(r => r.Count > 0).OrderByDescending(r => r.Count).ToList();
        var lines = new List<string> { $"| storage request | count | per {unit} | mean ms |", "|---|---|---|---|" };
        lines.AddRange(rows.Select(r => $"| {r.Target} {r.Kind} | {r.Count:N0} | {r.Count / units:F3} | {r.Ms / r.Count:F1} |"));
        lines.Add($"| **all** | {rows.Sum(r => r.Count):N0} | {rows.Sum(r => r.Count) / units:F2} | |");
        return string.Join(Environment.NewLine, lines);
    }

    public void Dispose() => _listener.Dispose();
}
