using System.Text.Json;
using System.Text.Json.Serialization;
using Siyu.Core.Events;
using Siyu.Core.Identities;

namespace Siyu.Functions.Ingestion;

/// <summary>
/// The body of one ingest queue message: some events of one tenant. Events are packed many to a message (up to
/// <see cref="MaxChars"/>), so queue operations per event stay far below one.
/// </summary>
public sealed record IngestEnvelope(string TenantId, IReadOnlyList<IncomingEvent> Events)
{
    /// <summary>Queue messages hold 64 KiB of UTF-8; leave room for the envelope and XML escaping.</summary>
    public const int MaxBytes = 40_000;

    public static readonly JsonSerializerOptions Json = new(EventJson.Options)
    {
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.CamelCase), new IdentityJsonConverter() },
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    public string Serialize() => JsonSerializer.Serialize(this, Json);

    public static IngestEnvelope Parse(string text) =>
        JsonSerializer.Deserialize<IngestEnvelope>(text, Json) is { TenantId: not null, Events: not null } envelope
            ? envelope
            : throw new JsonException("an ingest message needs tenantId and events");

    /// <summary>
    /// Packs events of one tenant into as few messages as fit, keeping their order, each with its first event (which
    /// decides its queue partition). One event always fits alone: validation caps its properties and traits at
    /// 16 KiB each. Each event is serialised once; a message is assembled from those pieces.
    /// </summary>
    /// <param name="traces">The trace contexts of the requests whose events these are (<see cref="Hosting.Telemetry"/>); default: the current one.</param>
    public static IEnumerable<(string Text, IncomingEvent First)> PackMessages(string tenantId, IEnumerable<IncomingEvent> events, IEnumerable<string?>? traces = null)
    {
        var head = Hosting.Telemetry.Stamp($"{{\"tenantId\":{JsonSerializer.Serialize(tenantId, Json)},\"events\":[", traces);
        var parts = new List<string>();
        IncomingEvent? first = null;
        var size = head.Length + 2;
        foreach (var e in events)
        {
            var json = JsonSerializer.Serialize(e, Json);
            var eventSize = System.Text.Encoding.UTF8.GetByteCount(json) + 1;
            if (parts.Count > 0 && size + eventSize > MaxBytes)
            {
                yield return (head + string.Join(',', parts) + "]}", first!);
                parts.Clear();
                size = head.Length + 2;
            }
            if (parts.Count == 0) first = e;
            parts.Add(json);
            size += eventSize;
        }
        if (parts.Count > 0) yield return (head + string.Join(',', parts) + "]}", first!);
    }
}

/// <summary>Identities travel as their canonical key text, e.g. "openid:wx123:oAbc".</summary>
public sealed class IdentityJsonConverter : JsonConverter<Identity>
{
    public override Identity Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        var text = reader.GetString() ?? throw new JsonException("identity must be a string");
        return IdentityRules.TryParseKey(text, out var identity) ? identity : throw new JsonException($"bad identity '{text}'");
    }

    public override void Write(Utf8JsonWriter writer, Identity value, JsonSerializerOptions options) => writer.WriteStringValue(value.Key);
}
