using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Siyu.Core.Tenants;
using Siyu.Functions.Tenants;
using Siyu.IntegrationTests.Infrastructure;

namespace Siyu.IntegrationTests.Api;

/// <summary>
/// Every endpoint of the running app that takes a body (POST, PUT, PATCH), from its routes: an endpoint added later is
/// covered without being listed anywhere. Route parameters are filled with plausible values, and each endpoint is
/// called with a key it accepts, so the body is what gets judged.
/// </summary>
public sealed record BodyEndpoint(string Method, string Pattern, string Url, Access Access)
{
    public override string ToString() => $"{Method} {Pattern}";

    public static IReadOnlyList<BodyEndpoint> Of(SiyuApp app, TestTenant tenant)
    {
        var endpoints = app.Services.GetRequiredService<EndpointDataSource>().Endpoints.OfType<RouteEndpoint>();
        var list = new List<BodyEndpoint>();
        foreach (var e in endpoints)
        {
            var methods = e.Metadata.GetMetadata<HttpMethodMetadata>()?.HttpMethods ?? [];
            if (e.Metadata.GetMetadata<Access>() is not { } access) continue; // refused to everyone before any body is read
            foreach (var method in methods.Where(m => m is "POST" or "PUT" or "PATCH"))
                list.Add(new BodyEndpoint(method, e.RoutePattern.RawText!, UrlOf(e.RoutePattern.RawText!, tenant), access));
        }
        return list.DistinctBy(b => b.ToString()).OrderBy(b => b.ToString(), StringComparer.Ordinal).ToList();
    }

    public HttpClient Client(SiyuApp app, TestTenant tenant)
    {
        if (Access.Public) return app.CreateClient();
        if (Access.Operator) return app.Operator();
        return Access.Roles.Contains(Role.Admin) ? tenant.Admin() : Access.Roles.Contains(Role.Marketer) ? tenant.Marketer() : tenant.Ingest();
    }

    private static string UrlOf(string pattern, TestTenant tenant) =>
        "/" + System.Text.RegularExpressions.Regex.Replace(pattern.TrimStart('/'), @"\{([^}:]+)[^}]*\}", m => m.Groups[1].Value switch
        {
            "tenant" or "tenantId" => tenant.Id,
            "channel" => "sms",
            "appId" => "wxfuzz0001",
            "version" => "1",
            "name" or "tag" => "fuzz-tag",
            _ => "fuzz-1",
        });
}
