using System.Collections.ObjectModel;
using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Xml;

namespace Siyu.Core.WeChat;

public enum WeChatFormat
{
    Xml,
    Json,
}

/// <summary>
/// One WeChat push (or the envelope of an encrypted one), parsed defensively from XML or JSON.
/// <para>
/// <see cref="Fields"/> holds the top-level fields as strings, looked up case-insensitively (WeChat writes both
/// <c>MsgId</c> and <c>MsgID</c>). JSON numbers keep their literal text, so a 19-digit MsgId survives intact.
/// Nested structures are flattened with dotted names (<c>ScanCodeInfo.ScanType</c>; JSON array elements by index,
/// <c>a.0.b</c>), the first occurrence winning. The List entries of the subscribe-message events
/// (SubscribeMsgPopupEvent, SubscribeMsgChangeEvent, SubscribeMsgSentEvent) are in <see cref="Items"/> instead.
/// </para>
/// </summary>
public sealed class WeChatMessage
{
    /// <summary>Bodies longer than this are refused unread: real pushes are a few kilobytes.</summary>
    public const int MaxLength = 1_000_000;
    private const int MaxDepth = 16;

    private static readonly string[] ItemContainers = ["SubscribeMsgPopupEvent", "SubscribeMsgChangeEvent", "SubscribeMsgSentEvent"];

    // New settings per parse: XmlReader.Create marks the instance it is given read-only, so it is not shared.
    private static XmlReaderSettings XmlSettings() => new()
    {
        DtdProcessing = DtdProcessing.Prohibit, // a DOCTYPE throws: no XXE, no entity expansion
        XmlResolver = null,                     // and nothing is ever fetched
        MaxCharactersInDocument = MaxLength,
        MaxCharactersFromEntities = 1_024,      // moot while DTDs are prohibited (0 would mean "no limit")
        IgnoreComments = true,
        IgnoreProcessingInstructions = true,
        CloseInput = true,
    };

    private static readonly JsonDocumentOptions JsonOptions = new()
    {
        MaxDepth = MaxDepth,
        AllowDuplicateProperties = false, // two different values for one name is an ambiguity to refuse, not resolve
    };

    private readonly OrderedDictionary<string, string> _fields;

    private WeChatMessage(WeChatFormat format, OrderedDictionary<string, string> fields, List<IReadOnlyDictionary<string, string>> items)
    {
        Format = format;
        _fields = fields;
        Fields = new ReadOnlyDictionary<string, string>(fields);
        Items = items.AsReadOnly();
    }

    /// <summary>How the message was written: a reply should use the same format.</summary>
    public WeChatFormat Format { get; }

    /// <summary>Every top-level field, in document order, names compared case-insensitively.</summary>
    public IReadOnlyDictionary<string, string> Fields { get; }

    /// <summary>The List entries of a subscribe-message event, each field by name (case-insensitive); empty otherwise.</summary>
    public IReadOnlyList<IReadOnlyDictionary<string, string>> Items { get; }

    public string? ToUserName => Get("ToUserName");
    public string? FromUserName => Get("FromUserName");
    /// <summary>CreateTime as Unix seconds, or null when absent or not an integer.</summary>
    public long? CreateTime =>
        long.TryParse(Get("CreateTime")?.Trim(), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var t) ? t : null;
    public string? MsgType => Get("MsgType");
    public string? Event => Get("Event");
    public string? MsgId => Get("MsgId");
    public string? Encrypt => Get("Encrypt");

    /// <summary>A top-level (or flattened) field by name, case-insensitive; null when absent.</summary>
    public string? Get(string name) => _fields.TryGetValue(name, out var value) ? value : null;

    /// <summary>Parses XML or JSON, deciding by the first non-whitespace character ('&lt;' or '{').</summary>
    public static WeChatResult<WeChatMessage> Parse(string? body)
    {
        if (body is null) return Malformed("body is empty");
        foreach (var c in body)
        {
            if (char.IsWhiteSpace(c) || c == '\uFEFF') continue;
            return c switch
            {
                '<' => ParseXml(body),
                '{' => ParseJson(body),
                _ => Malformed("body is neither XML nor a JSON object"),
            };
        }
        return Malformed("body is empty");
    }

    /// <summary>
    /// Parses a WeChat XML push. Any DTD (DOCTYPE or ENTITY declaration) fails as <see cref="WeChatErrorKind.DtdNotAllowed"/>;
    /// everything else that is not well-formed, including a reference to an undeclared entity, as <see cref="WeChatErrorKind.Malformed"/>.
    /// </summary>
    public static WeChatResult<WeChatMessage> ParseXml(string? xml)
    {
        xml = xml?.TrimStart('\uFEFF');
        if (string.IsNullOrWhiteSpace(xml)) return Malformed("body is empty");
        if (xml.Length > MaxLength) return Malformed($"body is longer than {MaxLength} characters");
        try
        {
            using var reader = XmlReader.Create(new StringReader(xml), XmlSettings());
            if (reader.MoveToContent() != XmlNodeType.Element) return Malformed("XML has no root element");
            var root = ReadXmlElement(reader, 1);
            while (reader.Read()) { } // the rest must be well-formed too (no second root, no trailing junk)
            return Build(WeChatFormat.Xml, root);
        }
        catch (XmlException) when (HasDtd(xml))
        {
            return WeChatResult<WeChatMessage>.Fail(WeChatErrorKind.DtdNotAllowed, "DTD not allowed");
        }
        catch (XmlException e)
        {
            return Malformed($"XML is not well-formed: {e.Message}");
        }
        catch (ShapeException e)
        {
            return Malformed(e.Message);
        }
    }

    /// <summary>Parses a JSON push (mini-programs can be set to JSON). The root must be an object; duplicate names are refused.</summary>
    public static WeChatResult<WeChatMessage> ParseJson(string? json)
    {
        json = json?.TrimStart('\uFEFF');
        if (string.IsNullOrWhiteSpace(json)) return Malformed("body is empty");
        if (json.Length > MaxLength) return Malformed($"body is longer than {MaxLength} characters");
        try
        {
            using var doc = JsonDocument.Parse(json, JsonOptions);
            if (doc.RootElement.ValueKind != JsonValueKind.Object) return Malformed("JSON root is not an object");
            return Build(WeChatFormat.Json, FromJson(doc.RootElement));
        }
        catch (JsonException e)
        {
            return Malformed($"JSON is not well-formed: {e.Message}");
        }
    }

    private static WeChatResult<WeChatMessage> Malformed(string detail) =>
        WeChatResult<WeChatMessage>.Fail(WeChatErrorKind.Malformed, detail);

    // DtdProcessing.Prohibit is what keeps us safe; this only picks the error kind. XmlReader reports a prohibited
    // DTD without position, so look at the text. A malformed document that merely mentions <!DOCTYPE inside CDATA
    // is misfiled as DTD, which is a 400 either way.
    private static bool HasDtd(string xml) =>
        xml.Contains("<!DOCTYPE", StringComparison.Ordinal) || xml.Contains("<!ENTITY", StringComparison.Ordinal);

    // ---- a neutral tree both formats are read into, so one set of rules extracts fields and items ----

    private abstract record Node;
    private sealed record Leaf(string Value) : Node;
    private sealed record Obj(List<KeyValuePair<string, Node>> Members) : Node;
    private sealed record Arr(List<Node> Elements) : Node;

    private sealed class ShapeException(string message) : Exception(message);

    /// <summary>Reads the element the reader is on, and leaves the reader on the node after its end tag.</summary>
    private static Node ReadXmlElement(XmlReader reader, int depth)
    {
        if (depth > MaxDepth) throw new ShapeException($"XML is nested deeper than {MaxDepth} levels");
        if (reader.IsEmptyElement) { reader.Read(); return new Leaf(""); }

        var members = new List<KeyValuePair<string, Node>>();
        var all = new StringBuilder();
        var nonBlank = new StringBuilder();
        var sawCData = false;
        reader.Read();
        while (reader.NodeType != XmlNodeType.EndElement)
        {
            switch (reader.NodeType)
            {
                case XmlNodeType.Element:
                    var name = reader.LocalName;
                    members.Add(new(name, ReadXmlElement(reader, depth + 1)));
                    continue; // already moved past the child
                case XmlNodeType.CDATA:
                    sawCData = true;
                    all.Append(reader.Value);
                    nonBlank.Append(reader.Value);
                    break;
                case XmlNodeType.Text:
                    all.Append(reader.Value);
                    nonBlank.Append(reader.Value);
                    break;
                case XmlNodeType.Whitespace:
                case XmlNodeType.SignificantWhitespace:
                    all.Append(reader.Value);
                    break;
            }
            if (!reader.Read()) throw new ShapeException("XML ends inside an element");
        }
        reader.Read();

        if (members.Count > 0) return new Obj(members);
        // "<MsgType>  <![CDATA[video]]></MsgType>" means "video": layout around CDATA is not content.
        return new Leaf(sawCData ? nonBlank.ToString() : all.ToString());
    }

    private static Node? FromJson(JsonElement e) => e.ValueKind switch
    {
        JsonValueKind.Object => new Obj(e.EnumerateObject()
            .Select(p => (p.Name, Value: FromJson(p.Value)))
            .Where(p => p.Value is not null)
            .Select(p => new KeyValuePair<string, Node>(p.Name, p.Value!))
            .ToList()),
        JsonValueKind.Array => new Arr(e.EnumerateArray().Select(FromJson).OfType<Node>().ToList()),
        JsonValueKind.String => new Leaf(e.GetString()!),
        JsonValueKind.Number => new Leaf(e.GetRawText()), // the literal: invariant, and exact for 64-bit ids
        JsonValueKind.True => new Leaf("true"),
        JsonValueKind.False => new Leaf("false"),
        _ => null, // null means absent
    };

    private static WeChatResult<WeChatMessage> Build(WeChatFormat format, Node? root)
    {
        var fields = new OrderedDictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        var items = new List<IReadOnlyDictionary<string, string>>();
        switch (root)
        {
            case Obj obj:
                foreach (var (name, value) in obj.Members)
                {
                    if (value is not Leaf && ItemContainers.Contains(name, StringComparer.OrdinalIgnoreCase))
                    {
                        CollectItems(name, value, items, fields);
                        continue;
                    }
                    if (value is Leaf leaf)
                    {
                        // A repeated top-level field (two Encrypt, two FromUserName) is ambiguous: refuse it.
                        if (!fields.TryAdd(name, leaf.Value)) return Malformed($"field {name} appears more than once");
                    }
                    else Flatten(name, value, fields);
                }
                break;
            case Leaf { Value: var text } when string.IsNullOrWhiteSpace(text):
                break; // <xml/>: a message with no fields
            default:
                return Malformed("the root holds text, not fields");
        }
        return WeChatResult<WeChatMessage>.Ok(new WeChatMessage(format, fields, items));
    }

    // XML: <Container><List>…</List><List>…</List></Container>. JSON: {"List": [ … ]} or {"List": { … }}, or a bare array.
    private static void CollectItems(string container, Node value, List<IReadOnlyDictionary<string, string>> items,
        OrderedDictionary<string, string> fields)
    {
        if (value is Arr bare)
        {
            foreach (var element in bare.Elements.OfType<Obj>()) items.Add(ToItem(element));
            return;
        }
        foreach (var (name, member) in ((Obj)value).Members)
        {
            if (!name.Equals("List", StringComparison.OrdinalIgnoreCase))
            {
                Flatten($"{container}.{name}", member, fields); // not expected, but never dropped
                continue;
            }
            switch (member)
            {
                case Obj one: items.Add(ToItem(one)); break;
                case Arr many: foreach (var element in many.Elements.OfType<Obj>()) items.Add(ToItem(element)); break;
                default: Flatten($"{container}.{name}", member, fields); break;
            }
        }
    }

    private static IReadOnlyDictionary<string, string> ToItem(Obj obj)
    {
        var item = new OrderedDictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var (name, value) in obj.Members) Flatten(name, value, item);
        return new ReadOnlyDictionary<string, string>(item);
    }

    private static void Flatten(string path, Node node, OrderedDictionary<string, string> into)
    {
        switch (node)
        {
            case Leaf leaf:
                into.TryAdd(path, leaf.Value);
                break;
            case Obj obj:
                foreach (var (name, value) in obj.Members) Flatten($"{path}.{name}", value, into);
                break;
            case Arr arr:
                for (var i = 0; i < arr.Elements.Count; i++) Flatten($"{path}.{i}", arr.Elements[i], into);
                break;
        }
    }
}
