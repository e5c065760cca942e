using System.Text.Json.Nodes;

namespace Siyu.Core.Journeys;

public static class InstanceStatus
{
    public const string Active = "active";
    /// <summary>Reached an exit node, or a split's control branch.</summary>
    public const string Completed = "completed";
    /// <summary>Left early: an exit event, the journey archived, or the person gone.</summary>
    public const string Exited = "exited";
}

/// <summary>One node passed: when, and by which branch it was left (null while still there).</summary>
public sealed record PathStep(string Node, DateTimeOffset At, string? Branch = null, string? Note = null);

/// <summary>An outside effect (tag, attribute, webhook) under way: recorded before it happens, cleared after.</summary>
public sealed record PendingEffect(string Node, string Key);

/// <summary>An awaited event that arrived while the journey was paused; the wait takes it when the journey resumes.</summary>
public sealed record HeldArrival(string EventId, DateTimeOffset At);

/// <summary>
/// One person's run through one journey: the whole state, kept in one table row and changed under its ETag.
/// <see cref="Generation"/> grows with every move, so a timer armed for an earlier position is recognised as stale.
/// </summary>
public sealed class JourneyInstance
{
    public const int MaxPath = 100;

    public required string JourneyId { get; init; }
    public required string ProfileId { get; set; }
    /// <summary>The run slot: "0" for once/afterExit journeys, a hash of the dedupe value for everyTime ones.</summary>
    public required string Slot { get; init; }
    public required int Version { get; set; }
    public int Run { get; set; } = 1;
    public string Status { get; set; } = InstanceStatus.Active;
    public string? Node { get; set; }
    public long Generation { get; set; }
    /// <summary>When the current delay ends or the current wait times out.</summary>
    public DateTimeOffset? DueAt { get; set; }
    /// <summary>When the current wait began: an awaited event that happened earlier does not count.</summary>
    public DateTimeOffset? WaitingSince { get; set; }
    public JsonObject? Context { get; set; }
    public DateTimeOffset EnteredAt { get; set; }
    /// <summary>What let the person in: an event id, "api", or a campaign.</summary>
    public string? EnteredBy { get; set; }
    public DateTimeOffset? EndedAt { get; set; }
    public string? EndReason { get; set; }
    /// <summary>Split node → branch taken: goal conversions are counted per branch.</summary>
    public Dictionary<string, string>? Splits { get; set; }
    public DateTimeOffset? GoalBy { get; set; }
    public DateTimeOffset? ConvertedAt { get; set; }
    /// <summary>Steps taken in this run: part of every effect's idempotency key, so a loop's second send is a new one.</summary>
    public int Steps { get; set; }
    public List<PathStep> Path { get; set; } = new();
    public PendingEffect? Pending { get; set; }
    public HeldArrival? Held { get; set; }

    public bool IsActive => Status == InstanceStatus.Active;

    /// <summary>The key of this run, unique in the tenant: journey, person, slot.</summary>
    public string Key => $"{JourneyId}~{ProfileId}~{Slot}";

    public JourneyInstance Clone() => new()
    {
        JourneyId = JourneyId, ProfileId = ProfileId, Slot = Slot, Version = Version, Run = Run, Status = Status, Node = Node,
        Generation = Generation, DueAt = DueAt, WaitingSince = WaitingSince, Context = Context?.DeepClone().AsObject(),
        EnteredAt = EnteredAt, EnteredBy = EnteredBy, EndedAt = EndedAt, EndReason = EndReason,
        Splits = Splits is null ? null : new(Splits, StringComparer.Ordinal), GoalBy = GoalBy, ConvertedAt = ConvertedAt,
        Steps = Steps, Path = [.. Path], Pending = Pending, Held = Held,
    };
}
