using System.Net;
using System.Text.Json;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Siyu.Functions.Api;
using Siyu.Functions.Tenants;
using Siyu.IntegrationTests.Infrastructure;
using Siyu.Storage.Queues;

namespace Siyu.IntegrationTests.Api;

/// <summary>The app whose queue refuses, unexpectedly, any message that carries <see cref="Marker"/>: a bug on our side, on demand.</summary>
public sealed class FaultyQueueApp : SiyuApp
{
    public const string Marker = "explode-on-enqueue";

    protected override void ConfigureMore(AppBuilder builder) => builder.ConfigureServices(services =>
    {
        var inner = services.Last(d => d.ServiceType == typeof(IQueueService));
        services.Remove(inner);
        services.AddSingleton<IQueueService>(sp => new FaultyQueues((IQueueService)inner.ImplementationFactory!(sp)));
    });

    private sealed class FaultyQueues(IQueueService inner) : IQueueService
    {
        public IMessageQueue Queue(string name) => new FaultyQueue(inner.Queue(name));
    }

    private sealed class FaultyQueue(IMessageQueue inner) : ForwardingQueue(inner)
    {
        public override Task<SendReceipt> SendAsync(string text, TimeSpan? visibilityDelay = null, TimeSpan? timeToLive = null, CancellationToken ct = default) =>
            text.Contains(Marker) ? throw new InvalidOperationException("a bug") : base.SendAsync(text, visibilityDelay, timeToLive, ct);
    }
}

/// <summary>What the API says about itself: its errors, its roles, its OpenAPI document.</summary>
public sealed class ApiContractTests(FaultyQueueApp app) : IClassFixture<FaultyQueueApp>
{
    [Fact]
    public async Task An_unexpected_failure_is_a_500_internal_error_problem_with_the_request_id()
    {
        var tenant = await app.NewTenantAsync();
        var response = await tenant.Ingest().PostEvents(new { type = "track", messageId = "m1", @event = FaultyQueueApp.Marker, identities = new { anonymousId = "a" } });
        await response.AssertProblem(HttpStatusCode.InternalServerError, "internal_error");
        var requestId = Assert.Single(response.Headers.GetValues("X-Request-Id"));
        Assert.False(string.IsNullOrEmpty(requestId));
        var problem = await response.Json();
        Assert.Equal(requestId, problem.GetProperty("requestId").GetString());
        Assert.Contains(requestId, problem.GetProperty("detail").GetString());
        Assert.DoesNotContain("a bug", await response.Content.ReadAsStringAsync()); // what failed inside stays inside
    }

    [Fact]
    public async Task Every_problem_names_its_request()
    {
        var tenant = await app.NewTenantAsync();
        foreach (var response in new[]
                 {
                     await tenant.Marketer().PostEvents(new { type = "track" }),
                     await app.CreateClient().GetAsync("/api/nothing-here"),
                     await tenant.Ingest().PostRaw("/api/events", "{", "text/plain"),
                 })
        {
            Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
            Assert.Equal(response.Headers.GetValues("X-Request-Id").Single(), (await response.Json()).GetProperty("requestId").GetString());
        }
    }

    [Fact]
    public async Task Only_an_admin_may_halt_or_resume_sending()
    {
        var tenant = await app.NewTenantAsync();
        await (await tenant.Marketer().PostAsync("/api/tenants/current/sending:halt", null)).AssertProblem(HttpStatusCode.Forbidden, "wrong_role");
        await (await tenant.Marketer().PostAsync("/api/tenants/current/sending:resume", null)).AssertProblem(HttpStatusCode.Forbidden, "wrong_role");
        Assert.Equal(HttpStatusCode.OK, (await tenant.Admin().PostAsync("/api/tenants/current/sending:halt", null)).StatusCode);
        Assert.True((await (await tenant.Marketer().GetAsync("/api/tenants/current/sending")).Json()).GetProperty("halted").GetBoolean());
        Assert.Equal(HttpStatusCode.OK, (await tenant.Admin().PostAsync("/api/tenants/current/sending:resume", null)).StatusCode);
    }

    [Fact]
    public async Task Every_operation_in_the_OpenAPI_document_has_a_summary_a_role_and_its_security()
    {
        var doc = await (await app.CreateClient().GetAsync("/api/openapi.json")).Json();
        var schemes = doc.GetProperty("components").GetProperty("securitySchemes");
        Assert.Equal("bearer", schemes.GetProperty(OpenApiSetup.BearerScheme).GetProperty("scheme").GetString());
        Assert.Equal("X-Api-Key", schemes.GetProperty(OpenApiSetup.HeaderScheme).GetProperty("name").GetString());

        var routes = app.Services.GetRequiredService<EndpointDataSource>().Endpoints.OfType<RouteEndpoint>()
            .Where(e => e.Metadata.GetMetadata<Access>() is not null && e.RoutePattern.RawText != "/api/openapi.json")
            // The console's static files are not an API operation (they are left out of the document on purpose).
            .Where(e => e.Metadata.GetMetadata<Microsoft.AspNetCore.Routing.IExcludeFromDescriptionMetadata>() is not { ExcludeFromDescription: true }).ToList();
        Assert.True(routes.Count > 60, $"{routes.Count} routes");
        var checkedOperations = 0;
        foreach (var route in routes)
        {
            var access = route.Metadata.GetMetadata<Access>()!;
            var path = "/" + System.Text.RegularExpressions.Regex.Replace(route.RoutePattern.RawText!.Trim('/'), @"\{([^}:]+):[^}]*\}", "{$1}");
            Assert.True(doc.GetProperty("paths").TryGetProperty(path, out var item), $"OpenAPI lacks {path}");
            foreach (var method in route.Metadata.GetMetadata<HttpMethodMetadata>()!.HttpMethods)
            {
                var what = $"{method} {path}";
                Assert.True(item.TryGetProperty(method.ToLowerInvariant(), out var operation), $"OpenAPI lacks {what}");
                Assert.False(string.IsNullOrWhiteSpace(operation.TryGetProperty("summary", out var s) ? s.GetString() : null), $"{what} has no summary");
                Assert.True(operation.TryGetProperty(OpenApiSetup.RoleExtension, out var roles), $"{what} has no {OpenApiSetup.RoleExtension}");
                Assert.Equal(OpenApiSetup.RolesOf(access), roles.EnumerateArray().Select(r => r.GetString()!).ToList());
                var security = operation.TryGetProperty("security", out var sec) ? sec.EnumerateArray().SelectMany(r => r.EnumerateObject().Select(p => p.Name)).ToList() : [];
                if (access.Public) Assert.Empty(security);
                else Assert.Equal([OpenApiSetup.BearerScheme, OpenApiSetup.HeaderScheme], security);
                checkedOperations++;
            }
        }
        Assert.True(checkedOperations >= routes.Count);
    }
}
