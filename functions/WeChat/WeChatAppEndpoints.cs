using Siyu.Core.Tenants;
using Siyu.Core.Validation;
using Siyu.Core.WeChat;
using Siyu.Functions.Api;
using Siyu.Functions.Tenants;
using Siyu.Storage.WeChat;

namespace Siyu.Functions.WeChat;

public sealed record WeChatAppRequest(
    string? Kind, string? Token, string? EncodingAesKey, string? PreviousEncodingAesKey, string? AppSecret, string? MessageMode);

/// <summary>A registered app as the API shows it: never its token, keys or secret, only whether they are set.</summary>
public sealed record WeChatAppView(
    string AppId, string Kind, string MessageMode, bool HasEncodingAesKey, bool HasPreviousEncodingAesKey, bool HasAppSecret,
    string PushUrl, DateTimeOffset CreatedAt, DateTimeOffset UpdatedAt)
{
    public static WeChatAppView From(WeChatAppRecord r) => new(
        r.App.AppId, Camel(r.App.Kind.ToString()), Camel(r.App.Mode.ToString()),
        !string.IsNullOrEmpty(r.App.EncodingAesKey), r.App.PreviousEncodingAesKey is not null, r.AppSecret is not null,
        $"/api/wechat/{r.TenantId}/{r.App.AppId}", r.CreatedAt, r.UpdatedAt);

    private static string Camel(string s) => char.ToLowerInvariant(s[0]) + s[1..];
}

/// <summary>A tenant admin registers its official accounts and mini-programs, so their pushes can be verified.</summary>
public static class WeChatAppEndpoints
{
    public static void MapWeChatApps(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/api/wechat-apps").WithTags("WeChat apps").Allow(Role.Admin);

        group.MapPut("/{appId}", async (string appId, WeChatAppRequest body, HttpContext http, WeChatAppStore apps, WeChatAppCache cache, CancellationToken ct) =>
            {
                // Every problem at once, each with its field, so the form can be fixed in one go.
                var problems = new List<(string Field, string Message)>();
                if (appId.Length is < 4 or > 64 || !appId.All(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '-'))
                    problems.Add(("appId", "must be 4-64 letters, digits, '_' or '-' (e.g. wx1234567890abcdef)"));
                var kindKnown = Enum.TryParse<WeChatAppKind>(body.Kind, ignoreCase: true, out var kind) && Enum.IsDefined(kind);
                if (!kindKnown) problems.Add(("kind", "must be officialAccount or miniProgram"));
                var modeKnown = Enum.TryParse<WeChatMessageMode>(body.MessageMode ?? "safe", ignoreCase: true, out var mode) && Enum.IsDefined(mode);
                if (!modeKnown) problems.Add(("messageMode", "must be plaintext, compatible or safe"));
                if (body.Token is null || body.Token.Length is < 3 or > 32 || !body.Token.All(char.IsAsciiLetterOrDigit))
                    problems.Add(("token", "must be 3-32 letters or digits, as set in the WeChat console"));
                var candidate = new WeChatApp(appId, kind, body.Token ?? "", body.EncodingAesKey ?? "", body.PreviousEncodingAesKey,
                    modeKnown ? mode : WeChatMessageMode.Safe);
                foreach (var p in candidate.Validate())
                    if (!problems.Any(known => known.Field == p.Field)) problems.Add(p);
                if (problems.Count > 0) return Problems.Invalid("invalid_wechat_app", "the WeChat app", FieldError.FromFields(problems, "invalid_wechat_app"));

                var tenant = http.Caller().TenantId;
                var record = await apps.UpsertAsync(tenant, candidate, body.AppSecret, ct);
                cache.Forget(tenant, appId);
                return Results.Ok(WeChatAppView.From(record));
            })
            .WithName("PutWeChatApp")
            .WithSummary("Register or update a WeChat official account or mini-program (token, EncodingAESKey current and previous, appSecret, message mode)")
            .Produces<WeChatAppView>()
            .ProducesProblem(StatusCodes.Status400BadRequest);

        group.MapGet("/", async (HttpContext http, WeChatAppStore apps, CancellationToken ct) =>
                Results.Ok((await apps.ListAsync(http.Caller().TenantId, ct)).Select(WeChatAppView.From)))
            .WithName("ListWeChatApps").WithSummary("This tenant's WeChat apps").Produces<IEnumerable<WeChatAppView>>();

        group.MapGet("/{appId}", async (string appId, HttpContext http, WeChatAppStore apps, CancellationToken ct) =>
                await apps.GetAsync(http.Caller().TenantId, appId, ct) is { } r
                    ? Results.Ok(WeChatAppView.From(r))
                    : Problems.NotFound("wechat_app_not_found", $"no WeChat app '{appId}' in this tenant"))
            .WithName("GetWeChatApp").WithSummary("One WeChat app").Produces<WeChatAppView>().ProducesProblem(StatusCodes.Status404NotFound);

        group.MapDelete("/{appId}", async (string appId, HttpContext http, WeChatAppStore apps, WeChatAppCache cache, CancellationToken ct) =>
            {
                var tenant = http.Caller().TenantId;
                if (await apps.GetAsync(tenant, appId, ct) is null) return Problems.NotFound("wechat_app_not_found", $"no WeChat app '{appId}' in this tenant");
                await apps.DeleteAsync(tenant, appId, ct);
                cache.Forget(tenant, appId);
                return Results.NoContent();
            })
            .WithName("DeleteWeChatApp").WithSummary("Stop accepting pushes for an app").Produces(StatusCodes.Status204NoContent);
    }
}
