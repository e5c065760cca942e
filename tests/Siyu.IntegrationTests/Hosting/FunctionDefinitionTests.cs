using System.Text.Json;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.Routing.Patterns;
using Siyu.Functions.Hosting;
using Siyu.IntegrationTests.Infrastructure;

namespace Siyu.IntegrationTests.Hosting;

/// <summary>
/// host.json and the function.json files are what Azure runs: check they agree with the app. Every HTTP function's
/// route reaches real endpoints, every endpoint is reachable through some function, and every ingest queue has a trigger.
/// </summary>
public sealed class FunctionDefinitionTests(CustomHandlerApp app) : IClassFixture<CustomHandlerApp>
{
    private static string Root()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "host.json")) && Directory.Exists(Path.Combine(dir.FullName, "functions"))) return dir.FullName;
        throw new InvalidOperationException("repository root not found");
    }

    private static IEnumerable<(string Name, JsonElement Trigger)> Functions() =>
        Directory.GetDirectories(Path.Combine(Root(), "functions", "bindings")).Select(d =>
        {
            using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(d, "function.json")));
            var trigger = doc.RootElement.GetProperty("bindings").EnumerateArray().Single(b => b.GetProperty("direction").GetString() == "in").Clone();
            return (Path.GetFileName(d), trigger);
        }).ToList();

    [Fact]
    public void Host_json_runs_the_app_as_a_custom_handler_with_plain_queue_messages()
    {
        using var host = JsonDocument.Parse(File.ReadAllText(Path.Combine(Root(), "host.json")));
        var handler = host.RootElement.GetProperty("customHandler");
        Assert.Equal("Siyu.Functions", handler.GetProperty("description").GetProperty("defaultExecutablePath").GetString());
        Assert.True(handler.GetProperty("enableForwardingHttpRequest").GetBoolean());
        var queues = host.RootElement.GetProperty("extensions").GetProperty("queues");
        Assert.Equal("none", queues.GetProperty("messageEncoding").GetString());
        Assert.Equal(new QueueOptions().MaxDequeueCount, queues.GetProperty("maxDequeueCount").GetInt32());
        Assert.Equal("", host.RootElement.GetProperty("extensions").GetProperty("http").GetProperty("routePrefix").GetString());
    }

    [Fact]
    public void Every_queue_has_a_queue_function_with_a_handler_route()
    {
        var queueFunctions = Functions().Where(f => f.Trigger.GetProperty("type").GetString() == "queueTrigger")
            .ToDictionary(f => f.Trigger.GetProperty("queueName").GetString()!, f => f.Name);
        var deployed = new QueueNames(new StorageSettings(), new IngestionSettings()); // production: no prefix
        Assert.Equal(deployed.Work.OrderBy(q => q), queueFunctions.Keys.OrderBy(q => q));

        var routes = Endpoints().Select(e => "/" + e.RoutePattern.RawText!.TrimStart('/')).ToHashSet();
        foreach (var name in queueFunctions.Values) Assert.Contains("/" + name, routes);
    }

    [Fact]
    public void Every_timer_function_has_a_handler_route()
    {
        var timers = Functions().Where(f => f.Trigger.GetProperty("type").GetString() == "timerTrigger").ToList();
        Assert.Contains(timers, t => t.Name == "RetentionPurge");
        var routes = Endpoints().Select(e => "/" + e.RoutePattern.RawText!.TrimStart('/')).ToHashSet();
        foreach (var (name, trigger) in timers)
        {
            Assert.Contains("/" + name, routes);
            Assert.Equal(6, trigger.GetProperty("schedule").GetString()!.Split(' ').Length); // NCRONTAB: seconds first
        }
    }

    [Fact]
    public void Http_functions_and_api_endpoints_cover_each_other()
    {
        var http = Functions().Where(f => f.Trigger.GetProperty("type").GetString() == "httpTrigger")
            .Select(f => (Pattern: RoutePatternFactory.Parse(f.Trigger.GetProperty("route").GetString()!),
                          Methods: f.Trigger.GetProperty("methods").EnumerateArray().Select(m => m.GetString()!.ToUpperInvariant()).ToHashSet()))
            .ToList();

        foreach (var endpoint in Endpoints().Where(e => e.RoutePattern.RawText!.TrimStart('/').StartsWith("api/")))
        {
            var sample = "/" + string.Join('/', endpoint.RoutePattern.PathSegments.Select(s =>
                string.Concat(s.Parts.Select(p => p is RoutePatternLiteralPart l ? l.Content : "x1"))));
            var methods = endpoint.Metadata.GetMetadata<HttpMethodMetadata>()?.HttpMethods ?? ["GET"];
            foreach (var method in methods)
                Assert.True(http.Any(f => f.Methods.Contains(method) && new TemplateMatcherAdapter(f.Pattern).Matches(sample)),
                    $"no function.json routes {method} {sample}");
        }
    }

    private IEnumerable<RouteEndpoint> Endpoints() => app.Service<EndpointDataSource>().Endpoints.OfType<RouteEndpoint>();

    /// <summary>Matches a path against a function route the way the host's ASP.NET routing would.</summary>
    private sealed class TemplateMatcherAdapter(RoutePattern pattern)
    {
        public bool Matches(string path)
        {
            var matcher = new Microsoft.AspNetCore.Routing.Template.TemplateMatcher(
                Microsoft.AspNetCore.Routing.Template.TemplateParser.Parse(pattern.RawText!), new RouteValueDictionary());
            return matcher.TryMatch(path, new RouteValueDictionary());
        }
    }
}
