using System.Text.Json.Nodes;
using Siyu.Core.Events;

namespace Siyu.Core.Segments;

/// <summary>
/// Segment entry and exit as events in the person's history: <c>segment_entered</c> / <c>segment_exited</c> with
/// <c>properties.segment</c>, source <c>siyu:segments</c>. They are recorded, not folded into counters, so a segment
/// rule can never feed on its own output.
/// </summary>
public static class SegmentEvents
{
    public const string Entered = "segment_entered";
    public const string Exited = "segment_exited";
    public const string Source = "siyu:segments";

    public static IncomingEvent Create(string segmentId, bool entered, DateTimeOffset at) => new()
    {
        MessageId = $"segment:{segmentId}:{(entered ? "entered" : "exited")}:{at.UtcTicks}",
        Type = EventType.Track,
        Name = entered ? Entered : Exited,
        Identities = [],
        Properties = new JsonObject { ["segment"] = segmentId },
        Timestamp = at,
        ReceivedAt = at,
        Source = Source,
    };
}
