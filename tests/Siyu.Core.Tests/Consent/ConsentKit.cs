using System.Text.Json.Nodes;
using Siyu.Core.Consent;
using Siyu.Core.Events;
using Siyu.Core.Identities;

namespace Siyu.Core.Tests.Consent;

/// <summary>Small builders shared by the consent tests. Nothing here computes an expected value.</summary>
internal static class ConsentKit
{
    public static readonly DateTimeOffset T0 = DateTimeOffset.Parse("2024-05-01T08:00:00Z");
    public static readonly Identity User = new(IdentityType.UserId, "u1");

    /// <summary>Every channel a message can go out on: the vocabulary without "all".</summary>
    public static IReadOnlyList<string> SendChannels =>
        ConsentVocabulary.Channels.Where(c => c != ConsentVocabulary.AllChannels).ToList();

    public static ConsentDecision Decision(string id, string purpose, string channel, ConsentStatus status, DateTimeOffset at,
        string? scope = null, string source = ConsentSources.Api) => new()
    {
        Id = id,
        Purpose = purpose,
        Channel = channel,
        Scope = scope,
        Status = status,
        Source = source,
        OccurredAt = at,
    };

    public static ConsentState State(params ConsentDecision[] decisions)
    {
        var s = new ConsentState();
        foreach (var d in decisions) s.Apply(d);
        return s;
    }

    public static IncomingEvent Event(string messageId, EventType type, string name, JsonObject? properties = null,
        DateTimeOffset? at = null, JsonObject? traits = null) => new()
    {
        MessageId = messageId,
        Type = type,
        Name = name,
        Identities = [User],
        Properties = properties,
        Traits = traits,
        Timestamp = at ?? T0,
        ReceivedAt = T0,
        Source = "api",
    };

    public static JsonObject ConsentProperties(string purpose = "marketing", string channel = "sms", string status = "granted",
        string source = "store_form", string? evidence = null, string? scope = null)
    {
        var o = new JsonObject { ["purpose"] = purpose, ["channel"] = channel, ["status"] = status, ["source"] = source };
        if (evidence is not null) o["evidence"] = evidence;
        if (scope is not null) o["scope"] = scope;
        return o;
    }

    public static IncomingEvent ConsentEvent(string messageId, JsonObject properties, DateTimeOffset at) =>
        Event(messageId, EventType.Consent, "consent", properties, at);
}
