using Siyu.Core.Events;
using Siyu.Core.Privacy;
using Siyu.Core.Profiles;
using Siyu.Core.Segments;
using Siyu.Core.Tags;
using Siyu.Core.Traits;

namespace Siyu.Core.Audience;

/// <summary>What one refresh changed on a profile.</summary>
public sealed record ProfileChanges(bool TraitsChanged, SegmentChanges Segments, IReadOnlyList<TagAdded> TagsAdded, bool ActivityPruned = false)
{
    public static readonly ProfileChanges None = new(false, SegmentChanges.None, []);
    public bool Any => TraitsChanged || ActivityPruned || Segments.Changed || TagsAdded.Count > 0;
}

/// <summary>
/// A tenant's audience definitions: segments, tag rules and trait thresholds, and the one way they are applied to a
/// profile after it changes, wherever it changed (an event, a tag, a merge, the passing of time): tag rules for the
/// events that just arrived, then traits, then segment membership (which may read both).
/// </summary>
public sealed class AudienceDefinitions(IReadOnlyList<SegmentDefinition> segments, IReadOnlyList<TagRule> tagRules, TraitSettings traits)
{
    /// <summary>At most this many segments per tenant: every profile change evaluates them all.</summary>
    public const int MaxSegments = 50;

    /// <summary>At most this many tag rules per tenant.</summary>
    public const int MaxTagRules = 100;

    public static readonly AudienceDefinitions None = new([], [], TraitSettings.Default);

    public IReadOnlyList<SegmentDefinition> Segments { get; } = segments;
    /// <summary>Built once: every profile change evaluates against it.</summary>
    private readonly IReadOnlyDictionary<string, SegmentCondition> _rules = SegmentMembership.ById(segments);
    public IReadOnlyList<TagRule> TagRules { get; } = tagRules;
    public TraitSettings Traits { get; } = traits;

    public SegmentDefinition? Segment(string id) => Segments.FirstOrDefault(s => s.Id == id);

    /// <summary>
    /// Brings a profile's derived state up to date after <paramref name="events"/> (already folded in) and any other
    /// change: rule tags for those events, traits, segments.
    /// </summary>
    public ProfileChanges Refresh(ProfileState profile, IReadOnlyList<IncomingEvent> events, DataDefinitions definitions, DateTimeOffset now)
    {
        List<TagAdded>? added = null;
        if (TagRules.Count > 0)
            foreach (var e in events)
                foreach (var tag in Tags.TagRules.Apply(profile, e, TagRules, definitions, now))
                    (added ??= []).Add(tag);
        var pruned = ActivityWindow.Prune(profile, now);
        var traitsChanged = TraitRules.Refresh(profile, Traits, now);
        var segmentChanges = SegmentMembership.Refresh(profile, Segments, _rules, now);
        return added is null && !traitsChanged && !pruned && !segmentChanges.Changed
            ? ProfileChanges.None
            : new ProfileChanges(traitsChanged, segmentChanges, added ?? [], pruned);
    }
}
