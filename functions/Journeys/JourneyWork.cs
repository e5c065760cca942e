using System.Text.Json;
using System.Text.Json.Nodes;
using Azure;
using Microsoft.Extensions.Options;
using Siyu.Functions.Hosting;
using Siyu.Storage.Queues;

namespace Siyu.Functions.Journeys;

/// <summary>
/// A journey work message: the due timers or the events of one (tenant, profile bucket) partition, so its runs are
/// read and written together.
/// </summary>
public sealed record JourneyMessage(string Kind, string Tenant, int Bucket, List<TimerItem>? Timers = null, List<EventItem>? Events = null, List<LeaveItem>? Leave = null)
{
    public const string TimersKind = "timers";
    public const string EventsKind = "events";
    public const string LeaveKind = "leave";
}

public sealed record TimerItem(string Run, long Gen, DateTimeOffset? Due = null);

public sealed record EventItem(string Profile, string Id, string Name, DateTimeOffset At, JsonObject? Properties);

public sealed record LeaveItem(string Run, string Reason);

/// <summary>Sends journey work to the queue of its partition: a person's runs always go through the same queue.</summary>
public sealed class JourneyQueue(IQueueService queues, QueueNames names)
{
    /// <summary>Queue messages stay well under the 64 KB limit.</summary>
    public const int MaxMessageChars = 40_000;

    public string QueueFor(int bucket) => names.Journeys[bucket % names.Journeys.Count];

    /// <summary>Sends one message, visible at once or after <paramref name="delay"/>.</summary>
    public async Task SendAsync(JourneyMessage message, CancellationToken ct, TimeSpan delay = default)
    {
        var queue = QueueFor(message.Bucket);
        await queues.Queue(queue).SendAsync(Telemetry.Stamp(JsonSerializer.Serialize(message, JsonSerializerOptions.Web)), visibilityDelay: delay > TimeSpan.Zero ? delay : null, ct: ct);
    }

    /// <summary>Messages waiting in the journey queues, or being worked on (Queue Storage's approximate counts).</summary>
    public async Task<long> BacklogAsync(CancellationToken ct)
    {
        var counts = await Task.WhenAll(names.Journeys.Select(q => queues.Queue(q).GetApproximateCountAsync(ct)));
        return counts.Sum();
    }

    /// <summary>Events of one partition, in as few messages as fit.</summary>
    public async Task SendEventsAsync(string tenantId, int bucket, IReadOnlyList<EventItem> events, CancellationToken ct)
    {
        var batch = new List<EventItem>();
        var chars = 0;
        foreach (var e in events)
        {
            var size = 200 + (e.Properties?.ToJsonString().Length ?? 0);
            if (batch.Count > 0 && chars + size > MaxMessageChars)
            {
                await SendAsync(new JourneyMessage(JourneyMessage.EventsKind, tenantId, bucket, Events: batch), ct);
                batch = new();
                chars = 0;
            }
            batch.Add(e);
            chars += size;
        }
        if (batch.Count > 0) await SendAsync(new JourneyMessage(JourneyMessage.EventsKind, tenantId, bucket, Events: batch), ct);
    }
}

/// <summary>Works the journey queues: each message is one partition's timers or events, handed to <see cref="JourneyEngine"/>.</summary>
public sealed class JourneyWork(JourneyEngine engine, ILogger<JourneyWork> log) : IQueueHandler
{
    public async Task<IReadOnlyList<WorkOutcome>> HandleAsync(IReadOnlyList<QueueWorkItem> batch, CancellationToken ct)
    {
        var outcomes = new WorkOutcome?[batch.Count];
        var parsed = new List<(int Index, JourneyMessage Message)>();
        for (var i = 0; i < batch.Count; i++)
        {
            try
            {
                var m = JsonSerializer.Deserialize<JourneyMessage>(batch[i].Text, JsonSerializerOptions.Web);
                var invalid = m is null ? "empty" : Invalid(m);
                if (invalid is null) parsed.Add((i, m!));
                else outcomes[i] = WorkOutcome.Poison($"journey message: {invalid}");
            }
            catch (JsonException e) { outcomes[i] = WorkOutcome.Poison($"unreadable journey message: {e.Message}"); }
        }

        // Messages of one partition run together (one read and one write for all); partitions run side by side.
        var groups = parsed.GroupBy(p => (p.Message.Tenant, p.Message.Bucket)).ToList();
        await Parallel.ForEachAsync(groups, new ParallelOptions { MaxDegreeOfParallelism = 8, CancellationToken = ct }, async (g, token) =>
        {
            var work = g.SelectMany(p => Work(p.Message)).ToList();
            WorkOutcome outcome;
            try
            {
                await engine.RunAsync(g.Key.Tenant, g.Key.Bucket, work, token);
                outcome = WorkOutcome.Done;
            }
            catch (Exception e) when (e is RequestFailedException or IOException or HttpRequestException or InvalidOperationException)
            {
                log.LogWarning(e, "Journey work of {Tenant}/{Bucket} stopped; it resumes on retry", g.Key.Tenant, g.Key.Bucket);
                outcome = WorkOutcome.Retry($"journey work stopped: {e.Message}");
            }
            foreach (var (index, _) in g) outcomes[index] = outcome;
        });
        return outcomes.Select(o => o ?? WorkOutcome.Retry("not handled")).ToList();
    }

    private static IEnumerable<RunWork> Work(JourneyMessage m) => m.Kind switch
    {
        JourneyMessage.TimersKind => m.Timers!.Select(t => (RunWork)new RunWork.Timer(t.Run, t.Gen, t.Due)),
        JourneyMessage.EventsKind => m.Events!.OrderBy(e => e.At).Select(e => (RunWork)new RunWork.Event(e.Profile, new JourneyEvent(e.Id, e.Name, e.At, e.Properties))),
        _ => m.Leave!.Select(l => (RunWork)new RunWork.Leave(l.Run, l.Reason)),
    };

    private static string? Invalid(JourneyMessage m)
    {
        if (string.IsNullOrEmpty(m.Tenant)) return "no tenant";
        if (m.Bucket is < 0 or >= Siyu.Core.Storage.Ids.ProfileBuckets) return $"bucket {m.Bucket} out of range";
        return m.Kind switch
        {
            JourneyMessage.TimersKind when m.Timers is { Count: > 0 } => null,
            JourneyMessage.EventsKind when m.Events is { Count: > 0 } && m.Events.All(e => Siyu.Core.Storage.Ids.IsProfileId(e.Profile)) => null,
            JourneyMessage.LeaveKind when m.Leave is { Count: > 0 } => null,
            _ => $"kind '{m.Kind}' without its items",
        };
    }
}
