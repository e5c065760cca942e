using System.Reflection;
using Microsoft.Net.Http.Headers;
using Siyu.Functions.Tenants;

namespace Siyu.Functions.WebConsole;

/// <summary>
/// The marketer's console: static files (plain ES modules, no build step, no CDN) embedded in the app and served at
/// <c>/console/</c>. The files hold no data: every number on a page is read from the API with the key entered once
/// and kept in the browser's session storage, so the API's roles and tenants apply as they do to any client.
/// </summary>
public static class ConsoleEndpoints
{
    private const string Prefix = "console/";

    private static readonly Dictionary<string, string> ContentTypes = new(StringComparer.OrdinalIgnoreCase)
    {
        [".html"] = "text/html; charset=utf-8",
        [".js"] = "text/javascript; charset=utf-8",
        [".css"] = "text/css; charset=utf-8",
        [".svg"] = "image/svg+xml",
        [".png"] = "image/png",
    };

    /// <summary>Every file, by its path under wwwroot ("app.js", "pages/journey.js"), read once.</summary>
    private static readonly Lazy<Dictionary<string, byte[]>> Files = new(() =>
    {
        var assembly = typeof(ConsoleEndpoints).Assembly;
        return assembly.GetManifestResourceNames().Where(n => n.StartsWith(Prefix, StringComparison.Ordinal)).ToDictionary(
            n => n[Prefix.Length..].Replace('\\', '/'), n => Read(assembly, n), StringComparer.Ordinal);
    });

    public static void MapConsole(this IEndpointRouteBuilder app)
    {
        app.MapGet("/console/{*path}", Serve)
            .WithMetadata(Access.Anonymous)
            .WithName("Console")
            .ExcludeFromDescription();
    }

    private static IResult Serve(string? path, HttpContext http)
    {
        if (string.IsNullOrEmpty(path) && !http.Request.Path.Value!.EndsWith('/')) return Results.Redirect("/console/");
        var name = string.IsNullOrEmpty(path) ? "index.html" : path;
        if (!Files.Value.TryGetValue(name, out var bytes))
            return Api.Problems.NotFound("not_found", $"the console has no file '{name}'");
        var headers = http.Response.Headers;
        // The console's own files only: no inline script, no other origin, not framed.
        headers[HeaderNames.ContentSecurityPolicy] = "default-src 'self'; img-src 'self' data:; style-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";
        headers[HeaderNames.XContentTypeOptions] = "nosniff";
        headers[HeaderNames.CacheControl] = "no-cache";
        headers["Referrer-Policy"] = "no-referrer";
        return Results.Bytes(bytes, ContentTypes.GetValueOrDefault(Path.GetExtension(name), "application/octet-stream"));
    }

    private static byte[] Read(Assembly assembly, string name)
    {
        using var stream = assembly.GetManifestResourceStream(name)!;
        using var copy = new MemoryStream();
        stream.CopyTo(copy);
        return copy.ToArray();
    }
}
