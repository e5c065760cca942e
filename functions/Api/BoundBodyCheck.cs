using System.Collections.Concurrent;
using System.Reflection;
using Microsoft.Extensions.Options;
using Siyu.Core.Validation;

namespace Siyu.Functions.Api;

/// <summary>
/// Endpoints whose body the framework binds to a handler parameter (tenants, keys, WeChat apps) are read the same way
/// as every other body before the framework sees it: within a size limit, as JSON whose strings are text, and checked
/// against the parameter's type, so <c>null</c>, a wrong type or bad text is a 400 that lists every problem with its
/// path instead of an exception in the handler. A body that passes is handed on unchanged.
/// </summary>
public sealed class BoundBodyCheck(RequestDelegate next, IOptions<Microsoft.AspNetCore.Http.Json.JsonOptions> json)
{
    public const int MaxBytes = 64 * 1024;
    private static readonly ConcurrentDictionary<Endpoint, Type?> BodyTypes = new();

    public async Task InvokeAsync(HttpContext http)
    {
        if (http.GetEndpoint() is not { } endpoint || BodyTypes.GetOrAdd(endpoint, BoundBodyType) is not { } type)
        {
            await next(http);
            return;
        }
        var body = await RequestBody.ReadAsync(http.Request, MaxBytes, ["application/json"], http.RequestAborted);
        if (body.Problem is not null) { await body.Problem.ExecuteAsync(http); return; }
        var (doc, problem) = RequestBody.ParseJson(body.Body!);
        if (problem is not null) { await problem.ExecuteAsync(http); return; }
        using (doc)
        {
            var errors = new List<FieldError>();
            if (doc!.RootElement.ValueKind != System.Text.Json.JsonValueKind.Object)
                errors.Add(new FieldError("", JsonShape.WrongType, "the body must be a JSON object"));
            else JsonShape.Check(doc.RootElement, type, json.Value.SerializerOptions, "", errors, RequestBody.MaxErrors);
            if (errors.Count > 0) { await Problems.Invalid("invalid_body", "the body", errors).ExecuteAsync(http); return; }
        }
        http.Request.Body = new MemoryStream(body.Body!, writable: false);
        http.Request.ContentLength = body.Body!.Length;
        await next(http);
    }

    /// <summary>The type of the handler parameter the framework binds the body to, or null when the handler reads the body itself (or has none).</summary>
    public static Type? BoundBodyType(Endpoint endpoint)
    {
        if (endpoint.Metadata.GetMetadata<MethodInfo>() is not { } handler) return null;
        return endpoint.Metadata.OfType<Microsoft.AspNetCore.Http.Metadata.IAcceptsMetadata>()
            .Select(a => a.RequestType)
            .FirstOrDefault(t => t is not null && handler.GetParameters().Any(p => p.ParameterType == t));
    }
}
