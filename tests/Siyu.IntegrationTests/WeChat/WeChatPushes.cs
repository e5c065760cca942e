using System.Net.Http.Json;
using System.Security.Cryptography;
using Siyu.Core.WeChat;

namespace Siyu.IntegrationTests.WeChat;

/// <summary>Builds pushes the way WeChat's servers send them: signed query strings, XML or JSON bodies, AES in safe mode.</summary>
public sealed class WeChatPushes(string tenantId, string appId, string token, string aesKey)
{
    public string AppId => appId;
    public string Url => $"/api/wechat/{tenantId}/{appId}";

    public static string NewAesKey() => Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)).TrimEnd('=');

    public static async Task<WeChatPushes> RegisterAsync(HttpClient admin, string tenantId, string mode, string kind = "officialAccount", string? previousKey = null)
    {
        var appId = "wx" + Guid.NewGuid().ToString("N")[..16];
        var token = "tok" + Guid.NewGuid().ToString("N")[..12];
        var key = NewAesKey();
        var response = await admin.PutAsJsonAsync($"/api/wechat-apps/{appId}",
            new { kind, token, encodingAesKey = key, previousEncodingAesKey = previousKey, appSecret = "secret-" + appId, messageMode = mode });
        response.EnsureSuccessStatusCode();
        return new WeChatPushes(tenantId, appId, token, key);
    }

    public WeChatPushes WithKey(string key) => new(tenantId, appId, token, key);

    public static string Now() => DateTimeOffset.UtcNow.ToUnixTimeSeconds().ToString();

    /// <summary>A fresh nonce, as WeChat sends with every push: a nonce is good for one body per app.</summary>
    public static string NewNonce() => RandomNumberGenerator.GetInt32(1_000_000_000, int.MaxValue).ToString();

    public string PlainQuery(string? timestamp = null, string? nonce = null)
    {
        var ts = timestamp ?? Now();
        nonce ??= NewNonce();
        return $"?signature={WeChatSignature.Compute(token, ts, nonce)}&timestamp={ts}&nonce={nonce}&openid=o1";
    }

    /// <summary>A safe-mode push: the body carries only Encrypt, the query carries msg_signature over it.</summary>
    public (string Query, string Body) Encrypted(string inner, bool json = false, string? receiveId = null, string? timestamp = null, string? nonce = null)
    {
        var ts = timestamp ?? Now();
        nonce ??= NewNonce();
        var encrypt = new WeChatCipher(aesKey).Encrypt(inner, receiveId ?? appId);
        var query = $"?signature={WeChatSignature.Compute(token, ts, nonce)}&timestamp={ts}&nonce={nonce}&openid=o1" +
                    $"&encrypt_type=aes&msg_signature={WeChatSignature.Compute(token, ts, nonce, encrypt)}";
        var body = json
            ? $"{{\"ToUserName\":\"gh_test\",\"Encrypt\":\"{encrypt}\"}}"
            : $"<xml><ToUserName><![CDATA[gh_test]]></ToUserName><Encrypt><![CDATA[{encrypt}]]></Encrypt></xml>";
        return (query, body);
    }

    /// <summary>The same query with msg_signature recomputed over another Encrypt value.</summary>
    public string Resign(string query, string encrypt)
    {
        var q = System.Web.HttpUtility.ParseQueryString(query);
        var signature = WeChatSignature.Compute(token, q["timestamp"]!, q["nonce"]!, encrypt);
        return System.Text.RegularExpressions.Regex.Replace(query, "msg_signature=[0-9a-f]+", "msg_signature=" + signature);
    }

    public static string EventXml(string openid, string evt, long createTime, string extra = "") =>
        $"<xml><ToUserName><![CDATA[gh_test]]></ToUserName><FromUserName><![CDATA[{openid}]]></FromUserName>" +
        $"<CreateTime>{createTime}</CreateTime><MsgType><![CDATA[event]]></MsgType><Event><![CDATA[{evt}]]></Event>{extra}</xml>";

    public static string TextXml(string openid, string content, long msgId, long createTime) =>
        $"<xml><ToUserName><![CDATA[gh_test]]></ToUserName><FromUserName><![CDATA[{openid}]]></FromUserName>" +
        $"<CreateTime>{createTime}</CreateTime><MsgType><![CDATA[text]]></MsgType><Content><![CDATA[{content}]]></Content><MsgId>{msgId}</MsgId></xml>";
}
