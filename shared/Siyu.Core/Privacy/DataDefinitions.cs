using System.Text.Json.Nodes;
using Siyu.Core.Consent;
using Siyu.Core.Events;
using Siyu.Core.Profiles;

namespace Siyu.Core.Privacy;

/// <summary>An attribute a tenant declared sensitive, and the purpose whose consent it is stored under.</summary>
public sealed record SensitiveAttribute(string Name, string Purpose);

/// <summary>
/// A tenant's declarations about its data. Sensitive attributes (PIPL art. 28-29: health, finance, biometrics,
/// minors, precise location) are kept only while the person's consent for their purpose is granted, never in event
/// history, and shown only to roles allowed to see them.
/// </summary>
public sealed class DataDefinitions
{
    public static readonly DataDefinitions None = new([]);

    private readonly Dictionary<string, SensitiveAttribute> _sensitive;

    public DataDefinitions(IEnumerable<SensitiveAttribute> sensitive) =>
        _sensitive = sensitive.ToDictionary(s => s.Name, StringComparer.Ordinal);

    public IReadOnlyCollection<SensitiveAttribute> Sensitive => _sensitive.Values;

    public bool IsSensitive(string attribute) => _sensitive.ContainsKey(attribute);

    public string? PurposeOf(string attribute) => _sensitive.TryGetValue(attribute, out var s) ? s.Purpose : null;

    /// <summary>May this attribute be stored for a person with this consent? Storing is purpose-bound, not channel-bound.</summary>
    public bool MayStore(string attribute, ConsentState consent) =>
        PurposeOf(attribute) is not { } purpose || consent.IsGranted(purpose, ConsentVocabulary.AllChannels);

    /// <summary>Removes sensitive attributes whose consent is not (or no longer) granted. Returns the names removed.</summary>
    public IReadOnlyList<string> Enforce(ProfileState profile)
    {
        if (_sensitive.Count == 0) return [];
        var removed = profile.Attributes.Keys.Where(a => !MayStore(a, profile.Consent)).ToList();
        foreach (var name in removed) profile.Attributes.Remove(name);
        return removed;
    }

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
