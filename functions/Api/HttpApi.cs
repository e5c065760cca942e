using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.Routing.Template;
using Siyu.Functions.Hosting;

namespace Siyu.Functions.Api;

/// <summary>
/// The HTTP API as a table of operations, each run by its own HTTP function (<c>*Functions.cs</c> in the concern
/// folders). The concern folders describe their endpoints as minimal-API handlers (<c>Map*</c>): ASP.NET Core compiles
/// them here once, with the same binding, results and metadata as in any ASP.NET Core app, and the OpenAPI document is
/// made from the same table. A function hands its request to <see cref="RunAsync"/> with its operation's key; the
/// request then passes the app's guard (problem+json for failures, the request id, the API key and its role, the body
/// check) before the handler runs, exactly as every request did when the app routed for itself.
/// </summary>
public sealed class HttpApi
{
    private readonly Dictionary<string, Operation> _operations;
    private readonly RequestDelegate _guarded;
    private readonly Operations.DurableAccess _durable;

    public HttpApi(IServiceProvider services)
    {
        _durable = services.GetRequiredService<Operations.DurableAccess>();
        var table = new EndpointTable(services);
        table.MapSiyuApi();
        Endpoints = new CompositeEndpointDataSource(table.DataSources);
        _operations = Endpoints.Endpoints.OfType<RouteEndpoint>()
            .SelectMany(e => (e.Metadata.GetMetadata<IHttpMethodMetadata>()?.HttpMethods ?? []).Select(m => new Operation(m, e)))
            .ToDictionary(o => o.Key, StringComparer.OrdinalIgnoreCase);
        var app = new ApplicationBuilder(services);
        app.UseSiyuGuard();
        app.Run(http => http.GetEndpoint()?.RequestDelegate?.Invoke(http) ?? Unmatched(http));
        _guarded = app.Build();
    }

    /// <summary>Every endpoint, for the OpenAPI document.</summary>
    public EndpointDataSource Endpoints { get; }

    /// <summary>The operations, keyed <c>"GET api/profiles/{id}"</c>: what the HTTP functions' triggers must match.</summary>
    public IReadOnlyCollection<Operation> Operations => _operations.Values;

    /// <summary>Runs one operation's handler behind the guard; <paramref name="key"/> is its method and route as its function declares them.</summary>
    public Task RunAsync(HttpRequest request, string key)
    {
        var http = request.HttpContext;
        if (!_operations.TryGetValue(key, out var operation))
            throw new InvalidOperationException($"no API operation '{key}': an HTTP function names an endpoint that is not mapped");
        var values = new RouteValueDictionary();
        if (!operation.Matcher.TryMatch(request.Path, values)) return NotFoundAsync(request);
        request.RouteValues = values;
        http.SetEndpoint(operation.Endpoint);
        return _guarded(http);
    }

    /// <summary>As <see cref="RunAsync(HttpRequest, string)"/>, for an operation that starts, signals or reads orchestrations: the function's Durable client goes to <see cref="Operations.DurableAccess"/> first.</summary>
    public Task RunAsync(HttpRequest request, Microsoft.DurableTask.Client.DurableTaskClient durable, string key)
    {
        _durable.Use(durable);
        return RunAsync(request, key);
    }

    /// <summary>A path no operation has (404), or one that has it under other methods (405 with <c>Allow</c>), as problem+json.</summary>
    public Task NotFoundAsync(HttpRequest request)
    {
        var http = request.HttpContext;
        http.SetEndpoint(null);
        request.RouteValues = new RouteValueDictionary();
        var allowed = _operations.Values.Where(o => o.Matcher.TryMatch(request.Path, new RouteValueDictionary()))
            .Select(o => o.Method).Distinct(StringComparer.OrdinalIgnoreCase).ToList();
        http.Items[AllowedMethods] = allowed;
        return _guarded(http);
    }

    private const string AllowedMethods = "siyu.allowed-methods";

    private static Task Unmatched(HttpContext http)
    {
        var allowed = http.Items[AllowedMethods] as List<string> ?? [];
        if (allowed.Count > 0) http.Response.Headers.Allow = string.Join(", ", allowed);
        http.Response.StatusCode = allowed.Count > 0 ? StatusCodes.Status405MethodNotAllowed : StatusCodes.Status404NotFound;
        return Task.CompletedTask; // the status-code pages write the problem
    }

    /// <summary>One method on one route, and the endpoint that answers it.</summary>
    public sealed class Operation
    {
        internal Operation(string method, RouteEndpoint endpoint)
        {
            Method = method.ToUpperInvariant();
            Endpoint = endpoint;
            Route = Normalize(endpoint.RoutePattern.RawText ?? "");
            Matcher = new TemplateMatcher(new RouteTemplate(endpoint.RoutePattern), new RouteValueDictionary());
        }

        public string Method { get; }
        /// <summary>The route as a function declares it: no leading or trailing slash.</summary>
        public string Route { get; }
        public RouteEndpoint Endpoint { get; }
        internal TemplateMatcher Matcher { get; }
        public string Key => $"{Method} {Route}";

        public static string Normalize(string route) => route.Trim('/');
    }

    /// <summary>What the <c>Map*</c> methods map onto: endpoints collected, not served.</summary>
    private sealed class EndpointTable(IServiceProvider services) : IEndpointRouteBuilder
    {
        public IServiceProvider ServiceProvider { get; } = services;
        public ICollection<EndpointDataSource> DataSources { get; } = new List<EndpointDataSource>();
        public IApplicationBuilder CreateApplicationBuilder() => new ApplicationBuilder(ServiceProvider);
    }
}
