using System.Text.Json.Nodes;
using Siyu.Core.Consent;
using Siyu.Core.Events;
using Siyu.Core.Profiles;

namespace Siyu.Core.Privacy;

/// <summary>An attribute a tenant declared sensitive, and the purpose whose consent it is stored under.</summary>
public sealed record SensitiveAttribute(string Name, string Purpose);

/// <summary>
/// A tag of the tenant's taxonomy. A tag with a <see cref="SensitivePurpose"/> (e.g. "needs lactose-free formula" under
/// sensitive-health) is held only under that purpose's consent, like a sensitive attribute.
/// </summary>
public sealed record TagDefinition(string Name, string? Group, string? Description, string? SensitivePurpose)
{
    public const int MaxNameLength = 64;
    public const int MaxTextLength = 500;

    public bool Sensitive => SensitivePurpose is not null;

    /// <summary>Tag names appear in URLs, keys and segment rules: 1-64 characters, no control characters, no '/'.</summary>
    public static bool IsValidName(string? name) =>
        name is { Length: > 0 and <= MaxNameLength } && !name.Any(c => char.IsControl(c) || c is '/' or '\\' or '#' or '?') && name.Trim() == name;
}

/// <summary>
/// A tenant's declarations about its data: its tag taxonomy, and what is sensitive. Sensitive attributes and tags
/// (PIPL art. 28-29: health, finance, biometrics, minors, precise location) are kept only while the person's consent
/// for their purpose is granted, never in event history, and shown only to roles allowed to see them.
/// </summary>
public sealed class DataDefinitions
{
    public static readonly DataDefinitions None = new([]);

    private readonly Dictionary<string, SensitiveAttribute> _sensitive;
    private readonly Dictionary<string, TagDefinition> _tags;

    public DataDefinitions(IEnumerable<SensitiveAttribute> sensitive, IEnumerable<TagDefinition>? tags = null)
    {
        _sensitive = sensitive.ToDictionary(s => s.Name, StringComparer.Ordinal);
        _tags = (tags ?? []).ToDictionary(t => t.Name, StringComparer.Ordinal);
    }

    public IReadOnlyCollection<TagDefinition> Tags => _tags.Values;

    public TagDefinition? Tag(string name) => _tags.GetValueOrDefault(name);

    public bool IsSensitiveTag(string tag) => _tags.TryGetValue(tag, out var t) && t.Sensitive;

    /// <summary>May the person carry this tag, with this consent? (Unknown tags are the caller's to refuse.)</summary>
    public bool MayTag(string tag, ConsentState consent) =>
        !_tags.TryGetValue(tag, out var t) || t.SensitivePurpose is not { } purpose || consent.IsGranted(purpose, ConsentVocabulary.AllChannels);

    public IReadOnlyCollection<SensitiveAttribute> Sensitive => _sensitive.Values;

    public bool IsSensitive(string attribute) => _sensitive.ContainsKey(attribute);

    public string? PurposeOf(string attribute) => _sensitive.TryGetValue(attribute, out var s) ? s.Purpose : null;

    /// <summary>May this attribute be stored for a person with this consent? Storing is purpose-bound, not channel-bound.</summary>
    public bool MayStore(string attribute, ConsentState consent) =>
        PurposeOf(attribute) is not { } purpose || consent.IsGranted(purpose, ConsentVocabulary.AllChannels);

    /// <summary>Removes sensitive attributes and tags whose consent is not (or no longer) granted. Returns the names removed.</summary>
    public IReadOnlyList<string> Enforce(ProfileState profile)
    {
        var removed = new List<string>();
        if (_sensitive.Count > 0)
        {
            removed.AddRange(profile.Attributes.Keys.Where(a => !MayStore(a, profile.Consent)).ToList());
            foreach (var name in removed) profile.Attributes.Remove(name);
        }
        if (profile.Tags.Count > 0)
        {
            var tags = profile.Tags.Keys.Where(t => !MayTag(t, profile.Consent)).ToList();
            foreach (var tag in tags) profile.Tags.Remove(tag);
            removed.AddRange(tags.Select(t => "tag:" + t));
        }
        return removed;
    }

    /// <summary>Tags as a role sees them: sensitive ones only for those allowed.</summary>
    public IReadOnlyDictionary<string, TagMark> VisibleTags(IReadOnlyDictionary<string, TagMark> tags, bool maySeeSensitive) =>
        maySeeSensitive || !tags.Keys.Any(IsSensitiveTag)
            ? tags
            : tags.Where(t => !IsSensitiveTag(t.Key)).ToDictionary(t => t.Key, t => t.Value, StringComparer.Ordinal);

    /// <summary>The event as it may be kept in history: its traits without any sensitive attribute.</summary>
    public IncomingEvent ForHistory(IncomingEvent e)
    {
        if (_sensitive.Count == 0 || e.Traits is null || !e.Traits.Any(t => IsSensitive(t.Key))) return e;
        var traits = new JsonObject();
        foreach (var (name, value) in e.Traits)
            if (!IsSensitive(name)) traits[name] = value?.DeepClone();
        return e with { Traits = traits };
    }

    /// <summary>Attributes as a role sees them: sensitive ones only for those allowed.</summary>
    public IReadOnlyDictionary<string, JsonNode?> Visible(IReadOnlyDictionary<string, JsonNode?> attributes, bool maySeeSensitive) =>
        maySeeSensitive || _sensitive.Count == 0
            ? attributes
            : attributes.Where(a => !IsSensitive(a.Key)).ToDictionary(a => a.Key, a => a.Value, StringComparer.Ordinal);
}
