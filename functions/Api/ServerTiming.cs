using System.Diagnostics;
using System.Globalization;

namespace Siyu.Functions.Api;

/// <summary>
/// The W3C <c>Server-Timing</c> header of one answer: how long each named step took (<c>read;dur=12.3, mark;dur=40.1</c>),
/// so a client under load can see where a request's time went. Steps timed more than once add up.
/// </summary>
public sealed class ServerTiming(HttpResponse response)
{
    private readonly List<(string Name, double Ms)> steps = [];

    public async Task<T> Time<T>(string name, Task<T> step)
    {
        var start = Stopwatch.GetTimestamp();
        try { return await step; }
        finally { Add(name, Stopwatch.GetElapsedTime(start).TotalMilliseconds); }
    }

    public async Task Time(string name, Task step)
    {
        var start = Stopwatch.GetTimestamp();
        try { await step; }
        finally { Add(name, Stopwatch.GetElapsedTime(start).TotalMilliseconds); }
    }

    public T Time<T>(string name, Func<T> step)
    {
        var start = Stopwatch.GetTimestamp();
        try { return step(); }
        finally { Add(name, Stopwatch.GetElapsedTime(start).TotalMilliseconds); }
    }

    /// <summary>Sets the header (before the body is written).</summary>
    public void Write()
    {
        lock (steps)
            response.Headers["Server-Timing"] = string.Join(", ", steps.GroupBy(s => s.Name)
                .Select(g => string.Create(CultureInfo.InvariantCulture, $"{g.Key};dur={g.Sum(s => s.Ms):0.#}")));
    }

    private void Add(string name, double ms)
    {
        lock (steps) steps.Add((name, ms));
    }
}
