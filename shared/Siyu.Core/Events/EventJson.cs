using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Siyu.Core.Events;

/// <summary>
/// How event payloads are written to queues and tables: Chinese and other non-ASCII text as itself, not as
/// \uXXXX escapes (six times longer). The relaxed encoder only matters for embedding in HTML, which we never do.
/// </summary>
public static class EventJson
{
    public static readonly JsonSerializerOptions Options = new(JsonSerializerDefaults.Web)
    {
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    public static string Text(JsonNode node) => node.ToJsonString(Options);

    public static int Utf8Bytes(JsonNode node) => Encoding.UTF8.GetByteCount(Text(node));

    /// <summary>True when some object inside has the same property name twice (JSON allows it; we cannot store it).</summary>
    public static bool HasDuplicateNames(JsonElement element)
    {
        switch (element.ValueKind)
        {
            case JsonValueKind.Object:
                var names = new HashSet<string>(StringComparer.Ordinal);
                foreach (var p in element.EnumerateObject())
                    if (!names.Add(p.Name) || HasDuplicateNames(p.Value)) return true;
                return false;
            case JsonValueKind.Array:
                foreach (var item in element.EnumerateArray())
                    if (HasDuplicateNames(item)) return true;
                return false;
            default:
                return false;
        }
    }
}
