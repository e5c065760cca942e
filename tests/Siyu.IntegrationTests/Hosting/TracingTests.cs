using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using OpenTelemetry.Trace;
using Siyu.Functions.Hosting;
using Siyu.IntegrationTests.Delivery;
using Siyu.IntegrationTests.Infrastructure;

namespace Siyu.IntegrationTests.Hosting;

/// <summary>The app with its spans kept in memory, as an exporter would receive them.</summary>
public sealed class TracedApp : DeliveryApp
{
    public List<Activity> Spans { get; } = [];

    public TracedApp() => With("Telemetry:Enabled", "true");

    protected override void ConfigureMore(AppBuilder builder)
    {
        base.ConfigureMore(builder);
        builder.ConfigureServices(s => s.ConfigureOpenTelemetryTracerProvider(t => t.AddInMemoryExporter(Spans)));
    }

    /// <summary>The spans of one trace exported so far (the exporter is shared by every request in this process).</summary>
    public List<Activity> Trace(ActivityTraceId id)
    {
        lock (Spans) return Spans.Where(s => s.TraceId == id).ToList();
    }
}

/// <summary>
/// A trace follows the work from the request across the queues to the provider call, with the request id on the
/// request's span.
/// </summary>
public sealed class TracingTests(TracedApp app) : IClassFixture<TracedApp>
{
    /// <summary>The trace of the request that answered with this request id (its server span carries the id).</summary>
    private async Task<ActivityTraceId> TraceOfRequestAsync(HttpResponseMessage response)
    {
        var requestId = response.Headers.GetValues("X-Request-Id").Single();
        var server = await Eventually.Get(() =>
        {
            lock (app.Spans) return Task.FromResult(app.Spans.FirstOrDefault(s => s.Kind == ActivityKind.Server && (string?)s.GetTagItem(Telemetry.RequestIdTag) == requestId));
        }, s => s is not null, what: "the request's span, with its request id");
        return server!.TraceId;
    }

    [Fact]
    public async Task A_campaign_is_one_trace_from_its_request_through_the_fan_out_and_delivery_to_the_provider_call()
    {
        var brand = await SendingBrand.CreateAsync(app);
        var people = await brand.PeopleAsync(1);
        using var response = await brand.Tenant.Marketer().PostAsJsonAsync("/api/campaigns", new
        {
            name = "traced",
            audience = new { identities = people.Select(p => "phone:" + p).ToArray() },
            message = new { template = "sms_offer", variables = new Dictionary<string, string> { ["name"] = "x", ["offer"] = "y" } },
        });
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var trace = await TraceOfRequestAsync(response);
        await brand.WaitDoneAsync((await response.Json()).GetProperty("id").GetString()!);

        var spans = await Eventually.Get(() => Task.FromResult(app.Trace(trace)),
            s => s.Any(a => a.Kind == ActivityKind.Client && a.GetTagItem("server.port")?.ToString() == app.Fake.BaseUrl.Port.ToString()),
            what: "the provider call in the request's trace");
        var names = app.Service<QueueNames>();
        Assert.Contains(spans, s => s.Source.Name == Telemetry.SourceName && s.DisplayName == "campaign fan-out");
        Assert.Contains(spans, s => s.Source.Name == Telemetry.SourceName && names.Deliveries.Any(q => s.DisplayName == $"{q} process"));
        // The provider call happens inside the delivery round.
        var send = spans.First(a => a.Kind == ActivityKind.Client && a.GetTagItem("server.port")?.ToString() == app.Fake.BaseUrl.Port.ToString());
        var round = spans.Single(s => s.SpanId == send.ParentSpanId);
        Assert.Contains(names.Deliveries, q => round.DisplayName == $"{q} process");
    }

    [Fact]
    public async Task Events_accepted_by_a_request_are_processed_in_a_round_that_continues_and_links_its_trace()
    {
        var tenant = await app.NewTenantAsync();
        var phone = "139" + Random.Shared.Next(10_000_000, 99_999_999);
        using var response = await tenant.Ingest().PostEvents(new { type = "track", messageId = Guid.NewGuid().ToString(), @event = "page_view", identities = new { phone } });
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        var trace = await TraceOfRequestAsync(response);

        var names = app.Service<QueueNames>();
        var round = await Eventually.Get(() =>
            {
                lock (app.Spans) return Task.FromResult(app.Spans.FirstOrDefault(s => names.Ingest.Any(q => s.DisplayName == $"{q} process")
                                                                                     && s.Links.Any(l => l.Context.TraceId == trace)));
            }, s => s is not null, what: "an ingest round linked to the request");
        Assert.Equal(trace, round!.TraceId); // the round's first message was this request's: it continues its trace

        // What a message starts with, and how a round reads it back.
        var header = $"00-{trace}-{round.ParentSpanId}-01";
        var stamped = Telemetry.Stamp("{\"tenantId\":\"t\"}", [header]);
        Assert.Equal($"{{\"traces\":[\"{header}\"],\"tenantId\":\"t\"}}", stamped);
        Assert.Equal([trace], Telemetry.TracesOf(stamped).Select(c => c.TraceId));
    }
}
