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
    /// Packs events of one tenant into as few messages as fit, keeping their order. One event always fits alone:
    /// validation caps its properties and traits at 16 KiB each.
    /// </summary>
    public static IEnumerable<string> Pack(string tenantId, IEnumerable<IncomingEvent> events) =>
        PackMessages(tenantId, events).Select(m => m.Text);

    /// <summary>As <see cref="Pack"/>, with each message's first event (which decides its queue partition).</summary>
    public static IEnumerable<(string Text, IncomingEvent First)> PackMessages(string tenantId, IEnumerable<IncomingEvent> events)
    {
        var batch = new List<IncomingEvent>();
        var size = 64;
        foreach (var e in events)
        {
            var eventSize = System.Text.Encoding.UTF8.GetByteCount(JsonSerializer.Serialize(e, Json)) + 1;
            if (batch.Count > 0 && size + eventSize > MaxBytes)
            {
                yield return (new IngestEnvelope(tenantId, batch).Serialize(), batch[0]);
                batch = new List<IncomingEvent>();
                size = 64;
            }
            batch.Add(e);
            size += eventSize;
        }
        if (batch.Count > 0) yield return (new IngestEnvelope(tenantId, batch).Serialize(), batch[0]);
    }
}

/// <summary>Identities travel as their canonical key text, e.g. "openid:wx123:oAbc".</summary>
public sealed class IdentityJsonConverter : JsonConverter<Identity>
{
    public override Identity Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        var text = reader.GetString() ?? throw new JsonException("identity must be a string");
        var colon = text.IndexOf(':');
        if (colon <= 0 || !IdentityRules.TryParseType(text[..colon], out var type)) throw new JsonException($"bad identity '{text}'");
        var rest = text[(colon + 1)..];
        if (type != IdentityType.OpenId) return new Identity(type, rest);
        var second = rest.IndexOf(':');
        if (second <= 0) throw new JsonException($"bad openid identity '{text}'");
        return new Identity(type, rest[(second + 1)..], rest[..second]);
    }

    public override void Write(Utf8JsonWriter writer, Identity value, JsonSerializerOptions options) => writer.WriteStringValue(value.Key);
}
