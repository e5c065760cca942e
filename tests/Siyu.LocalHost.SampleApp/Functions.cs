using System.Collections.Concurrent;
using Azure.Storage.Queues.Models;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Azure.Functions.Worker;
using Microsoft.Azure.Functions.Worker.Http;

namespace Siyu.LocalHost.SampleApp;

/// <summary>What the functions saw, for the tests to read.</summary>
public sealed class Journal
{
    public ConcurrentQueue<string> Work { get; } = new();
    public ConcurrentQueue<(string Text, long DequeueCount)> Attempts { get; } = new();
    public ConcurrentQueue<Order> Orders { get; } = new();
    public int Ticks;
    public ConcurrentQueue<Guid> Scopes { get; } = new();
    /// <summary>Every invocation the app's worker middleware saw, by function name.</summary>
    public ConcurrentQueue<string> Middleware { get; } = new();
}

/// <summary>Registered only when the setting Sample:Greeting is there when Program runs.</summary>
public sealed record Greeting(string Text);

/// <summary>One per invocation: the worker gives each invocation its own DI scope.</summary>
public sealed class PerInvocation { public Guid Id { get; } = Guid.NewGuid(); }

public sealed record Order(string OrderId, decimal Total);

public sealed class ItemFunctions(Journal journal, PerInvocation scope)
{
    [Function("GetItem")]
    public IActionResult Get([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "items/{id:int}")] HttpRequest request, int id, FunctionContext context)
    {
        journal.Scopes.Enqueue(scope.Id);
        return new OkObjectResult(new
        {
            id, q = request.Query["q"].ToString(), function = context.FunctionDefinition.Name,
            sameRequest = ReferenceEquals(context.GetHttpContext()?.Request, request),
            scoped = ReferenceEquals(context.InstanceServices.GetService(typeof(PerInvocation)), scope),
        });
    }

    [Function("DeleteItem")]
    public IResult Delete([HttpTrigger(AuthorizationLevel.Anonymous, "delete", Route = "items/{id:int}")] HttpRequest request, int id) =>
        Results.NoContent();

    /// <summary>The shared guard: a problem+json 401 unless the caller shows a key.</summary>
    [Function("Guarded")]
    public async Task<IResult> Guarded([HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "guarded")] HttpRequest request, CancellationToken ct)
    {
        if (Guard.Refuse(request) is { } refused) return refused;
        using var reader = new StreamReader(request.Body);
        return Results.Text("got " + await reader.ReadToEndAsync(ct));
    }

    [Function("Keyed")]
    public IActionResult Keyed([HttpTrigger(AuthorizationLevel.Function, "get", Route = "keyed")] HttpRequest request) => new OkObjectResult("keyed");

    /// <summary>Refuses every time: the app's middleware turns the refusal into problem+json.</summary>
    [Function("Refuse")]
    public IActionResult Refuse([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "refuse/{code}")] HttpRequest request, string code) =>
        throw new RefusedException(code);

    /// <summary>The worker's own HTTP types, as the ASP.NET Core integration offers them too.</summary>
    [Function("Echo")]
    public async Task<HttpResponseData> Echo([HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "echo")] HttpRequestData request)
    {
        var response = request.CreateResponse(System.Net.HttpStatusCode.Created);
        await response.WriteStringAsync("echo " + await request.ReadAsStringAsync());
        return response;
    }

    /// <summary>Returns a string: the ASP.NET Core integration does not write it.</summary>
    [Function("Plain")]
    public string Plain([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "plain")] HttpRequest request) => "not written";
}

public static class Guard
{
    public static IResult? Refuse(HttpRequest request) =>
        request.Headers["X-Api-Key"] == "sample-key" ? null
            : Results.Problem(statusCode: 401, title: "No key", extensions: new Dictionary<string, object?> { ["code"] = "missing_api_key" });
}

public sealed class QueueFunctions(Journal journal)
{
    /// <summary>Fails every time for a message that starts with "fail": it must end in the poison queue.</summary>
    [Function("Work")]
    public void Work([QueueTrigger("%SampleQueue%", Connection = "SampleStorage")] QueueMessage message, FunctionContext context)
    {
        var text = message.Body.ToString();
        journal.Attempts.Enqueue((text, message.DequeueCount));
        if (text.StartsWith("fail", StringComparison.Ordinal)) throw new InvalidOperationException("this message always fails: " + text);
        journal.Work.Enqueue(text + "@" + context.BindingContext.BindingData["DequeueCount"]);
    }

    [Function("Orders")]
    public Task Orders([QueueTrigger("%SampleQueue%-orders", Connection = "SampleStorage")] Order order)
    {
        journal.Orders.Enqueue(order);
        return Task.CompletedTask;
    }
}

public sealed class TimerFunctions(Journal journal)
{
    [Function("Tick")]
    public void Tick([TimerTrigger("*/1 * * * * *")] TimerInfo timer)
    {
        if (timer.ScheduleStatus is not null) Interlocked.Increment(ref journal.Ticks);
    }
}
