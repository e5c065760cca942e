using System.Globalization;
using System.Text;
using System.Xml;
using Azure;
using Azure.Core;

namespace Siyu.Storage.Queues;

/// <summary>
/// The Queue service's XML: building the <c>&lt;QueueMessage&gt;&lt;MessageText&gt;</c> request body (escaped by hand
/// into one byte array) and reading <c>QueueMessagesList</c> and <c>Error</c> responses with a forward-only XmlReader.
/// </summary>
internal static class QueueXml
{
    private static readonly byte[] BodyPrefix = "<?xml version=\"1.0\" encoding=\"utf-8\"?><QueueMessage><MessageText>"u8.ToArray();
    private static readonly byte[] BodySuffix = "</MessageText></QueueMessage>"u8.ToArray();

    private static readonly XmlReaderSettings ReaderSettings = new()
    {
        DtdProcessing = DtdProcessing.Prohibit,
        XmlResolver = null,
        IgnoreComments = true,
        IgnoreProcessingInstructions = true,
        // Whitespace is kept: a message text may be all spaces.
        IgnoreWhitespace = false,
        CloseInput = false,
    };

    /// <summary>
    /// The Put/Update Message body for <paramref name="text"/>. Escapes &amp;, &lt;, &gt; and carriage returns
    /// (as &amp;#xD;, so an XML parser does not fold "\r\n" into "\n"); everything else is written as UTF-8.
    /// </summary>
    /// <exception cref="ArgumentException">The text exceeds 64 KiB of UTF-8 or contains a character XML 1.0 cannot carry.</exception>
    public static byte[] MessageBody(string text, string paramName)
    {
        ArgumentNullException.ThrowIfNull(text, paramName);
        var extra = 0;
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            switch (c)
            {
                case '&': extra += 4; continue;          // &amp;
                case '<' or '>': extra += 3; continue;   // &lt; &gt;
                case '\r': extra += 4; continue;         // &#xD;
            }
            if (char.IsHighSurrogate(c) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
            {
                i++;
                continue;
            }
            if (!XmlConvert.IsXmlChar(c))
                throw new ArgumentException(
                    $"The message text contains U+{(int)c:X4} at index {i}, which XML 1.0 cannot carry (control characters other than tab, " +
                    "CR and LF, and unpaired surrogates). Encode binary or arbitrary payloads, e.g. as base64 or JSON.", paramName);
        }

        var utf8Length = Encoding.UTF8.GetByteCount(text);
        if (utf8Length > QueueLimits.MaxMessageBytes)
            throw new ArgumentException(
                $"The message text is {utf8Length} bytes of UTF-8; a queue message holds at most {QueueLimits.MaxMessageBytes} bytes (64 KiB). " +
                "Store large payloads elsewhere (e.g. a table or blob) and enqueue a reference.", paramName);

        var body = new byte[BodyPrefix.Length + utf8Length + extra + BodySuffix.Length];
        var span = body.AsSpan();
        BodyPrefix.CopyTo(span);
        var at = BodyPrefix.Length;
        var runStart = 0;
        for (var i = 0; i < text.Length; i++)
        {
            ReadOnlySpan<byte> entity;
            switch (text[i])
            {
                case '&': entity = "&amp;"u8; break;
                case '<': entity = "&lt;"u8; break;
                case '>': entity = "&gt;"u8; break;
                case '\r': entity = "&#xD;"u8; break;
                default: continue;
            }
            at += Encoding.UTF8.GetBytes(text.AsSpan(runStart, i - runStart), span[at..]);
            entity.CopyTo(span[at..]);
            at += entity.Length;
            runStart = i + 1;
        }
        at += Encoding.UTF8.GetBytes(text.AsSpan(runStart), span[at..]);
        BodySuffix.CopyTo(span[at..]);
        return body;
    }

    /// <summary>Reads the QueueMessagesList of a Put Message response (one message, no text).</summary>
    public static SendReceipt ReadSendReceipt(Stream content)
    {
        SendReceipt? receipt = null;
        ReadMessages(content, m => receipt ??= new SendReceipt(
            Required(m.MessageId, "MessageId"), Required(m.PopReceipt, "PopReceipt"), m.InsertedOn, m.ExpiresOn, m.NextVisibleOn));
        return receipt ?? throw new InvalidOperationException("The Put Message response held no QueueMessage.");
    }

    public static IReadOnlyList<ReceivedMessage> ReadReceived(Stream content)
    {
        var list = new List<ReceivedMessage>();
        ReadMessages(content, m => list.Add(new ReceivedMessage(
            Required(m.MessageId, "MessageId"), Required(m.PopReceipt, "PopReceipt"), m.Text ?? string.Empty, m.DequeueCount,
            m.InsertedOn, m.ExpiresOn, m.NextVisibleOn)));
        return list;
    }

    public static IReadOnlyList<PeekedMessage> ReadPeeked(Stream content)
    {
        var list = new List<PeekedMessage>();
        ReadMessages(content, m => list.Add(new PeekedMessage(
            Required(m.MessageId, "MessageId"), m.Text ?? string.Empty, m.DequeueCount, m.InsertedOn, m.ExpiresOn)));
        return list;
    }

    private static string Required(string? value, string element) =>
        value ?? throw new InvalidOperationException($"The queue service's response lacked {element}.");

    private struct MessageFields
    {
        public string? MessageId, PopReceipt, Text;
        public long DequeueCount;
        public DateTimeOffset InsertedOn, ExpiresOn, NextVisibleOn;
    }

    /// <summary>Calls <paramref name="onMessage"/> for each QueueMessage element, in document order.</summary>
    private static void ReadMessages(Stream content, Action<MessageFields> onMessage)
    {
        using var reader = XmlReader.Create(content, ReaderSettings);
        while (reader.Read())
        {
            if (reader.NodeType != XmlNodeType.Element || reader.LocalName != "QueueMessage") continue;
            if (reader.IsEmptyElement) continue;
            var depth = reader.Depth;
            var fields = new MessageFields();
            reader.Read();
            while (!reader.EOF && !(reader.NodeType == XmlNodeType.EndElement && reader.Depth == depth))
            {
                if (reader.NodeType != XmlNodeType.Element)
                {
                    reader.Read();
                    continue;
                }
                switch (reader.LocalName)
                {
                    case "MessageId": fields.MessageId = reader.ReadElementContentAsString(); break;
                    case "PopReceipt": fields.PopReceipt = reader.ReadElementContentAsString(); break;
                    case "MessageText": fields.Text = reader.ReadElementContentAsString(); break;
                    case "DequeueCount": fields.DequeueCount = long.Parse(reader.ReadElementContentAsString(), NumberStyles.Integer, CultureInfo.InvariantCulture); break;
                    case "InsertionTime": fields.InsertedOn = ParseDate(reader.ReadElementContentAsString()); break;
                    case "ExpirationTime": fields.ExpiresOn = ParseDate(reader.ReadElementContentAsString()); break;
                    case "TimeNextVisible": fields.NextVisibleOn = ParseDate(reader.ReadElementContentAsString()); break;
                    default: reader.Skip(); break;
                }
            }
            onMessage(fields);
        }
    }

    /// <summary>Parses the service's RFC 1123 dates ("Tue, 05 Nov 2024 10:00:00 GMT").</summary>
    public static DateTimeOffset ParseDate(string value)
    {
        value = value.Trim();
        if (DateTimeOffset.TryParseExact(value, "R", CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var date)) return date;
        return DateTimeOffset.Parse(value, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal);
    }
}

/// <summary>
/// Turns a Queue service error response into <see cref="RequestFailedException.ErrorCode"/> and message: the code
/// from the x-ms-error-code header (or the body's &lt;Code&gt;), the text from the body's &lt;Message&gt;.
/// </summary>
internal sealed class QueueErrorParser : RequestFailedDetailsParser
{
    public static readonly QueueErrorParser Instance = new();

    private static readonly XmlReaderSettings Settings = new()
    {
        DtdProcessing = DtdProcessing.Prohibit,
        XmlResolver = null,
        IgnoreComments = true,
        IgnoreProcessingInstructions = true,
        IgnoreWhitespace = true,
        CloseInput = false,
    };

    public override bool TryParse(Response response, out ResponseError? error, out IDictionary<string, string>? data)
    {
        data = null;
        response.Headers.TryGetValue("x-ms-error-code", out var code);
        string? message = null;
        var stream = response.ContentStream;
        if (stream is { CanSeek: true, Length: > 0 })
        {
            var position = stream.Position;
            try
            {
                stream.Position = 0;
                using var reader = XmlReader.Create(stream, Settings);
                reader.Read();
                while (!reader.EOF)
                {
                    if (reader.NodeType != XmlNodeType.Element || reader.LocalName == "Error")
                    {
                        reader.Read();
                        continue;
                    }
                    var name = reader.LocalName;
                    var value = reader.ReadElementContentAsString(); // moves past the element
                    switch (name)
                    {
                        case "Code":
                            if (string.IsNullOrEmpty(code)) code = value;
                            break;
                        case "Message":
                            message = value;
                            break;
                        default:
                            (data ??= new Dictionary<string, string>())[name] = value;
                            break;
                    }
                }
            }
            catch (XmlException)
            {
                // Not XML (a proxy's HTML page, say): keep the header's code, the status line says the rest.
            }
            finally
            {
                stream.Position = position;
            }
        }
        if (string.IsNullOrEmpty(code) && message is null)
        {
            error = null;
            return false;
        }
        error = new ResponseError(code, message ?? response.ReasonPhrase);
        return true;
    }
}
