using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.Abstractions;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Siyu.LocalHost;

/// <summary>
/// HTTP triggers on Kestrel: each function at <c>/{routePrefix}/{route}</c> (its name when it has no route) for its
/// methods, as the Functions host routes them (ASP.NET Core route templates, so <c>{id}</c>, <c>{id?}</c>, constraints
/// and <c>{*rest}</c> mean what they mean there); anything else is 404, a known route with another method 405.
/// Authorization level <c>function</c> or <c>admin</c> asks for the key in <c>LocalHost:FunctionKey</c> (header
/// <c>x-functions-key</c> or query <c>code</c>), as the host asks for a function key.
/// </summary>
internal static class HttpTriggers
{
    public static int Map(WebApplication web, IReadOnlyList<FunctionInvoker> functions, HostJson host, IConfiguration config)
    {
        var count = 0;
        foreach (var invoker in functions.Where(f => f.Function.Trigger.Type.Equals("httpTrigger", StringComparison.OrdinalIgnoreCase)))
        {
            var trigger = invoker.Function.Trigger;
            var route = trigger.Text("route") ?? invoker.Function.Name;
            var pattern = "/" + (host.RoutePrefix.Length == 0 ? route : host.RoutePrefix + "/" + route.TrimStart('/'));
            var methods = trigger.Texts("methods").Select(m => m.ToUpperInvariant()).ToArray();
            var keyed = trigger.Text("authLevel") is { } level && !level.Equals("anonymous", StringComparison.OrdinalIgnoreCase);
            RequestDelegate handler = http => HandleAsync(http, invoker, keyed ? config["LocalHost:FunctionKey"] : null, keyed);
            var endpoint = methods.Length == 0 ? web.Map(pattern, handler) : web.MapMethods(pattern, methods, handler);
            endpoint.WithDisplayName(invoker.Function.Name);
            count++;
        }
        return count;
    }

    private static async Task HandleAsync(HttpContext http, FunctionInvoker invoker, string? functionKey, bool keyed)
    {
        if (keyed)
        {
            var given = http.Request.Headers["x-functions-key"].FirstOrDefault() ?? http.Request.Query["code"].FirstOrDefault();
            if (string.IsNullOrEmpty(functionKey) || given != functionKey)
            {
                http.Response.StatusCode = StatusCodes.Status401Unauthorized;
                return;
            }
        }
        var routeValues = http.GetRouteData().Values;
        var data = routeValues.ToDictionary(kv => kv.Key, kv => kv.Value, StringComparer.OrdinalIgnoreCase);
        data["Query"] = http.Request.Query.ToDictionary(q => q.Key, q => q.Value.ToString());
        var invocation = new Invocation(type => type == typeof(HttpRequest) ? http.Request
            : throw new NotSupportedException($"{invoker.Function.Name}: an HTTP trigger binds HttpRequest (ASP.NET Core integration), not {type.Name}"), data);
        await invoker.InvokeAsync(invocation, http, http.RequestAborted,
            result => invoker.HttpResultsWrittenByApp ? Unwritten(http, invoker, result) : WriteAsync(http, result));
    }

    /// <summary>
    /// Under the ASP.NET Core integration its middleware (run in the app's pipeline) has written an <c>IActionResult</c>,
    /// <c>IResult</c> or <c>HttpResponseData</c>; any other return value it leaves unwritten, and so does this host, saying so.
    /// </summary>
    private static Task Unwritten(HttpContext http, FunctionInvoker invoker, object? result)
    {
        if (result is not null and not IActionResult and not IResult and not Microsoft.Azure.Functions.Worker.Http.HttpResponseData)
            http.RequestServices.GetRequiredService<ILoggerFactory>().CreateLogger("Siyu.LocalHost").LogWarning(
                "Function {Function} returned a {Type}: the ASP.NET Core integration writes only IActionResult, IResult and HttpResponseData, so the response is empty",
                invoker.Function.Name, result.GetType().Name);
        return Task.CompletedTask;
    }

    /// <summary>What is written without the integration's middleware (an app that does not use ConfigureFunctionsWebApplication).</summary>
    private static Task WriteAsync(HttpContext http, object? result)
    {
        switch (result)
        {
            case IResult r:
                return r.ExecuteAsync(http);
            case IActionResult a:
                return a.ExecuteResultAsync(new ActionContext(http, http.GetRouteData(), new ActionDescriptor()));
            case null:
                if (!http.Response.HasStarted && http.Response.StatusCode == StatusCodes.Status200OK) http.Response.StatusCode = StatusCodes.Status204NoContent;
                return Task.CompletedTask;
            case string text:
                http.Response.ContentType ??= "text/plain; charset=utf-8";
                return http.Response.WriteAsync(text, http.RequestAborted);
            default:
                return http.Response.WriteAsJsonAsync(result, result.GetType(), http.RequestAborted);
        }
    }
}
