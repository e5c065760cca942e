using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using Siyu.Core.Consent;
using Siyu.Core.Profiles;
using Siyu.Core.Segments;

namespace Siyu.Core.Journeys;

/// <summary>What moves an instance.</summary>
public abstract record Stimulus
{
    /// <summary>The run begins at the start node.</summary>
    public sealed record Enter : Stimulus;
    /// <summary>A timer armed at <paramref name="Generation"/> is due.</summary>
    public sealed record TimerFired(long Generation) : Stimulus;
    /// <summary>An event of the person's arrived.</summary>
    public sealed record EventArrived(string EventId, string Name, JsonObject? Properties, DateTimeOffset At) : Stimulus;
    /// <summary>The pending outside effect with <paramref name="Key"/> has been carried out.</summary>
    public sealed record EffectDone(string Key, string? Note) : Stimulus;
    /// <summary>The run must end now, wherever it is: an exit event, the journey archived, the person gone.</summary>
    public sealed record Leave(string Reason) : Stimulus;
}

/// <summary>A side effect a step asks for, under a key that is the same however often the step is retried.</summary>
public abstract record JourneyEffect(string Key, string Node);

/// <summary>A message to send. Recorded atomically with the step that asks for it; the delivery layer sends it.</summary>
public sealed record DeliveryRequest(string Key, string Node, string Channel, string Template, IReadOnlyDictionary<string, string> Variables) : JourneyEffect(Key, Node);

public sealed record TagEffect(string Key, string Node, string Tag, bool Add) : JourneyEffect(Key, Node);

public sealed record SetAttributeEffect(string Key, string Node, string Attribute, JsonNode? Value) : JourneyEffect(Key, Node);

public sealed record WebhookEffect(string Key, string Node, Uri Url, JsonObject Body) : JourneyEffect(Key, Node);

public enum StepOutcome
{
    /// <summary>The instance moved (or ended); write it.</summary>
    Moved,
    /// <summary>Nothing to do: a stale timer, an event no one waits for, an ended run.</summary>
    Ignored,
    /// <summary>The step needs the person's profile: load it and step again from the same state.</summary>
    NeedsProfile,
    /// <summary>A timer came early (clocks differ): arm it again at <see cref="StepResult.TimerAt"/>.</summary>
    NotYet,
}

/// <summary>
/// What a step decided. <see cref="Sends"/> are written with the instance; <see cref="Effect"/>, when set, is an outside
/// effect the instance now waits on (it is recorded in the instance as pending, done, then reported back with
/// <see cref="Stimulus.EffectDone"/>). <see cref="TimerAt"/> is when the instance must be woken.
/// </summary>
public sealed record StepResult(StepOutcome Outcome, JourneyInstance Instance, IReadOnlyList<DeliveryRequest> Sends, JourneyEffect? Effect,
    JourneyStats Delta, DateTimeOffset? TimerAt, string? Why = null);

/// <summary>What a step may look at besides the instance: the journey, the person (when loaded), the tenant's segments, the time.</summary>
public sealed record StepInput(JourneyDefinition Journey, ProfileState? Profile, bool ProfileLoaded, Func<string, SegmentCondition?> Segments, DateTimeOffset Now);

/// <summary>
/// Carries one instance through its journey, pure: a function of the instance, a stimulus, the person and the time.
/// It runs through nodes where no time passes (conditions, splits, sends) until the run must wait (a delay, a wait
/// for an event, an outside effect) or ends. The caller writes the result under the instance's ETag, or, if someone
/// else wrote first, reads again and steps again: the same state and stimulus give the same result and effect keys.
/// </summary>
public static class JourneyInterpreter
{
    /// <summary>Nodes one step may pass; publishing rejects cycles in which no time passes, so this is a safety net.</summary>
    public const int MaxNodesPerStep = 500;
    /// <summary>How early a timer may be taken: clocks of different machines differ a little.</summary>
    public static readonly TimeSpan TimerTolerance = TimeSpan.FromSeconds(2);

    public const string ReasonExitNode = "exit";
    public const string ReasonControl = "control";
    public const string ReasonExitEvent = "exitEvent";
    public const string ReasonArchived = "archived";
    public const string ReasonProfileGone = "profileGone";

    /// <summary>A new run at the start node, before its first step.</summary>
    public static JourneyInstance NewRun(string journeyId, int version, string profileId, string slot, int run, JsonObject? context,
        string enteredBy, JourneyDefinition journey, DateTimeOffset now) => new()
    {
        JourneyId = journeyId, Version = version, ProfileId = profileId, Slot = slot, Run = run, Context = context,
        EnteredAt = now, EnteredBy = enteredBy, GoalBy = journey.Goal is null ? null : now + journey.Goal.Within,
    };

    public static StepResult Step(JourneyInstance current, Stimulus stimulus, StepInput input)
    {
        var run = new Run(current.Clone(), input);
        return run.Go(stimulus);
    }

    /// <summary>
    /// Counts a goal conversion, once per run, when the goal event comes within the window. Works on ended runs too:
    /// the control group converts (or not) without doing anything.
    /// </summary>
    public static StepResult Convert(JourneyInstance current, Stimulus.EventArrived e, JourneyDefinition journey)
    {
        var delta = new JourneyStats();
        if (journey.Goal is not { } goal || current.ConvertedAt is not null || current.GoalBy is not { } by
            || e.At < current.EnteredAt || e.At > by || !goal.Event.Matches(e.Name, e.Properties, e.At))
            return new StepResult(StepOutcome.Ignored, current, [], null, delta, null, "not a conversion");
        var next = current.Clone();
        next.ConvertedAt = e.At;
        delta.Converted = 1;
        foreach (var (split, branch) in next.Splits ?? []) delta.ConvertedBy[$"{split}:{branch}"] = 1;
        return new StepResult(StepOutcome.Moved, next, [], null, delta, null);
    }

    /// <summary>
    /// While the journey is paused, an awaited event is kept on the run instead of moving it; when the journey resumes,
    /// the wait's next timer takes the "arrived" branch.
    /// </summary>
    public static StepResult Hold(JourneyInstance current, Stimulus.EventArrived e, JourneyDefinition journey, DateTimeOffset now)
    {
        if (!current.IsActive || current.Held is not null || current.Node is null || journey.Node(current.Node) is not WaitNode wait
            || (current.WaitingSince is { } since && e.At < since) || (current.DueAt is { } due && e.At > due) || !wait.Event.Matches(e.Name, e.Properties, now))
            return new StepResult(StepOutcome.Ignored, current, [], null, new JourneyStats(), null, "not awaited");
        var next = current.Clone();
        next.Held = new HeldArrival(e.EventId, e.At);
        return new StepResult(StepOutcome.Moved, next, [], null, new JourneyStats(), null);
    }

    /// <summary>The outside effect an instance is waiting on, rebuilt from its pending record (after a restart).</summary>
    public static JourneyEffect? PendingEffect(JourneyInstance instance, StepInput input) =>
        instance.Pending is { } p && input.Journey.Nodes.TryGetValue(p.Node, out var node) ? Effect(node, p.Key, instance, input.Profile) : null;

    /// <summary>True when rebuilding the pending effect needs the profile.</summary>
    public static bool PendingNeedsProfile(JourneyInstance instance, JourneyDefinition journey) =>
        instance.Pending is { } p && journey.Nodes.TryGetValue(p.Node, out var node) && node switch
        {
            SetAttributeNode s => Templates.NeedsProfile(s.Value),
            WebhookNode w => Templates.NeedsProfile(w.Body),
            _ => false,
        };

    /// <summary>Which of a split's branches a person takes: a hash of journey, node and person, so it never changes.</summary>
    public static SplitBranch Pick(SplitNode split, string journeyId, string profileId)
    {
        var hash = SHA256.HashData(Encoding.UTF8.GetBytes($"{journeyId}\n{split.Id}\n{profileId}"));
        var roll = (int)(BitConverter.ToUInt32(hash, 0) % 100);
        var upTo = 0;
        foreach (var b in split.Branches)
        {
            upTo += b.Weight;
            if (roll < upTo) return b;
        }
        return split.Branches[^1];
    }

    private static JourneyEffect? Effect(JourneyNode node, string key, JourneyInstance i, ProfileState? profile) => node switch
    {
        TagNode t => new TagEffect(key, node.Id, t.Tag, t.Add),
        SetAttributeNode s => new SetAttributeEffect(key, node.Id, s.Attribute, Templates.Render(s.Value, i.ProfileId, profile, i.Context)),
        WebhookNode w => new WebhookEffect(key, node.Id, w.Url, new JsonObject
        {
            ["journey"] = i.JourneyId,
            ["version"] = i.Version,
            ["node"] = node.Id,
            ["profileId"] = i.ProfileId,
            ["run"] = i.Run,
            ["data"] = Templates.Render(w.Body, i.ProfileId, profile, i.Context),
        }),
        _ => null,
    };

    private sealed class Run(JourneyInstance i, StepInput input)
    {
        private readonly JourneyStats _delta = new();
        private readonly List<DeliveryRequest> _sends = new();
        private JourneyEffect? _effect;
        private readonly long _startGeneration = i.Generation;
        private DateTimeOffset Now => input.Now;
        private JourneyDefinition J => input.Journey;

        public StepResult Go(Stimulus stimulus)
        {
            switch (stimulus)
            {
                case Stimulus.Enter:
                    if (i.Node is not null || !i.IsActive) return Ignored("already started");
                    _delta.Entered = 1;
                    _delta.CountActive(i.Version, 1);
                    return Continue(J.Start);

                case Stimulus.Leave leave:
                    if (!i.IsActive) return Ignored("already ended");
                    if (i.Node is { } at) Left(at, leave.Reason);
                    End(InstanceStatus.Exited, leave.Reason);
                    return Done();

                case Stimulus.TimerFired timer:
                    if (!i.IsActive) return Ignored("ended");
                    if (timer.Generation != i.Generation || i.DueAt is null || i.Node is null) return Ignored("stale timer");
                    if (i.DueAt > Now + TimerTolerance) return new StepResult(StepOutcome.NotYet, i, [], null, _delta, i.DueAt, "not due yet");
                    return J.Node(i.Node) switch
                    {
                        DelayNode d => Continue(Leave(d, JourneyNode.Next, d.NextNode)),
                        WaitNode w when i.Held is not null => Continue(Leave(w, WaitNode.ArrivedBranch, w.Arrived)),
                        WaitNode w => Continue(Leave(w, WaitNode.TimedOutBranch, w.TimedOut)),
                        _ => Ignored("no timer at this node"),
                    };

                case Stimulus.EventArrived e:
                    if (!i.IsActive || i.Node is null || J.Node(i.Node) is not WaitNode wait) return Ignored("not waiting");
                    if (i.WaitingSince is { } since && e.At < since) return Ignored("the event happened before the wait began");
                    if (i.DueAt is { } due && e.At > due) return Ignored("the event came after the wait timed out");
                    if (!wait.Event.Matches(e.Name, e.Properties, Now)) return Ignored("not the awaited event");
                    return Continue(Leave(wait, WaitNode.ArrivedBranch, wait.Arrived));

                case Stimulus.EffectDone done:
                    if (!i.IsActive || i.Pending is not { } pending || pending.Key != done.Key) return Ignored("no such effect pending");
                    i.Pending = null;
                    var node = J.Node(pending.Node);
                    Note(done.Note);
                    return Continue(Leave(node, JourneyNode.Next, node.Exits.First().Target!));

                default:
                    return Ignored("unknown stimulus");
            }
        }

        /// <summary>Enters nodes one after another until the run has to wait or ends.</summary>
        private StepResult Continue(string? nodeId)
        {
            for (var passed = 0; nodeId is not null; passed++)
            {
                if (passed == MaxNodesPerStep)
                {
                    End(InstanceStatus.Exited, "too many steps without a pause");
                    return Done();
                }
                var node = J.Node(nodeId);
                if (NeedsProfile(node)) return new StepResult(StepOutcome.NeedsProfile, i, [], null, new JourneyStats(), null, "needs the profile");
                if (input.ProfileLoaded && input.Profile is null && NeedsProfile(node, loadedOrNot: true))
                {
                    End(InstanceStatus.Exited, ReasonProfileGone);
                    return Done();
                }
                EnterNode(node);
                nodeId = node switch
                {
                    DelayNode d => Delay(d),
                    WaitNode w => Wait(w),
                    ConditionNode c => Holds(c) ? Leave(c, "then", c.Then) : Leave(c, "else", c.Else),
                    SplitNode s => Split(s),
                    SendNode s => Send(s),
                    TagNode or SetAttributeNode or WebhookNode => Outside(node),
                    ExitNode => EndAt(InstanceStatus.Completed, ReasonExitNode),
                    _ => throw new InvalidOperationException($"node type {node.Type} cannot run"),
                };
            }
            return Done();
        }

        private bool NeedsProfile(JourneyNode node, bool loadedOrNot = false) =>
            (loadedOrNot || !input.ProfileLoaded) && node switch
            {
                ConditionNode c => c.If is not null,
                DelayNode d => d.AtTimeOfDay is not null || d.UntilAttribute is not null,
                SendNode s => s.Variables.Values.Any(Templates.NeedsProfile),
                SetAttributeNode s => Templates.NeedsProfile(s.Value),
                WebhookNode w => Templates.NeedsProfile(w.Body),
                _ => false,
            };

        private void EnterNode(JourneyNode node)
        {
            i.Node = node.Id;
            i.Steps++;
            _delta.Node(node.Id).Entered++;
            i.Path.Add(new PathStep(node.Id, Now));
            if (i.Path.Count > JourneyInstance.MaxPath) i.Path.RemoveRange(0, i.Path.Count - JourneyInstance.MaxPath);
        }

        /// <summary>Leaves <paramref name="node"/> by <paramref name="branch"/>; returns where that leads.</summary>
        private string? Leave(JourneyNode node, string branch, string? target)
        {
            Left(node.Id, branch);
            i.DueAt = null;
            i.WaitingSince = null;
            i.Held = null;
            return target;
        }

        private void Left(string nodeId, string branch)
        {
            var counts = _delta.Node(nodeId);
            counts.Left[branch] = counts.Left.GetValueOrDefault(branch) + 1;
            for (var k = i.Path.Count - 1; k >= 0; k--)
                if (i.Path[k].Node == nodeId && i.Path[k].Branch is null) { i.Path[k] = i.Path[k] with { Branch = branch }; break; }
        }

        private void Note(string? note)
        {
            if (note is null || i.Path.Count == 0) return;
            i.Path[^1] = i.Path[^1] with { Note = note };
        }

        private string? Delay(DelayNode d)
        {
            DateTimeOffset? due = null;
            if (d.For is { } span) due = Now + span;
            else if (d.AtTimeOfDay is { } at) due = NextLocal(at, TimeZoneOf(input.Profile));
            else if (d.UntilAttribute is { } name)
            {
                if (DateOf(input.Profile?.Attributes.GetValueOrDefault(name)) is { } date) due = date + d.Offset;
                else Note($"attribute '{name}' is not a date; went on at once");
            }
            if (due is null || due <= Now) return Leave(d, JourneyNode.Next, d.NextNode);
            Arm(due.Value);
            return null;
        }

        private string? Wait(WaitNode w)
        {
            i.WaitingSince = Now;
            Arm(Now + w.Timeout);
            return null;
        }

        private void Arm(DateTimeOffset due)
        {
            i.DueAt = due;
            i.Generation++;
        }

        private bool Holds(ConditionNode c)
        {
            if (c.Context is { } filter && !filter.Conditions.All(x => x.Matches(i.Context, Now))) return false;
            return c.If is null || c.If.Matches(input.Profile!, new SegmentContext(Now, input.Segments));
        }

        private string? Split(SplitNode s)
        {
            var branch = Pick(s, i.JourneyId, i.ProfileId);
            (i.Splits ??= new(StringComparer.Ordinal))[s.Id] = branch.Name;
            Left(s.Id, branch.Name);
            if (!branch.Control) return branch.Next;
            return EndAt(InstanceStatus.Completed, ReasonControl);
        }

        private string? Send(SendNode s)
        {
            var variables = s.Variables.ToDictionary(v => v.Key, v => Templates.Render(v.Value, i.ProfileId, input.Profile, i.Context), StringComparer.Ordinal);
            _sends.Add(new DeliveryRequest(EffectKey(), s.Id, s.Channel, s.Template, variables));
            return Leave(s, JourneyNode.Next, s.NextNode);
        }

        private string? Outside(JourneyNode node)
        {
            var key = EffectKey();
            i.Pending = new PendingEffect(node.Id, key);
            _effect = Effect(node, key, i, input.Profile);
            return null;
        }

        /// <summary>Journey, person, slot, run and step: the same on every retry of this step, different for any other.</summary>
        private string EffectKey() => $"{i.Key}~{i.Run}~{i.Steps}";

        private string? EndAt(string status, string reason)
        {
            if (reason == ReasonExitNode) Left(i.Node!, "end");
            End(status, reason);
            return null;
        }

        private void End(string status, string reason)
        {
            i.Status = status;
            i.EndReason = reason;
            i.EndedAt = Now;
            i.DueAt = null;
            i.WaitingSince = null;
            i.Pending = null;
            i.Held = null;
            i.Generation++;
            if (status == InstanceStatus.Completed) _delta.Completed++;
            else _delta.Exited++;
            _delta.CountActive(i.Version, -1);
        }

        private StepResult Done() =>
            new(StepOutcome.Moved, i, _sends, _effect, _delta,
                i.IsActive && i.DueAt is { } due && i.Generation != _startGeneration ? due : null);

        private StepResult Ignored(string why) => new(StepOutcome.Ignored, i, [], null, new JourneyStats(), null, why);

        private DateTimeOffset NextLocal(TimeOnly at, TimeZoneInfo zone)
        {
            var local = TimeZoneInfo.ConvertTime(Now, zone);
            var day = DateOnly.FromDateTime(local.DateTime);
            for (var k = 0; k < 3; k++)
            {
                var wall = day.AddDays(k).ToDateTime(at);
                // A wall time skipped by a clock change falls forward by the gap.
                while (zone.IsInvalidTime(wall)) wall = wall.AddMinutes(30);
                var candidate = new DateTimeOffset(wall, zone.GetUtcOffset(wall));
                if (candidate > Now) return candidate;
            }
            return Now;
        }

        private static TimeZoneInfo TimeZoneOf(ProfileState? p)
        {
            var id = p?.Preferences?.TimeZone ?? Preferences.DefaultTimeZone;
            return TimeZones.TryFind(id, out var zone) ? zone : TimeZones.TryFind(Preferences.DefaultTimeZone, out var cn) ? cn : TimeZoneInfo.Utc;
        }

        /// <summary>A date attribute: an ISO date ("2026-12-01", midnight China time) or date-time.</summary>
        private static DateTimeOffset? DateOf(JsonNode? value)
        {
            if (value is not JsonValue v || !v.TryGetValue<string>(out var text)) return null;
            if (DateOnly.TryParseExact(text, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var d))
                return new DateTimeOffset(d.ToDateTime(TimeOnly.MinValue), TimeSpan.FromHours(8));
            return DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var at) ? at : null;
        }
    }
}
