using System.Collections.Concurrent;
using System.Net;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using Siyu.Core.Storage;
using Siyu.Functions.Hosting;
using Siyu.Functions.Journeys;
using Siyu.IntegrationTests.Consent;
using Siyu.IntegrationTests.Infrastructure;
using Siyu.Storage.Journeys;

namespace Siyu.IntegrationTests.Journeys;

/// <summary>Stops the engine where a test says: the two moments at which a crash could cost a duplicate or a loss.</summary>
public sealed class TestFaults : IJourneyFaults
{
    public Func<string, Task>? OnCommit { get; set; }
    public Func<string, Task>? OnEffect { get; set; }
    public Task AfterCommitAsync(string runKey, CancellationToken ct) => OnCommit?.Invoke(runKey) ?? Task.CompletedTask;
    public Task AfterEffectAsync(string effectKey, CancellationToken ct) => OnEffect?.Invoke(effectKey) ?? Task.CompletedTask;
}

/// <summary>The app with a movable clock, a fault seam, and the timer sweep run by hand so a test decides when timers fire.</summary>
public sealed class FaultyApp : SiyuApp
{
    public FakeTimeProvider Clock { get; } = new(DateTimeOffset.UtcNow);
    public TestFaults Faults { get; } = new();

    public FaultyApp() => With($"AzureWebJobs.{Siyu.Functions.Journeys.JourneyClock.Name}.Disabled", "true");

    protected override void ConfigureMore(AppBuilder builder) => builder.ConfigureServices(s =>
    {
        s.AddSingleton<TimeProvider>(Clock);
        s.AddSingleton<IJourneyFaults>(Faults);
    });
}

/// <summary>A webhook receiver on a real local port, as a partner's endpoint would be: it counts requests and keys.</summary>
public sealed class WebhookReceiver : IAsyncDisposable
{
    private readonly WebApplication _app;
    public ConcurrentQueue<string> Keys { get; } = new();
    public string Url { get; }

    private WebhookReceiver(WebApplication app, string url) { _app = app; Url = url; }

    public static async Task<WebhookReceiver> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        var app = builder.Build();
        WebhookReceiver? receiver = null;
        app.MapPost("/hook", (HttpRequest r) => { receiver!.Keys.Enqueue(r.Headers["Idempotency-Key"].ToString()); return Results.Ok(); });
        await app.StartAsync();
        receiver = new WebhookReceiver(app, app.Urls.First() + "/hook");
        return receiver;
    }

    public async ValueTask DisposeAsync() => await _app.DisposeAsync();
}

/// <summary>
/// At-least-once delivery turned into exactly-once effects: a stop after a send's record, a stop after a webhook
/// before the run records it, the same timer message twice, an exit event while a step is under way.
/// </summary>
public sealed class JourneyFaultTests(FaultyApp app) : IClassFixture<FaultyApp>
{
    private static string Journey(string webhookUrl) => $$$"""
        {
          "name": "Welcome",
          "entry": { "on": "api" },
          "exitOn": [ { "event": "unsubscribe" } ],
          "start": "hello",
          "nodes": {
            "hello": { "type": "send", "channel": "sms", "template": "welcome", "next": "notify" },
            "notify": { "type": "webhook", "url": "{{{webhookUrl}}}", "body": { "who": "{{profile.id}}" }, "next": "thanks" },
            "thanks": { "type": "send", "channel": "sms", "template": "thanks", "next": "later" },
            "later": { "type": "delay", "for": "1h", "next": "again" },
            "again": { "type": "send", "channel": "sms", "template": "follow_up", "next": "done" },
            "done": { "type": "exit" }
          }
        }
        """;

    private async Task<(TestTenant Tenant, string ProfileId)> PersonAsync()
    {
        var tenant = await app.NewTenantAsync();
        var phone = ConsentApi.NewPhone();
        await tenant.Ingest().PostEvents(new { messageId = "v-" + phone, type = "track", @event = "visit", identities = new { phone } });
        var id = (await tenant.Marketer().WaitForProfile($"phone:{phone}", 1)).GetProperty("id").GetString()!;
        return (tenant, id);
    }

    private async Task EnterAsync(TestTenant tenant, string journey, string profileId)
    {
        var entered = await (await tenant.Enter(journey, new { profileId })).Json();
        Assert.Equal(1, entered.GetProperty("entered").GetInt32());
        await app.Service<TimerSweep>().RunOnceAsync(CancellationToken.None);
    }

    private static List<string> Templates(JsonElement runs) =>
        runs.GetProperty("deliveries").EnumerateArray().Select(d => d.GetProperty("template").GetString()!).ToList();

    [Fact]
    public async Task A_stop_after_a_sends_record_and_after_a_webhook_repeats_nothing_and_loses_nothing()
    {
        await using var hook = await WebhookReceiver.StartAsync();
        var (tenant, id) = await PersonAsync();
        await tenant.PublishAsync("welcome", Journey(hook.Url));

        // The process stops right after the step that recorded the welcome send was written, before its message is
        // done; and again right after the webhook was called, before the run recorded it.
        var commitStops = 0;
        var effectStops = 0;
        app.Faults.OnCommit = _ => Interlocked.Increment(ref commitStops) == 1 ? throw new IOException("process stopped") : Task.CompletedTask;
        app.Faults.OnEffect = _ => Interlocked.Increment(ref effectStops) == 1 ? throw new IOException("process stopped") : Task.CompletedTask;
        try
        {
            await EnterAsync(tenant, "welcome", id);
            var runs = await Eventually.Get(() => tenant.Runs(id), r => r.GetProperty("journeys")[0].GetProperty("node").GetString() == "later",
                what: "the run waiting at the delay");
            Assert.Equal(["welcome", "thanks"], Templates(runs));
            Assert.True(commitStops >= 2 && effectStops >= 2, $"the faults fired ({commitStops}, {effectStops})");
            // The webhook was called again after the stop, under the same key: the receiver can tell it is one call.
            Assert.Single(hook.Keys.Distinct());
            Assert.True(hook.Keys.Count >= 2, $"{hook.Keys.Count} webhook calls");
            var stats = await tenant.Stats("welcome");
            Assert.Equal(1, stats.NodeEntered("hello"));
            Assert.Equal(1, stats.NodeEntered("thanks"));
            Assert.Equal(1, stats.GetProperty("entered").GetInt64());
        }
        finally
        {
            app.Faults.OnCommit = null;
            app.Faults.OnEffect = null;
        }

        // The same timer message, delivered twice: one follow-up.
        var store = app.Service<RunStore>();
        var run = (await store.ForProfileAsync(tenant.Id, id)).Single().Instance;
        app.Clock.Advance(TimeSpan.FromHours(1) + TimeSpan.FromSeconds(1));
        var message = JsonSerializer.Serialize(new JourneyMessage(JourneyMessage.TimersKind, tenant.Id, Ids.ProfileBucket(id),
            Timers: [new TimerItem(RunStore.RunKey(run), run.Generation)]), JsonSerializerOptions.Web);
        var work = app.Service<JourneyWork>();
        Assert.Equal(WorkOutcome.Done, (await work.HandleAsync([new QueueWorkItem(message, 1)], CancellationToken.None))[0]);
        Assert.Equal(WorkOutcome.Done, (await work.HandleAsync([new QueueWorkItem(message, 2)], CancellationToken.None))[0]);
        var after = await tenant.Runs(id);
        Assert.Equal(["welcome", "thanks", "follow_up"], Templates(after));
        Assert.Equal("completed", after.GetProperty("journeys")[0].GetProperty("status").GetString());
        var final = await tenant.Stats("welcome");
        Assert.Equal(1, final.NodeEntered("again"));
        Assert.Equal(1, final.GetProperty("completed").GetInt64());
        // The sweep still holds the timer too: firing it now changes nothing either.
        await app.Service<TimerSweep>().RunOnceAsync(CancellationToken.None);
        await Task.Delay(500);
        Assert.Equal(3, Templates(await tenant.Runs(id)).Count);
    }

    [Fact]
    public async Task An_exit_event_that_arrives_while_a_step_is_under_way_ends_the_run_at_once()
    {
        await using var hook = await WebhookReceiver.StartAsync();
        var (tenant, id) = await PersonAsync();
        await tenant.PublishAsync("welcome", Journey(hook.Url));

        // While the webhook step is under way, the person unsubscribes and another worker handles that event first.
        var engine = app.Service<JourneyEngine>();
        var once = 0;
        app.Faults.OnEffect = async _ =>
        {
            if (Interlocked.Increment(ref once) != 1) return;
            await engine.RunAsync(tenant.Id, Ids.ProfileBucket(id),
                [new RunWork.Event(id, new JourneyEvent("unsub-" + id, "unsubscribe", app.Clock.GetUtcNow(), null))], CancellationToken.None);
        };
        try
        {
            await EnterAsync(tenant, "welcome", id);
            var runs = await Eventually.Get(() => tenant.Runs(id), r => r.GetProperty("journeys")[0].GetProperty("status").GetString() == "exited",
                what: "the run exited");
            var run = runs.GetProperty("journeys")[0];
            Assert.Equal("exitEvent", run.GetProperty("endReason").GetString());
            // Nothing after the step under way: no thanks, no follow-up.
            await Task.Delay(500);
            Assert.Equal(["welcome"], Templates(await tenant.Runs(id)));
            var stats = await tenant.Stats("welcome");
            Assert.Equal(1, stats.GetProperty("exited").GetInt64());
            Assert.Equal(0, stats.GetProperty("active").GetInt64());
            Assert.Equal(0, stats.NodeEntered("thanks"));
        }
        finally { app.Faults.OnEffect = null; }
    }
}
