using System.Security.Cryptography;
using System.Text;

namespace Siyu.Channels.Aliyun;

/// <summary>
/// Alibaba Cloud's RPC request signature (SignatureMethod HMAC-SHA1, SignatureVersion 1.0), as its SMS documentation
/// publishes it: the parameters but Signature sorted by name, each name and value percent-encoded (RFC 3986: only
/// A-Z a-z 0-9 - _ . ~ left as they are, a space as %20), joined with = and &amp;; the string to sign is
/// <c>{METHOD}&amp;%2F&amp;{percentEncode(that)}</c>; the signature is the Base64 of its HMAC-SHA1 under
/// <c>{AccessKeySecret}&amp;</c>. Pure.
/// </summary>
public static class AliyunSignature
{
    public static string CanonicalQuery(IEnumerable<KeyValuePair<string, string>> parameters) =>
        string.Join('&', parameters.Where(p => p.Key != "Signature").OrderBy(p => p.Key, StringComparer.Ordinal)
            .Select(p => PercentEncode(p.Key) + "=" + PercentEncode(p.Value)));

    public static string StringToSign(string method, IEnumerable<KeyValuePair<string, string>> parameters) =>
        method.ToUpperInvariant() + "&" + PercentEncode("/") + "&" + PercentEncode(CanonicalQuery(parameters));

    public static string Sign(string accessKeySecret, string stringToSign) =>
        Convert.ToBase64String(HMACSHA1.HashData(Encoding.UTF8.GetBytes(accessKeySecret + "&"), Encoding.UTF8.GetBytes(stringToSign)));

    /// <summary>RFC 3986 percent-encoding of the UTF-8 bytes, upper-case hex.</summary>
    public static string PercentEncode(string value)
    {
        var sb = new StringBuilder(value.Length * 2);
        foreach (var b in Encoding.UTF8.GetBytes(value))
        {
            if (b is >= (byte)'A' and <= (byte)'Z' or >= (byte)'a' and <= (byte)'z' or >= (byte)'0' and <= (byte)'9' or (byte)'-' or (byte)'_' or (byte)'.' or (byte)'~')
                sb.Append((char)b);
            else
                sb.Append('%').Append(b.ToString("X2", System.Globalization.CultureInfo.InvariantCulture));
        }
        return sb.ToString();
    }
}
