using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace Siyu.Channels.Tencent;

/// <summary>
/// Tencent Cloud API 3.0 signing (TC3-HMAC-SHA256), as Tencent Cloud publishes it, for a POST of a JSON body signed
/// over the content-type and host headers: the canonical request
/// <c>POST\n/\n\ncontent-type:{type}\nhost:{host}\n\ncontent-type;host\n{hex(SHA256(body))}</c>; the string to sign
/// <c>TC3-HMAC-SHA256\n{timestamp}\n{date}/{service}/tc3_request\n{hex(SHA256(canonical request))}</c>, date the UTC day
/// of the timestamp; the key derived as HMAC-SHA256 chained from <c>"TC3" + SecretKey</c> over the date, the service and
/// <c>tc3_request</c>; the signature the lower-case hex of HMAC-SHA256 of the string to sign under that key. Pure.
/// </summary>
public static class TencentSignature
{
    public const string Algorithm = "TC3-HMAC-SHA256";
    public const string SignedHeaders = "content-type;host";

    public static string CanonicalRequest(string contentType, string host, ReadOnlySpan<byte> body) =>
        $"POST\n/\n\ncontent-type:{contentType.Trim().ToLowerInvariant()}\nhost:{host.Trim().ToLowerInvariant()}\n\n{SignedHeaders}\n{Hex(SHA256.HashData(body))}";

    public static string Date(long timestamp) =>
        DateTimeOffset.FromUnixTimeSeconds(timestamp).UtcDateTime.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);

    public static string StringToSign(long timestamp, string service, string canonicalRequest) =>
        $"{Algorithm}\n{timestamp.ToString(CultureInfo.InvariantCulture)}\n{Date(timestamp)}/{service}/tc3_request\n{Hex(SHA256.HashData(Encoding.UTF8.GetBytes(canonicalRequest)))}";

    public static string Sign(string secretKey, long timestamp, string service, string stringToSign)
    {
        var date = HMACSHA256.HashData(Encoding.UTF8.GetBytes("TC3" + secretKey), Encoding.UTF8.GetBytes(Date(timestamp)));
        var serviceKey = HMACSHA256.HashData(date, Encoding.UTF8.GetBytes(service));
        var signing = HMACSHA256.HashData(serviceKey, "tc3_request"u8);
        return Hex(HMACSHA256.HashData(signing, Encoding.UTF8.GetBytes(stringToSign)));
    }

    /// <summary>The Authorization header of a request signed so.</summary>
    public static string Authorization(string secretId, string secretKey, string service, string host, string contentType, long timestamp, ReadOnlySpan<byte> body)
    {
        var signature = Sign(secretKey, timestamp, service, StringToSign(timestamp, service, CanonicalRequest(contentType, host, body)));
        return $"{Algorithm} Credential={secretId}/{Date(timestamp)}/{service}/tc3_request, SignedHeaders={SignedHeaders}, Signature={signature}";
    }

    private static string Hex(ReadOnlySpan<byte> bytes) => Convert.ToHexStringLower(bytes);
}
