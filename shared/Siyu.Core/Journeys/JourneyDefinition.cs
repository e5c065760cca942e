using System.Text.Json.Nodes;
using Siyu.Core.Conditions;
using Siyu.Core.Segments;

namespace Siyu.Core.Journeys;

/// <summary>
/// A published journey: how people come in, what they go through, when they leave, and what counts as success.
/// Parsed and validated by <see cref="JourneyParser"/>; immutable, so running instances can keep the version they
/// entered with.
/// </summary>
public sealed record JourneyDefinition(
    string Name,
    JourneyEntry Entry,
    IReadOnlyList<EventTrigger> ExitOn,
    JourneyGoal? Goal,
    string Start,
    IReadOnlyDictionary<string, JourneyNode> Nodes)
{
    public JourneyNode Node(string id) => Nodes.TryGetValue(id, out var n) ? n : throw new KeyNotFoundException($"journey has no node '{id}'");

    /// <summary>Every event name this journey reacts to, for the cheap filter in front of it.</summary>
    public IEnumerable<string> EventNames =>
        new[] { Entry.Event?.Name }.OfType<string>()
            .Concat(Entry.On == EntryKind.Segment ? [SegmentEvents.Entered] : [])
            .Concat(ExitOn.Select(e => e.Name))
            .Concat(Goal is null ? [] : [Goal.Event.Name])
            .Concat(Nodes.Values.OfType<WaitNode>().Select(w => w.Event.Name));
}

public enum EntryKind { Event, Segment, Api }

/// <summary>Who may come in again: never, once the previous run ended, or every time (one run per dedupe value).</summary>
public enum ReentryPolicy { Once, AfterExit, EveryTime }

/// <summary>
/// How people enter. <see cref="DedupeKey"/> (every-time entry) is a property path of the entering event whose value
/// names the run, so the same cart entering twice is one run, and a different cart is another.
/// </summary>
public sealed record JourneyEntry(EntryKind On, EventTrigger? Event, string? Segment, ReentryPolicy Reentry, string? DedupeKey);

/// <summary>An event by name, optionally narrowed by its properties.</summary>
public sealed record EventTrigger(string Name, PropertyFilter? Where)
{
    public bool Matches(string name, JsonObject? properties, DateTimeOffset now) =>
        name == Name && (Where is null || Where.Conditions.All(c => c.Matches(properties, now)));
}

/// <summary>What counts as a conversion, and for how long after entry it still counts.</summary>
public sealed record JourneyGoal(EventTrigger Event, TimeSpan Within);

/// <summary>One step of a journey. <see cref="Exits"/> names where each of its branches leads.</summary>
public abstract record JourneyNode(string Id)
{
    public const string Next = "next";

    public abstract string Type { get; }
    public abstract IEnumerable<(string Branch, string? Target)> Exits { get; }
    /// <summary>Time passes here (a delay or a wait): a cycle through such a node cannot spin.</summary>
    public virtual bool Pauses => false;
}

/// <summary>Waits a fixed time, until a local time of day, or until a date attribute (± an offset).</summary>
public sealed record DelayNode(string Id, TimeSpan? For, TimeOnly? AtTimeOfDay, string? UntilAttribute, TimeSpan Offset, string NextNode) : JourneyNode(Id)
{
    public override string Type => "delay";
    public override IEnumerable<(string, string?)> Exits => [(Next, NextNode)];
    public override bool Pauses => true;
}

/// <summary>Waits for an event; goes on by "arrived" when it comes, by "timedOut" when it does not in time.</summary>
public sealed record WaitNode(string Id, EventTrigger Event, TimeSpan Timeout, string Arrived, string TimedOut) : JourneyNode(Id)
{
    public const string ArrivedBranch = "arrived";
    public const string TimedOutBranch = "timedOut";
    public override string Type => "waitForEvent";
    public override IEnumerable<(string, string?)> Exits => [(ArrivedBranch, Arrived), (TimedOutBranch, TimedOut)];
    public override bool Pauses => true;
}

/// <summary>
/// Branches on the person (a segment-language rule over attributes, traits, tags, segments, consent) and on the
/// run's context variables. Both must hold when both are given.
/// </summary>
public sealed record ConditionNode(string Id, SegmentCondition? If, PropertyFilter? Context, string Then, string Else) : JourneyNode(Id)
{
    public override string Type => "condition";
    public override IEnumerable<(string, string?)> Exits => [("then", Then), ("else", Else)];
}

/// <summary>A weighted random split, sticky per person. A control branch has no next: the run is recorded and ends there.</summary>
public sealed record SplitNode(string Id, IReadOnlyList<SplitBranch> Branches) : JourneyNode(Id)
{
    public override string Type => "split";
    public override IEnumerable<(string, string?)> Exits => Branches.Where(b => !b.Control).Select(b => (b.Name, (string?)b.Next));
}

public sealed record SplitBranch(string Name, int Weight, string? Next, bool Control);

/// <summary>A message over a channel. Until channels deliver, a send records a delivery request.</summary>
public sealed record SendNode(string Id, string Channel, string Template, IReadOnlyDictionary<string, string> Variables, string NextNode) : JourneyNode(Id)
{
    public override string Type => "send";
    public override IEnumerable<(string, string?)> Exits => [(Next, NextNode)];
}

public sealed record TagNode(string Id, string Tag, bool Add, string NextNode) : JourneyNode(Id)
{
    public override string Type => Add ? "tag" : "untag";
    public override IEnumerable<(string, string?)> Exits => [(Next, NextNode)];
}

/// <summary>Sets a profile attribute. A string value may be a template (<c>{{context.cartId}}</c>).</summary>
public sealed record SetAttributeNode(string Id, string Attribute, JsonNode? Value, string NextNode) : JourneyNode(Id)
{
    public override string Type => "setAttribute";
    public override IEnumerable<(string, string?)> Exits => [(Next, NextNode)];
}

/// <summary>POSTs to a URL, with retries, under an idempotency key.</summary>
public sealed record WebhookNode(string Id, Uri Url, JsonNode? Body, string NextNode) : JourneyNode(Id)
{
    public override string Type => "webhook";
    public override IEnumerable<(string, string?)> Exits => [(Next, NextNode)];
}

/// <summary>The end of the road: the run is complete.</summary>
public sealed record ExitNode(string Id) : JourneyNode(Id)
{
    public override string Type => "exit";
    public override IEnumerable<(string, string?)> Exits => [];
}
