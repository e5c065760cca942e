using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Siyu.Core.Events;
using Siyu.Core.Identities;
using Siyu.Functions.Hosting;
using Siyu.Functions.Ingestion;
using Siyu.Storage.Queues;
using Siyu.IntegrationTests.Infrastructure;

namespace Siyu.IntegrationTests.Hosting;

/// <summary>The app as the Azure Functions host runs it: queue triggers arrive as POST /{FunctionName}.</summary>
public sealed class CustomHandlerApp : SiyuApp
{
    protected override void ConfigureMore(Microsoft.AspNetCore.Hosting.IWebHostBuilder builder)
    {
        builder.UseSetting("Hosting:CustomHandler", "true");
        builder.UseSetting("Queues:ListenersEnabled", "false");
    }
}

public sealed class CustomHandlerTests(CustomHandlerApp app) : IClassFixture<CustomHandlerApp>
{
    /// <summary>The payload the Functions host sends a custom handler for a queue trigger.</summary>
    private static HttpContent Invocation(string message, int dequeueCount) => JsonContent.Create(new
    {
        Data = new { message },
        Metadata = new { DequeueCount = dequeueCount, Id = Guid.NewGuid().ToString(), sys = new { MethodName = "ProcessIngest0" } },
    }, options: new JsonSerializerOptions()); // exactly as the host spells it: PascalCase

    [Fact]
    public async Task A_queue_trigger_invocation_processes_the_message_and_answers_the_host_protocol()
    {
        var tenant = await app.NewTenantAsync();
        var member = "m-" + Guid.NewGuid().ToString("N")[..8];
        var envelope = new IngestEnvelope(tenant.Id, [new IncomingEvent
        {
            MessageId = "ch-1", Type = EventType.Track, Name = "store_visit", Identities = [new Identity(IdentityType.UserId, member)],
            Timestamp = DateTimeOffset.UtcNow, ReceivedAt = DateTimeOffset.UtcNow, Source = "api",
        }]).Serialize();

        var response = await app.CreateClient().PostAsync("/ProcessIngest0", Invocation(envelope, 1));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var body = await response.Json();
        Assert.True(body.TryGetProperty("Outputs", out _));
        Assert.True(body.TryGetProperty("Logs", out _));

        var profile = await tenant.Marketer().WaitForProfile($"userId:{member}", 1);
        Assert.Equal(1, profile.GetProperty("counters").GetProperty("store_visit").GetProperty("count").GetInt64());
    }

    [Fact]
    public async Task An_unreadable_message_is_poisoned_with_its_reason_and_the_host_is_told_it_is_done()
    {
        var names = app.Service<QueueNames>();
        var poison = app.Service<IQueueService>().Queue(PoisonQueue.NameFor(names.Ingest[0]));
        var marker = "garbage-" + Guid.NewGuid().ToString("N");

        var response = await app.CreateClient().PostAsync("/ProcessIngest0", Invocation(marker, 1));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode); // no host retry, no reasonless host poison copy

        var poisoned = (await poison.PeekAsync(32)).Select(m => JsonDocument.Parse(m.Text).RootElement)
            .Single(p => p.GetProperty("text").GetString() == marker);
        Assert.Contains("unreadable ingest message", poisoned.GetProperty("error").GetString());
    }

    [Fact]
    public async Task Queue_function_routes_exist_only_for_the_functions_host()
    {
        Assert.Equal(HttpStatusCode.BadRequest, (await app.CreateClient().PostAsync("/ProcessIngest0",
            new StringContent("{}", System.Text.Encoding.UTF8, "application/json"))).StatusCode);

        await using var standalone = new SiyuApp();
        await standalone.InitializeAsync();
        var response = await standalone.CreateClient().PostAsync("/ProcessIngest0", Invocation("x", 1));
        Assert.NotEqual(HttpStatusCode.OK, response.StatusCode);
        Assert.True(response.StatusCode is HttpStatusCode.NotFound or HttpStatusCode.MethodNotAllowed);
    }
}
