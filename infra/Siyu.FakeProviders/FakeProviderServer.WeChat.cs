using System.Text.Json;

namespace Siyu.FakeProviders;

/// <summary>
/// WeChat's side: <c>/cgi-bin/stable_token</c> (ordinary mode hands back the current token while it is valid;
/// force_refresh replaces it and the old one stops working), template send (deduped on touser + client_msg_id:
/// a repeat answers ok with the first msgid; WeChat keeps the key 10 minutes, the fake for its lifetime) and
/// subscribe send. Errors come back as HTTP 200 with errcode, as WeChat does.
/// </summary>
public sealed partial class FakeProviderServer
{
    private void MapWeChat(WebApplication web)
    {
        web.MapPost("/cgi-bin/stable_token", Handler(StableTokenAsync));
        web.MapPost("/cgi-bin/message/template/send", Handler(http => WeChatSendAsync(http, template: true)));
        web.MapPost("/cgi-bin/message/subscribe/send", Handler(http => WeChatSendAsync(http, template: false)));
    }

    private async Task<IResult> StableTokenAsync(HttpContext http)
    {
        using var doc = await ReadJsonAsync(http);
        var root = doc?.RootElement;
        var appId = Text(root, "appid") ?? "";
        tokenRequests.AddOrUpdate(appId, 1, static (_, n) => n + 1);
        var latency = Interlocked.Read(ref latencyTicks);
        if (latency > 0) await Task.Delay(TimeSpan.FromTicks(latency), http.RequestAborted);

        if (Text(root, "grant_type") != "client_credential") return WeChatError(40002, "invalid grant_type");
        if (!appSecrets.TryGetValue(appId, out var secret)) return WeChatError(40013, "invalid appid");
        if (Text(root, "secret") != secret) return WeChatError(40125, "invalid appsecret");
        var force = root is { } r && r.TryGetProperty("force_refresh", out var f) && f.ValueKind == JsonValueKind.True;

        var now = DateTimeOffset.UtcNow;
        lock (tokenGate)
        {
            if (!force && currentToken.TryGetValue(appId, out var current)
                && tokens.TryGetValue(current, out var issued) && issued.ExpiresAt > now)
                return Results.Json(new { access_token = current, expires_in = (int)(issued.ExpiresAt - now).TotalSeconds });

            if (currentToken.TryGetValue(appId, out var old)) tokens.TryRemove(old, out _);
            var token = $"tok_{appId}_{Guid.NewGuid():N}";
            tokens[token] = new IssuedToken(appId, now + TokenLifetime);
            currentToken[appId] = token;
            return Results.Json(new { access_token = token, expires_in = (int)TokenLifetime.TotalSeconds });
        }
    }

    private async Task<IResult> WeChatSendAsync(HttpContext http, bool template)
    {
        var token = http.Request.Query["access_token"].ToString();
        using var doc = await ReadJsonAsync(http);
        var root = doc?.RootElement;
        var touser = Text(root, "touser") ?? "";
        await BeginSendAsync(touser, http.RequestAborted);

        if (!tokens.TryGetValue(token, out var issued)) return WeChatError(40001, "invalid credential, access_token is invalid or not latest");
        if (issued.ExpiresAt <= DateTimeOffset.UtcNow) return WeChatError(42001, "access_token expired");
        if (root is null) return WeChatError(47001, "data format error");
        if (touser.Length == 0) return WeChatError(40003, "invalid openid");
        var templateId = Text(root, "template_id");
        if (string.IsNullOrEmpty(templateId)) return WeChatError(40037, "invalid template_id");

        var fault = TakeFault(touser);
        switch (fault?.Kind)
        {
            case FaultKind.HttpStatus: return Results.StatusCode(fault.Status);
            case FaultKind.WeChatError: return WeChatError(fault.ErrCode, fault.Message!);
        }

        var clientMsgId = template ? Text(root, "client_msg_id") : null;
        var channel = template ? "wechat_oa" : "miniprogram_subscribe";
        var fields = WeChatData(root.Value);
        var link = Text(root, template ? "url" : "page");
        var (msgId, _) = Take(
            string.IsNullOrEmpty(clientMsgId) ? null : $"wechat\n{issued.AppId}\n{touser}\n{clientMsgId}",
            messageId => new AcceptedMessage(channel, issued.AppId, touser, templateId, clientMsgId, messageId, fields, link, null, null, DateTimeOffset.UtcNow));

        if (fault?.Kind == FaultKind.AcceptThenHang && !await HangAsync(fault, http.RequestAborted)) return Results.Empty;
        return Results.Json(new { errcode = 0, errmsg = "ok", msgid = long.Parse(msgId, System.Globalization.CultureInfo.InvariantCulture) });
    }

    private static IResult WeChatError(int errcode, string errmsg) => Results.Json(new { errcode, errmsg });

    /// <summary>WeChat <c>data {key: {value}}</c> as key → value text.</summary>
    private static Dictionary<string, string> WeChatData(JsonElement root)
    {
        var fields = new Dictionary<string, string>(StringComparer.Ordinal);
        if (!root.TryGetProperty("data", out var data) || data.ValueKind != JsonValueKind.Object) return fields;
        foreach (var field in data.EnumerateObject())
        {
            if (field.Value.ValueKind == JsonValueKind.Object && field.Value.TryGetProperty("value", out var v))
                fields[field.Name] = v.ValueKind == JsonValueKind.String ? v.GetString()! : v.GetRawText();
        }
        return fields;
    }

    /// <summary>Holds the answer of an accepted message; false when the client gave up first.</summary>
    private static async Task<bool> HangAsync(Fault fault, CancellationToken aborted)
    {
        try
        {
            await Task.Delay(fault.Delay ?? TimeSpan.FromSeconds(30), aborted);
            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    private static async Task<JsonDocument?> ReadJsonAsync(HttpContext http)
    {
        try
        {
            return await JsonDocument.ParseAsync(http.Request.Body, default, http.RequestAborted);
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private static string? Text(JsonElement? obj, string name) =>
        obj is { ValueKind: JsonValueKind.Object } o && o.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;
}
