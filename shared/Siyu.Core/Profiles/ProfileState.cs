using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using Siyu.Core.Consent;

namespace Siyu.Core.Profiles;

/// <summary>How often a profile did one event, and when first and last.</summary>
public sealed class EventCounter
{
    public long Count { get; set; }
    public DateTimeOffset First { get; set; }
    public DateTimeOffset Last { get; set; }
}

/// <summary>Order totals from order events. Totals are kept per currency; CNY is the usual one.</summary>
public sealed class OrderTotals
{
    public long Count { get; set; }
    public Dictionary<string, decimal> Total { get; set; } = new(StringComparer.Ordinal);
    public DateTimeOffset? First { get; set; }
    public DateTimeOffset? Last { get; set; }
}

/// <summary>
/// The event that set an attribute. Later event time wins; at equal times the greater message id does, so the
/// outcome never depends on arrival order.
/// </summary>
public sealed record AttributeVersion(DateTimeOffset At, string MessageId) : IComparable<AttributeVersion>
{
    public int CompareTo(AttributeVersion? other) =>
        other is null ? 1 : At != other.At ? At.CompareTo(other.At) : string.CompareOrdinal(MessageId, other.MessageId);
}

/// <summary>Who put a tag on a person, and when: an API key id, or a rule.</summary>
public sealed record TagMark(DateTimeOffset At, string By);

/// <summary>A short form of an event, kept on the profile so that reading a profile needs one row.</summary>
public sealed class RecentEvent
{
    public required string MessageId { get; init; }
    public required string Name { get; init; }
    public required DateTimeOffset Timestamp { get; init; }
    public required string Source { get; init; }
    public JsonObject? Properties { get; init; }
}

/// <summary>
/// Everything we know about one customer, as one value: identities, attributes, counters, order totals, recent
/// events, consent and preferences. Built by folding events into it (<see cref="ProfileFold"/>); stored as one table row.
/// </summary>
public sealed class ProfileState
{
    public const int RecentLimit = 20;

    public required string ProfileId { get; init; }
    public required DateTimeOffset CreatedAt { get; init; }
    public DateTimeOffset? FirstSeen { get; set; }
    public DateTimeOffset? LastSeen { get; set; }
    /// <summary>When we last received an event for this person (our clock; <see cref="LastSeen"/> is the event's own time).</summary>
    public DateTimeOffset? LastReceived { get; set; }
    public long EventCount { get; set; }
    /// <summary>Identity keys (see <see cref="Identities.Identity.Key"/>), sorted.</summary>
    public SortedSet<string> Identities { get; set; } = new(StringComparer.Ordinal);
    public Dictionary<string, JsonNode?> Attributes { get; set; } = new(StringComparer.Ordinal);
    /// <summary>Which identify last set each attribute, so that an older one arriving late cannot overwrite a newer one.</summary>
    public Dictionary<string, AttributeVersion> AttributeVersions { get; set; } = new(StringComparer.Ordinal);
    public Dictionary<string, EventCounter> Counters { get; set; } = new(StringComparer.Ordinal);
    public OrderTotals Orders { get; set; } = new();
    /// <summary>The newest events first, at most <see cref="RecentLimit"/>.</summary>
    public List<RecentEvent> Recent { get; set; } = new();
    /// <summary>Current consent per purpose and channel: the projection of the consent ledger.</summary>
    [JsonIgnore]
    public ConsentState Consent { get => _consent ??= new(); set => _consent = value; }
    private ConsentState? _consent;

    /// <summary>Stored only when there is some: most profiles have none, and every byte of a profile row is rewritten on each event.</summary>
    [JsonInclude, JsonPropertyName("consent"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    private ConsentState? StoredConsent { get => _consent is { IsEmpty: false } ? _consent : null; set => _consent = value; }

    /// <summary>The person's tags (names from the tenant's taxonomy).</summary>
    [JsonIgnore]
    public Dictionary<string, TagMark> Tags { get => _tags ??= new(StringComparer.Ordinal); set => _tags = value; }
    private Dictionary<string, TagMark>? _tags;

    [JsonInclude, JsonPropertyName("tags"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    private Dictionary<string, TagMark>? StoredTags { get => _tags is { Count: > 0 } ? _tags : null; set => _tags = value is null ? null : new(value, StringComparer.Ordinal); }

    /// <summary>Events per day over the last <see cref="ActivityWindow.MaxDays"/> days: what "did E N times in D days" reads.</summary>
    [JsonIgnore]
    public Dictionary<string, SortedDictionary<int, int>> Activity { get => _activity ??= new(StringComparer.Ordinal); set => _activity = value; }
    private Dictionary<string, SortedDictionary<int, int>>? _activity;

    [JsonInclude, JsonPropertyName("activity"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    private Dictionary<string, SortedDictionary<int, int>>? StoredActivity { get => _activity is { Count: > 0 } ? _activity : null; set => _activity = value is null ? null : new(value, StringComparer.Ordinal); }

    /// <summary>Computed traits (lifecycle stage, RFM): recomputed on every change and by the scheduled sweep.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public Traits.ProfileTraits? Traits { get; set; }

    /// <summary>The segments this person is in, and since when.</summary>
    [JsonIgnore]
    public Dictionary<string, DateTimeOffset> Segments { get => _segments ??= new(StringComparer.Ordinal); set => _segments = value; }
    private Dictionary<string, DateTimeOffset>? _segments;

    [JsonInclude, JsonPropertyName("segments"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    private Dictionary<string, DateTimeOffset>? StoredSegments { get => _segments is { Count: > 0 } ? _segments : null; set => _segments = value is null ? null : new(value, StringComparer.Ordinal); }

    /// <summary>Profiles merged into this one (OneID), oldest merge first: their ids still resolve here.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public List<string>? MergedFrom { get; set; }

    /// <summary>Set when this profile was merged into another: it is an alias of that one from then on.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? MergedInto { get; set; }

    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public Preferences? Preferences { get; set; }
    /// <summary>Set when erasure of this person began: from then on nothing more is folded in.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public DateTimeOffset? ErasureRequestedAt { get; set; }

    public static ProfileState New(string profileId, DateTimeOffset now) => new() { ProfileId = profileId, CreatedAt = now };
}
