using System.Net;
using System.Net.Http.Json;
using System.Text.Json;

namespace Siyu.LocalHost.Tests;

public sealed class LocalHostTests(SampleHost sample) : IClassFixture<SampleHost>
{
    private static async Task<T> Eventually<T>(Func<T> read, Func<T, bool> done, string what)
    {
        var until = DateTime.UtcNow.AddSeconds(60);
        while (true)
        {
            var value = read();
            if (done(value)) return value;
            if (DateTime.UtcNow > until) throw new TimeoutException($"not yet: {what}");
            await Task.Delay(100);
        }
    }

    [Fact]
    public void Every_function_in_the_generated_metadata_is_loaded()
    {
        Assert.Equal(["AnswerReminder", "Countdown", "DeleteItem", "Echo", "GetItem", "Guarded", "Keyed", "Orders", "Plain", "Refuse", "Remind", "Reminder", "SayNumber",
                "StartReminder", "Thank", "Tick", "Work"],
            sample.Host.Functions.Select(f => f.Name).Order(StringComparer.Ordinal));
    }

    [Fact]
    public void Metadata_that_does_not_match_the_functions_attributes_is_refused()
    {
        var app = typeof(SampleApp.Journal).Assembly;
        const string entry = "Siyu.LocalHost.SampleApp.QueueFunctions.Orders";
        var matching = $$"""[{ "name": "Orders", "entryPoint": "{{entry}}", "bindings": [{ "name": "order", "type": "queueTrigger", "direction": "In", "queueName": "q" }] }]""";
        Assert.Single(FunctionsMetadata.Parse(matching, app));

        var stale = matching.Replace("queueTrigger", "timerTrigger", StringComparison.Ordinal);
        var refused = Assert.Throws<InvalidOperationException>(() => FunctionsMetadata.Parse(stale, app));
        Assert.Contains("timerTrigger 'order'", refused.Message);
        var renamed = matching.Replace("\"order\"", "\"message\"", StringComparison.Ordinal);
        Assert.Throws<InvalidOperationException>(() => FunctionsMetadata.Parse(renamed, app));
    }

    [Fact]
    public async Task An_HTTP_function_gets_its_route_value_query_request_context_and_own_scope()
    {
        using var client = sample.Client();
        var first = await client.GetFromJsonAsync<JsonElement>("/api/items/42?q=milk");
        var second = await client.GetFromJsonAsync<JsonElement>("/api/items/43");

        Assert.Equal(42, first.GetProperty("id").GetInt32());
        Assert.Equal("milk", first.GetProperty("q").GetString());
        Assert.Equal("GetItem", first.GetProperty("function").GetString());
        Assert.True(first.GetProperty("sameRequest").GetBoolean());
        Assert.True(first.GetProperty("scoped").GetBoolean());
        Assert.Equal(43, second.GetProperty("id").GetInt32());
        Assert.Equal(2, sample.Journal.Scopes.Distinct().Count());
    }

    [Fact]
    public async Task Routes_and_methods_are_the_functions_own_and_nothing_else()
    {
        using var client = sample.Client();
        Assert.Equal(HttpStatusCode.NoContent, (await client.DeleteAsync("/api/items/7")).StatusCode);
        Assert.Equal(HttpStatusCode.MethodNotAllowed, (await client.PutAsync("/api/items/7", null)).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await client.GetAsync("/api/items/not-a-number")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await client.GetAsync("/api/nothing-here")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await client.GetAsync("/items/7")).StatusCode); // the route prefix is host.json's
    }

    [Fact]
    public async Task A_guard_in_the_function_answers_problem_json_and_a_function_level_key_is_checked()
    {
        using var client = sample.Client();
        var refused = await client.PostAsync("/api/guarded", new StringContent("hi"));
        Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
        Assert.Equal("application/problem+json", refused.Content.Headers.ContentType?.MediaType);
        Assert.Equal("missing_api_key", (await refused.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("code").GetString());

        using var keyed = new HttpRequestMessage(HttpMethod.Post, "/api/guarded") { Content = new StringContent("hi") };
        keyed.Headers.Add("X-Api-Key", "sample-key");
        Assert.Equal("got hi", await (await client.SendAsync(keyed)).Content.ReadAsStringAsync());

        Assert.Equal(HttpStatusCode.Unauthorized, (await client.GetAsync("/api/keyed")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await client.GetAsync("/api/keyed?code=wrong")).StatusCode);
        Assert.Equal("keyed", await client.GetStringAsync("/api/keyed?code=function-key"));
    }

    [Fact]
    public async Task The_apps_worker_middleware_can_answer_for_a_function_with_problem_json()
    {
        using var client = sample.Client();
        var refused = await client.GetAsync("/api/refuse/over_limit");

        Assert.Equal(HttpStatusCode.UnprocessableEntity, refused.StatusCode);
        Assert.Equal("application/problem+json", refused.Content.Headers.ContentType?.MediaType);
        Assert.Equal("over_limit", (await refused.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("code").GetString());
        Assert.Contains("Refuse", sample.Journal.Middleware);
    }

    [Fact]
    public async Task An_HTTP_function_may_take_HttpRequestData_and_answer_HttpResponseData()
    {
        using var client = sample.Client();
        var echoed = await client.PostAsync("/api/echo", new StringContent("hi"));

        Assert.Equal(HttpStatusCode.Created, echoed.StatusCode);
        Assert.Equal("echo hi", await echoed.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task A_return_value_the_ASP_NET_Core_integration_does_not_write_leaves_the_response_empty()
    {
        using var client = sample.Client();
        var plain = await client.GetAsync("/api/plain");

        Assert.Equal(HttpStatusCode.OK, plain.StatusCode);
        Assert.Equal("", await plain.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task The_apps_worker_middleware_runs_for_queue_timer_and_activity_invocations_too()
    {
        await sample.QueueClient(sample.Queue).SendMessageAsync("seen-" + Guid.NewGuid().ToString("N"));
        using var wait = new CancellationTokenSource(TimeSpan.FromSeconds(90));
        var id = await sample.Host.DurableClient!.ScheduleNewOrchestrationInstanceAsync("Countdown", 1, wait.Token);
        await sample.Host.DurableClient.WaitForInstanceCompletionAsync(id, cancellation: wait.Token);

        await Eventually(() => sample.Journal.Middleware.ToArray(), m => m.Contains("Work") && m.Contains("Tick") && m.Contains("SayNumber"),
            "the middleware's note of a queue, a timer and an activity invocation");
    }

    [Fact]
    public async Task A_class_based_orchestrator_and_activity_run_through_their_functions()
    {
        using var wait = new CancellationTokenSource(TimeSpan.FromSeconds(90));
        var id = await sample.Host.DurableClient!.ScheduleNewOrchestrationInstanceAsync("Countdown", 3, wait.Token);
        var done = await sample.Host.DurableClient.WaitForInstanceCompletionAsync(id, getInputsAndOutputs: true, wait.Token);

        Assert.Equal(Microsoft.DurableTask.Client.OrchestrationRuntimeStatus.Completed, done.RuntimeStatus);
        var tag = id[..4];
        Assert.Equal($"3@{tag},2@{tag},1@{tag}", done.ReadOutputAs<string>());
    }

    [Fact]
    public async Task A_queue_message_is_processed_once_and_deleted()
    {
        var queue = sample.QueueClient(sample.Queue);
        var text = "hello-" + Guid.NewGuid().ToString("N");
        await queue.SendMessageAsync(text);

        await Eventually(() => sample.Journal.Work.ToArray(), w => w.Contains(text + "@1"), "the message processed");
        await Eventually(() => queue.PeekMessages(1).Value.Length, n => n == 0, "the message deleted");
        Assert.Single(sample.Journal.Attempts, a => a.Text == text);
    }

    [Fact]
    public async Task A_JSON_message_binds_to_the_functions_type()
    {
        var id = "o-" + Guid.NewGuid().ToString("N");
        await sample.QueueClient(sample.Queue + "-orders").SendMessageAsync(JsonSerializer.Serialize(new { orderId = id, total = 99.5m }));

        var order = await Eventually(() => sample.Journal.Orders.FirstOrDefault(o => o.OrderId == id), o => o is not null, "the order bound");
        Assert.Equal(99.5m, order!.Total);
    }

    [Fact]
    public async Task A_message_that_keeps_failing_is_tried_maxDequeueCount_times_then_moved_to_the_poison_queue()
    {
        var queue = sample.QueueClient(sample.Queue);
        var poison = sample.QueueClient(sample.Queue + "-poison");
        var text = "fail-" + Guid.NewGuid().ToString("N");
        await queue.SendMessageAsync(text);

        var inPoison = await Eventually(() => poison.Exists().Value ? poison.PeekMessages(32).Value.Select(m => m.Body.ToString()).ToArray() : [],
            p => p.Contains(text), "the message in the poison queue");
        Assert.Single(inPoison, p => p == text);
        // host.json says 3: tried with dequeue counts 1, 2 and 3, then moved, and gone from its own queue.
        Assert.Equal([1L, 2L, 3L], sample.Journal.Attempts.Where(a => a.Text == text).Select(a => a.DequeueCount).Order());
        Assert.DoesNotContain(queue.PeekMessages(32).Value, m => m.Body.ToString() == text);
    }

    [Fact]
    public async Task A_message_already_dequeued_more_than_maxDequeueCount_times_goes_to_the_poison_queue_untried()
    {
        // A queue of its own, tried four times (host.json says 3) before any listener sees it, as after instances died with it.
        var name = "past" + Guid.NewGuid().ToString("N")[..10];
        var queue = sample.QueueClient(name);
        var text = "past-" + Guid.NewGuid().ToString("N");
        await queue.SendMessageAsync(text);
        for (var i = 0; i < 4; i++)
        {
            var taken = (await queue.ReceiveMessageAsync(TimeSpan.FromSeconds(30))).Value;
            await queue.UpdateMessageAsync(taken.MessageId, taken.PopReceipt, visibilityTimeout: TimeSpan.Zero);
        }

        await using var host = await LocalFunctionsHost.StartAsync(typeof(SampleApp.Journal).Assembly, new Dictionary<string, string?>
        {
            ["SampleStorage"] = sample.ConnectionString, ["SampleQueue"] = name, ["SampleHub"] = "past" + Guid.NewGuid().ToString("N")[..10],
        });
        var poison = sample.QueueClient(name + "-poison");
        await Eventually(() => poison.PeekMessages(32).Value.Select(m => m.Body.ToString()).ToArray(), p => p.Contains(text), "the message in the poison queue");

        var journal = (SampleApp.Journal)host.Services.GetService(typeof(SampleApp.Journal))!;
        Assert.DoesNotContain(journal.Attempts, a => a.Text == text);
        Assert.Empty(queue.PeekMessages(32).Value);
    }

    [Fact]
    public async Task A_timer_fires_on_its_schedule()
    {
        var before = Volatile.Read(ref sample.Journal.Ticks);
        await Eventually(() => Volatile.Read(ref sample.Journal.Ticks), n => n >= before + 2, "two more ticks of an every-second timer");
    }

    [Fact]
    public async Task An_orchestration_started_over_HTTP_completes_when_its_event_is_raised_through_another_function()
    {
        using var client = sample.Client();
        var started = await client.PostAsync("/api/reminders/lina?wait=120", null);
        Assert.Equal(HttpStatusCode.Accepted, started.StatusCode);
        var id = (await started.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetString()!;

        // Raised once the orchestration waits for it (after its first timer); an event raised earlier is kept for it too.
        Assert.Equal(HttpStatusCode.Accepted, (await client.PostAsync($"/api/reminders/{id}/answer", new StringContent("yes"))).StatusCode);
        using var wait = new CancellationTokenSource(TimeSpan.FromSeconds(90));
        var done = await sample.Host.DurableClient!.WaitForInstanceCompletionAsync(id, getInputsAndOutputs: true, wait.Token);

        Assert.Equal(Microsoft.DurableTask.Client.OrchestrationRuntimeStatus.Completed, done.RuntimeStatus);
        Assert.Equal("thanked lina:yes in Thank", done.ReadOutputAs<string>());
        Assert.Equal("lina", done.ReadInputAs<SampleApp.Reminder>()!.Person);
    }

    [Fact]
    public async Task An_orchestration_whose_event_never_comes_times_out_and_takes_the_other_branch()
    {
        using var client = sample.Client();
        var started = await client.PostAsync("/api/reminders/wang?wait=2", null);
        var id = (await started.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetString()!;

        using var wait = new CancellationTokenSource(TimeSpan.FromSeconds(90));
        var done = await sample.Host.DurableClient!.WaitForInstanceCompletionAsync(id, getInputsAndOutputs: true, wait.Token);

        Assert.Equal(Microsoft.DurableTask.Client.OrchestrationRuntimeStatus.Completed, done.RuntimeStatus);
        Assert.Equal("reminded wang", done.ReadOutputAs<string>());
    }

    [Fact]
    public async Task Hosts_of_one_app_started_at_once_in_one_process_each_have_their_own_settings_and_services()
    {
        Task<LocalFunctionsHost> Start(string name) => LocalFunctionsHost.StartAsync(typeof(SampleApp.Journal).Assembly, new LocalHostOptions
        {
            Url = "http://127.0.0.1:0",
            Listen = false,
            Settings = new Dictionary<string, string?>
            {
                ["SampleStorage"] = sample.ConnectionString, ["SampleQueue"] = name + Guid.NewGuid().ToString("N")[..8],
                ["SampleHub"] = name + Guid.NewGuid().ToString("N")[..8],
            },
        });
        var names = new[] { "first", "second", "third" };
        var hosts = await Task.WhenAll(names.Select(Start));
        try
        {
            foreach (var (host, name) in hosts.Zip(names))
            {
                using var client = new HttpClient { BaseAddress = host.BaseAddress };
                Assert.Equal(7, (await client.GetFromJsonAsync<JsonElement>("/api/items/7")).GetProperty("id").GetInt32());
                var config = (Microsoft.Extensions.Configuration.IConfiguration)host.Services.GetService(typeof(Microsoft.Extensions.Configuration.IConfiguration))!;
                Assert.StartsWith(name, config["SampleQueue"]);
                Assert.Null(config["LocalHost:FunctionKey"]); // the fixture's setting stayed with the fixture's host
            }
            // Each its own singletons: three journals, and the fixture's.
            Assert.Equal(4, hosts.Select(h => h.Services.GetService(typeof(SampleApp.Journal))).Append(sample.Journal).Distinct().Count());
        }
        finally
        {
            foreach (var host in hosts) await host.DisposeAsync();
        }
    }

    [Fact]
    public async Task A_queue_name_setting_that_is_missing_stops_the_start_with_its_name()
    {
        var refused = await Assert.ThrowsAsync<InvalidOperationException>(() => LocalFunctionsHost.StartAsync(typeof(SampleApp.Journal).Assembly, new LocalHostOptions
        {
            Url = "http://127.0.0.1:0",
            Settings = new Dictionary<string, string?> { ["SampleStorage"] = sample.ConnectionString, ["SampleHub"] = "missing" + Guid.NewGuid().ToString("N")[..8] },
        }));
        Assert.Contains("'SampleQueue'", refused.Message);
    }

    [Fact]
    public async Task App_settings_are_there_when_the_apps_Program_runs()
    {
        await using var host = await LocalFunctionsHost.StartAsync(typeof(SampleApp.Journal).Assembly, new LocalHostOptions
        {
            Url = "http://127.0.0.1:0",
            Listen = false,
            Settings = new Dictionary<string, string?>
            {
                ["SampleStorage"] = sample.ConnectionString, ["SampleQueue"] = "early", ["SampleHub"] = "early" + Guid.NewGuid().ToString("N")[..8],
                ["Sample:Greeting"] = "你好",
            },
        });
        Assert.Equal("你好", ((SampleApp.Greeting?)host.Services.GetService(typeof(SampleApp.Greeting)))?.Text);
        Assert.Null(sample.Host.Services.GetService(typeof(SampleApp.Greeting))); // the shared sample host was started without it
    }

    [Fact]
    public async Task A_function_switched_off_by_its_Disabled_setting_is_neither_served_nor_run()
    {
        await using var host = await LocalFunctionsHost.StartAsync(typeof(SampleApp.Journal).Assembly, new LocalHostOptions
        {
            Url = "http://127.0.0.1:0",
            Settings = new Dictionary<string, string?>
            {
                ["SampleStorage"] = sample.ConnectionString, ["SampleQueue"] = "off" + Guid.NewGuid().ToString("N")[..8],
                ["SampleHub"] = "off" + Guid.NewGuid().ToString("N")[..8],
                ["AzureWebJobs.GetItem.Disabled"] = "true", ["AzureWebJobs.Tick.Disabled"] = "true",
            },
        });
        Assert.DoesNotContain(host.Functions, f => f.Name is "GetItem" or "Tick");
        Assert.Contains(host.Functions, f => f.Name == "DeleteItem");
        using var client = new HttpClient { BaseAddress = host.BaseAddress };
        // Only DeleteItem answers at the route now.
        Assert.Equal(HttpStatusCode.MethodNotAllowed, (await client.GetAsync("/api/items/1")).StatusCode);
        await Task.Delay(TimeSpan.FromSeconds(2.5));
        Assert.Equal(0, ((SampleApp.Journal)host.Services.GetService(typeof(SampleApp.Journal))!).Ticks);
    }

    [Fact]
    public async Task Host_json_values_are_overridden_by_AzureFunctionsJobHost_settings_as_under_the_host()
    {
        // host.json says 3 tries; the override says 1, so a failing message is poisoned after its first.
        var name = "once" + Guid.NewGuid().ToString("N")[..10];
        await using var host = await LocalFunctionsHost.StartAsync(typeof(SampleApp.Journal).Assembly, new LocalHostOptions
        {
            Url = "http://127.0.0.1:0",
            Settings = new Dictionary<string, string?>
            {
                ["SampleStorage"] = sample.ConnectionString, ["SampleQueue"] = name, ["SampleHub"] = "once" + Guid.NewGuid().ToString("N")[..8],
                [$"{HostJson.OverridePrefix}:extensions:queues:maxDequeueCount"] = "1",
            },
        });
        var text = "fail-" + Guid.NewGuid().ToString("N");
        await sample.QueueClient(name).SendMessageAsync(text);
        var poison = sample.QueueClient(name + "-poison");
        await Eventually(() => poison.PeekMessages(32).Value.Select(m => m.Body.ToString()).ToArray(), p => p.Contains(text), "the message in the poison queue");
        var journal = (SampleApp.Journal)host.Services.GetService(typeof(SampleApp.Journal))!;
        Assert.Single(journal.Attempts, a => a.Text == text);
    }
}
