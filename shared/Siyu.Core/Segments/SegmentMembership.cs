using Siyu.Core.Profiles;

namespace Siyu.Core.Segments;

/// <summary>
/// What one refresh changed. <see cref="Entered"/> and <see cref="Exited"/> are what journeys and webhooks react to;
/// <see cref="Removed"/> are memberships of segments that no longer exist, dropped quietly (nobody "left" them).
/// </summary>
public sealed record SegmentChanges(IReadOnlyList<string> Entered, IReadOnlyList<string> Exited)
{
    public static readonly SegmentChanges None = new([], []);

    public IReadOnlyList<string> Removed { get; init; } = [];

    public bool Any => Entered.Count > 0 || Exited.Count > 0;

    /// <summary>The profile's segment list changed and must be saved.</summary>
    public bool Changed => Any || Removed.Count > 0;
}

/// <summary>Keeps a profile's segment memberships in step with the segments' rules.</summary>
public static class SegmentMembership
{
    /// <summary>
    /// Evaluates every segment against the profile and updates <see cref="ProfileState.Segments"/>: a new member is
    /// recorded as entered at <paramref name="now"/>, a member who no longer matches is taken out. Segments that are
    /// no longer defined are removed without counting as exits. A segment referred to by others is evaluated once.
    /// </summary>
    public static SegmentChanges Refresh(ProfileState p, IReadOnlyCollection<SegmentDefinition> segments, DateTimeOffset now) =>
        Refresh(p, segments, ById(segments), now);

    /// <summary>The rules by segment id, for callers that refresh many profiles against the same segments.</summary>
    public static IReadOnlyDictionary<string, SegmentCondition> ById(IEnumerable<SegmentDefinition> segments)
    {
        var rules = new Dictionary<string, SegmentCondition>(StringComparer.Ordinal);
        foreach (var s in segments) rules[s.Id] = s.Rule;
        return rules;
    }

    /// <inheritdoc cref="Refresh(ProfileState, IReadOnlyCollection{SegmentDefinition}, DateTimeOffset)"/>
    public static SegmentChanges Refresh(ProfileState p, IReadOnlyCollection<SegmentDefinition> segments,
        IReadOnlyDictionary<string, SegmentCondition> rules, DateTimeOffset now)
    {
        var ctx = new SegmentContext(now, id => rules.GetValueOrDefault(id));

        List<string>? entered = null, exited = null, removed = null;
        foreach (var s in segments)
        {
            var member = ctx.IsMember(p, s.Id);
            var was = p.Segments.ContainsKey(s.Id);
            if (member && !was)
            {
                p.Segments[s.Id] = now;
                (entered ??= new()).Add(s.Id);
            }
            else if (!member && was)
            {
                p.Segments.Remove(s.Id);
                (exited ??= new()).Add(s.Id);
            }
        }
        foreach (var id in p.Segments.Keys)
            if (!rules.ContainsKey(id)) (removed ??= new()).Add(id);
        if (removed is not null)
            foreach (var id in removed) p.Segments.Remove(id);

        return entered is null && exited is null && removed is null
            ? SegmentChanges.None
            : new SegmentChanges(entered ?? [], exited ?? []) { Removed = removed ?? [] };
    }
}
