using System.Collections.Concurrent;
using System.Globalization;
using System.Text.Json;

namespace Siyu.FakeProviders;

/// <summary>
/// WeCom (企业微信) as it answers: <c>GET /cgi-bin/gettoken?corpid&amp;corpsecret</c> for a registered corp and secret
/// (7,200 s tokens; a wrong corpid 40013, a wrong secret 40001); <c>POST /cgi-bin/externalcontact/add_msg_template</c>
/// (chat_type single, a known token or 40014 / 42001, text or attachments, at most 10,000 external_userid): a customer
/// who is not the sender's (<see cref="RegisterWeComCustomer"/>) or who has had this month's limit goes in
/// <c>fail_list</c>, the others into one task; <c>POST /cgi-bin/message/send</c> (msgtype text, a registered agentid):
/// a member not registered goes in <c>invaliduser</c>. Errors are HTTP 200 <c>{"errcode","errmsg"}</c>, as WeCom's are.
/// Neither API dedupes: every task taken counts, and one repeating a customer's message counts in <see cref="Repeated"/>.
/// </summary>
public sealed partial class FakeProviderServer
{
    private readonly ConcurrentDictionary<string, string> wecomSecrets = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, (string CorpId, DateTimeOffset ExpiresAt)> wecomTokens = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, string> wecomCustomers = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, byte> wecomMembers = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, byte> wecomAgents = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, int> wecomMonthly = new(StringComparer.Ordinal);
    private int wecomTokenRequests, wecomOverLimit;

    /// <summary>What WeCom lets one customer receive a month (the days of the month by default).</summary>
    public int WeComMonthlyLimit { get; set; }

    /// <summary>Customers WeCom itself refused for being over their monthly limit: what our own count should keep at 0.</summary>
    public int WeComOverLimit => Volatile.Read(ref wecomOverLimit);

    public int WeComTokenRequests => Volatile.Read(ref wecomTokenRequests);

    public void RegisterWeComCorp(string corpId, string secret) => wecomSecrets[corpId + "\n" + secret] = corpId;

    /// <summary>An external contact (customer) of a member: only that member's tasks reach them.</summary>
    public void RegisterWeComCustomer(string externalUserId, string memberUserId)
    {
        wecomCustomers[externalUserId] = memberUserId;
        wecomMembers[memberUserId] = 0;
    }

    public void RegisterWeComMember(string userId) => wecomMembers[userId] = 0;

    public void RegisterWeComAgent(string corpId, int agentId) => wecomAgents[$"{corpId}\n{agentId}"] = 0;

    /// <summary>Ends every WeCom token now, as WeCom does when a secret is reset (the next send gets 42001).</summary>
    public void ExpireWeComTokens()
    {
        foreach (var (token, value) in wecomTokens) wecomTokens[token] = (value.CorpId, DateTimeOffset.UtcNow.AddSeconds(-1));
    }

    private void MapWeCom(WebApplication web)
    {
        web.MapGet("/cgi-bin/gettoken", (string? corpid, string? corpsecret) =>
        {
            Interlocked.Increment(ref wecomTokenRequests);
            if (string.IsNullOrEmpty(corpid) || !wecomSecrets.Values.Contains(corpid)) return WeChatError(40013, "invalid corpid");
            if (string.IsNullOrEmpty(corpsecret) || !wecomSecrets.ContainsKey(corpid + "\n" + corpsecret)) return WeChatError(40001, "invalid credential");
            var token = "wecom-" + Guid.NewGuid().ToString("N");
            wecomTokens[token] = (corpid, DateTimeOffset.UtcNow.AddSeconds(7200));
            return Results.Json(new { errcode = 0, errmsg = "ok", access_token = token, expires_in = 7200 });
        });
        web.MapPost("/cgi-bin/externalcontact/add_msg_template", Handler(WeComTemplateAsync));
        web.MapPost("/cgi-bin/message/send", Handler(WeComAppMessageAsync));
    }

    private (string? CorpId, IResult? Error) WeComToken(HttpContext http)
    {
        var token = http.Request.Query["access_token"].ToString();
        if (string.IsNullOrEmpty(token)) return (null, WeChatError(41001, "access_token missing"));
        if (!wecomTokens.TryGetValue(token, out var issued)) return (null, WeChatError(40014, "invalid access_token"));
        if (issued.ExpiresAt < DateTimeOffset.UtcNow) return (null, WeChatError(42001, "access_token expired"));
        return (issued.CorpId, null);
    }

    private static async Task<JsonElement?> JsonBodyAsync(HttpContext http)
    {
        try
        {
            using var doc = await JsonDocument.ParseAsync(http.Request.Body, cancellationToken: http.RequestAborted);
            return doc.RootElement.ValueKind == JsonValueKind.Object ? doc.RootElement.Clone() : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private async Task<IResult> WeComTemplateAsync(HttpContext http)
    {
        var body = await JsonBodyAsync(http);
        var customers = body is { } b && b.TryGetProperty("external_userid", out var ids) && ids.ValueKind == JsonValueKind.Array
            ? ids.EnumerateArray().Select(i => i.ValueKind == JsonValueKind.String ? i.GetString()! : "").ToList() : [];
        await BeginSendAsync(customers.FirstOrDefault() ?? "", http.RequestAborted);
        var (corpId, error) = WeComToken(http);
        if (error is not null) return error;
        if (body is not { } request) return WeChatError(47001, "data format error");
        if (request.TryGetProperty("chat_type", out var chatType) && chatType.GetString() is not ("single" or "group")) return WeChatError(40058, "invalid chat_type");
        var text = request.TryGetProperty("text", out var t) && t.TryGetProperty("content", out var c) ? c.GetString() : null;
        var hasAttachments = request.TryGetProperty("attachments", out var a) && a.ValueKind == JsonValueKind.Array && a.GetArrayLength() > 0;
        if (string.IsNullOrEmpty(text) && !hasAttachments) return WeChatError(44004, "empty content");
        if (text is { Length: > 4000 }) return WeChatError(45002, "content size out of limit");
        if (customers.Count is 0 or > 10000) return WeChatError(41048, "no customer to send to");
        var sender = request.TryGetProperty("sender", out var s) ? s.GetString() : null;
        if (sender is not null && !wecomMembers.ContainsKey(sender)) return WeChatError(40003, "invalid userid");

        var fault = TakeFault(customers[0]);
        if (fault?.Kind == FaultKind.WeChatError) return WeChatError(fault.ErrCode, fault.Message ?? "scripted");
        if (fault?.Kind == FaultKind.HttpStatus) return Results.StatusCode(fault.Status);

        var month = DateTimeOffset.UtcNow.ToOffset(TimeSpan.FromHours(8));
        var limit = WeComMonthlyLimit > 0 ? WeComMonthlyLimit : DateTime.DaysInMonth(month.Year, month.Month);
        var failList = new List<string>();
        var msgId = "msg" + Interlocked.Increment(ref nextId).ToString(CultureInfo.InvariantCulture);
        foreach (var customer in customers)
        {
            // Only the customers of the sender (or of anyone, when WeCom picks the last member who chatted with them).
            if (!wecomCustomers.TryGetValue(customer, out var owner) || sender is not null && owner != sender) { failList.Add(customer); continue; }
            var key = $"{corpId}\n{customer}\n{month:yyyy-MM}";
            if (wecomMonthly.AddOrUpdate(key, 1, static (_, n) => n + 1) > limit)
            {
                Interlocked.Increment(ref wecomOverLimit);
                failList.Add(customer);
                continue;
            }
            Take($"wecom\n{corpId}\n{customer}\n{text}", _ => new AcceptedMessage("wecom", corpId, customer, "msg_template", null, msgId,
                new Dictionary<string, string> { ["content"] = text ?? "" }, hasAttachments ? a.GetRawText() : null, null, sender ?? owner, DateTimeOffset.UtcNow), dedupes: false);
        }
        if (fault?.Kind == FaultKind.AcceptThenHang && !await HangAsync(fault, http.RequestAborted)) return Results.Empty;
        return Results.Json(new { errcode = 0, errmsg = "ok", fail_list = failList, msgid = msgId });
    }

    private async Task<IResult> WeComAppMessageAsync(HttpContext http)
    {
        var body = await JsonBodyAsync(http);
        var touser = body is { } b && b.TryGetProperty("touser", out var to) ? to.GetString() ?? "" : "";
        await BeginSendAsync(touser, http.RequestAborted);
        var (corpId, error) = WeComToken(http);
        if (error is not null) return error;
        if (body is not { } request) return WeChatError(47001, "data format error");
        if (!request.TryGetProperty("msgtype", out var type) || type.GetString() != "text") return WeChatError(40008, "invalid message type");
        if (!request.TryGetProperty("agentid", out var agent) || !agent.TryGetInt32(out var agentId) || !wecomAgents.ContainsKey($"{corpId}\n{agentId}"))
            return WeChatError(40056, "invalid agentid");
        var text = request.TryGetProperty("text", out var t) && t.TryGetProperty("content", out var c) ? c.GetString() : null;
        if (string.IsNullOrEmpty(text)) return WeChatError(44004, "empty content");
        var users = touser.Split('|', StringSplitOptions.RemoveEmptyEntries);
        var invalid = users.Where(u => !wecomMembers.ContainsKey(u)).ToList();
        if (invalid.Count == users.Length) return WeChatError(82001, "all touser invalid");
        var msgId = "app" + Interlocked.Increment(ref nextId).ToString(CultureInfo.InvariantCulture);
        foreach (var user in users.Except(invalid))
            Take(null, _ => new AcceptedMessage("wecom", corpId, user, "app_message", null, msgId, new Dictionary<string, string> { ["content"] = text },
                null, null, agentId.ToString(CultureInfo.InvariantCulture), DateTimeOffset.UtcNow), dedupes: false);
        return Results.Json(new { errcode = 0, errmsg = "ok", invaliduser = string.Join('|', invalid), invalidparty = "", invalidtag = "", msgid = msgId });
    }
}
