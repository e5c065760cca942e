using System.Security.Cryptography;
using System.Text;
using Azure.Core;
using Azure.Core.Pipeline;

namespace Siyu.Storage.Queues;

/// <summary>
/// Stamps every attempt with a fresh <c>x-ms-date</c>. A per-retry policy placed before authentication, so a retried
/// request is signed (Shared Key) or sent (bearer) with the time of that attempt, not of the first one.
/// </summary>
internal sealed class StorageDatePolicy : HttpPipelineSynchronousPolicy
{
    public static readonly StorageDatePolicy Instance = new();

    public override void OnSendingRequest(HttpMessage message) =>
        message.Request.Headers.SetValue("x-ms-date", DateTimeOffset.UtcNow.ToString("R", System.Globalization.CultureInfo.InvariantCulture));
}

/// <summary>
/// Shared Key authorization for the Blob/Queue/File services ("SharedKey account:signature"), per retry so the
/// signature always covers that attempt's <c>x-ms-date</c>. The string to sign is, joined by newlines: the verb;
/// Content-Encoding, Content-Language, Content-Length (empty when zero), Content-MD5, Content-Type, Date,
/// If-Modified-Since, If-Match, If-None-Match, If-Unmodified-Since, Range; then the canonicalized x-ms- headers
/// (lowercased, sorted, "name:value\n" each) and the canonicalized resource: "/" + account + the encoded URI path, then
/// one "\nname:value" line per query parameter (lowercased names, sorted; decoded values, several joined by commas).
/// For a path-style URL (Azurite: http://127.0.0.1:port/devstoreaccount1/queue) the path already starts with the
/// account, so the account appears twice: "/devstoreaccount1/devstoreaccount1/queue".
/// </summary>
internal sealed class QueueSharedKeyPolicy : HttpPipelineSynchronousPolicy
{
    private readonly string _accountName;
    private readonly byte[] _key;

    public QueueSharedKeyPolicy(string accountName, string base64Key)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(accountName);
        ArgumentException.ThrowIfNullOrWhiteSpace(base64Key);
        _accountName = accountName;
        try { _key = Convert.FromBase64String(base64Key); }
        catch (FormatException e) { throw new ArgumentException("The storage account key is not valid base64.", nameof(base64Key), e); }
    }

    public override void OnSendingRequest(HttpMessage message)
    {
        var request = message.Request;
        if (!request.Headers.Contains("x-ms-date"))
            request.Headers.SetValue("x-ms-date", DateTimeOffset.UtcNow.ToString("R", System.Globalization.CultureInfo.InvariantCulture));
        request.Headers.SetValue("Authorization", AuthorizationHeader(request));
    }

    /// <summary>The Authorization header value for the request as it stands.</summary>
    internal string AuthorizationHeader(Request request)
    {
        var stringToSign = BuildStringToSign(request, _accountName);
        var signature = HMACSHA256.HashData(_key, Encoding.UTF8.GetBytes(stringToSign));
        return $"SharedKey {_accountName}:{Convert.ToBase64String(signature)}";
    }

    internal static string BuildStringToSign(Request request, string accountName)
    {
        var sb = new StringBuilder(256);
        sb.Append(request.Method.Method.ToUpperInvariant()).Append('\n');
        sb.Append(Header(request, "Content-Encoding")).Append('\n');
        sb.Append(Header(request, "Content-Language")).Append('\n');
        sb.Append(ContentLength(request)).Append('\n');
        sb.Append(Header(request, "Content-MD5")).Append('\n');
        sb.Append(Header(request, "Content-Type")).Append('\n');
        sb.Append(Header(request, "Date")).Append('\n');
        sb.Append(Header(request, "If-Modified-Since")).Append('\n');
        sb.Append(Header(request, "If-Match")).Append('\n');
        sb.Append(Header(request, "If-None-Match")).Append('\n');
        sb.Append(Header(request, "If-Unmodified-Since")).Append('\n');
        sb.Append(Header(request, "Range")).Append('\n');
        AppendCanonicalizedHeaders(sb, request);
        AppendCanonicalizedResource(sb, request.Uri, accountName);
        return sb.ToString();
    }

    private static string Header(Request request, string name) =>
        request.Headers.TryGetValue(name, out var value) && value is not null ? value : string.Empty;

    private static string ContentLength(Request request)
    {
        // Since 2015-02-21 a zero Content-Length is signed as the empty string.
        if (request.Content is not null && request.Content.TryComputeLength(out var length))
            return length == 0 ? string.Empty : length.ToString(System.Globalization.CultureInfo.InvariantCulture);
        var header = Header(request, "Content-Length");
        return header == "0" ? string.Empty : header;
    }

    private static void AppendCanonicalizedHeaders(StringBuilder sb, Request request)
    {
        List<KeyValuePair<string, string>>? headers = null;
        foreach (var header in request.Headers)
        {
            if (!header.Name.StartsWith("x-ms-", StringComparison.OrdinalIgnoreCase)) continue;
            (headers ??= new List<KeyValuePair<string, string>>(8)).Add(new(header.Name.ToLowerInvariant(), header.Value));
        }
        if (headers is null) return;
        headers.Sort(static (a, b) => string.CompareOrdinal(a.Key, b.Key));
        foreach (var (name, value) in headers)
            sb.Append(name).Append(':').Append(CollapseWhitespace(value.Trim())).Append('\n');
    }

    private static string CollapseWhitespace(string value)
    {
        if (!value.Contains("  ", StringComparison.Ordinal) && value.IndexOfAny(['\t', '\r', '\n']) < 0) return value;
        var sb = new StringBuilder(value.Length);
        var inSpace = false;
        foreach (var c in value)
        {
            if (c is ' ' or '\t' or '\r' or '\n')
            {
                if (!inSpace) sb.Append(' ');
                inSpace = true;
            }
            else
            {
                sb.Append(c);
                inSpace = false;
            }
        }
        return sb.ToString();
    }

    private static void AppendCanonicalizedResource(StringBuilder sb, RequestUriBuilder uri, string accountName)
    {
        sb.Append('/').Append(accountName);
        var path = uri.Path;
        sb.Append(string.IsNullOrEmpty(path) ? "/" : path);

        var query = uri.Query;
        if (string.IsNullOrEmpty(query) || query == "?") return;
        var parameters = new SortedDictionary<string, List<string>>(StringComparer.Ordinal);
        foreach (var pair in query.AsSpan(query[0] == '?' ? 1 : 0).ToString().Split('&', StringSplitOptions.RemoveEmptyEntries))
        {
            var eq = pair.IndexOf('=');
            var name = Uri.UnescapeDataString(eq < 0 ? pair : pair[..eq]).ToLowerInvariant();
            var value = eq < 0 ? string.Empty : Uri.UnescapeDataString(pair[(eq + 1)..]);
            if (!parameters.TryGetValue(name, out var values)) parameters[name] = values = new List<string>(1);
            values.Add(value);
        }
        foreach (var (name, values) in parameters)
        {
            if (values.Count > 1) values.Sort(StringComparer.Ordinal);
            sb.Append('\n').Append(name).Append(':').AppendJoin(',', values);
        }
    }
}
