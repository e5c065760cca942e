using System.Text.Json;
using Microsoft.Extensions.Options;

namespace Siyu.Functions.Hosting;

/// <summary>
/// The Azure Functions custom-handler way in for queue triggers. The host POSTs <c>/{FunctionName}</c> with
/// <c>{"Data": {"message": "…"}, "Metadata": {"DequeueCount": n, "Id": "…"}}</c> and expects
/// <c>{"Outputs": {}, "Logs": [], "ReturnValue": null}</c>; a non-2xx answer makes the host retry.
/// We settle with the same policy as our own listeners: on the last try (or a permanent failure) we write the
/// poison message ourselves, with its reason, and answer 200 so the host does not add a reasonless copy.
/// Mapped only when running under the Functions host, so these routes never face the internet.
/// </summary>
public static class CustomHandlerEndpoints
{
    public static void MapQueueFunctions(this IEndpointRouteBuilder app, QueueNames names)
    {
        // Queue triggers: one function per queue, each posting to its handler.
        void Queue<THandler>(string function, string queue) where THandler : IQueueHandler =>
            app.MapPost("/" + function, (HttpContext http, THandler handler, PoisonQueue poison, IOptions<QueueOptions> options) =>
                    InvokeAsync(http, queue, handler, poison, options.Value))
                .ExcludeFromDescription()
                .WithMetadata(Tenants.Access.Anonymous);
        for (var i = 0; i < names.Ingest.Count; i++) Queue<Ingestion.IngestProcessor>($"ProcessIngest{i}", names.Ingest[i]);
        Queue<Privacy.Erasure>("ProcessErasures", names.Erase);
        Queue<Merges.ProfileMerger>("ProcessMerges", names.Merge);
        Queue<Segments.AudienceSweep>("ProcessSweep", names.Sweep);
        Queue<Tags.BulkTagging>("ProcessBulkTags", names.BulkTag);
        for (var i = 0; i < names.Journeys.Count; i++) Queue<Journeys.JourneyWork>($"ProcessJourneys{i}", names.Journeys[i]);
        for (var i = 0; i < names.Deliveries.Count; i++) Queue<Delivery.DeliveryWorker>($"ProcessDeliveries{i}", names.Deliveries[i]);
        Queue<Campaigns.CampaignFanOut>("ProcessCampaigns", names.Campaigns);

        // Timer triggers: the host posts the timer's state; the work does not need it.
        app.MapPost("/AudienceSweep", async (HttpContext http, Segments.AudienceSweep sweep) =>
                HostResponse([$"audience sweep queued for {await sweep.RequestAllAsync(http.RequestAborted)} tenants"], 200))
            .ExcludeFromDescription()
            .WithMetadata(Tenants.Access.Anonymous);
        app.MapPost("/JourneyTimers", async (HttpContext http, Journeys.TimerSweep sweep) =>
                HostResponse([$"journey timers: {await sweep.RunOnceAsync(http.RequestAborted)} dispatched"], 200))
            .ExcludeFromDescription()
            .WithMetadata(Tenants.Access.Anonymous);
        app.MapPost("/RetentionPurge", async (HttpContext http, Privacy.RetentionPurge purge) =>
            {
                var report = await purge.RunAsync(http.RequestAborted);
                return HostResponse([$"retention: {report.ProfilesErased} profiles erased, {report.EventsDeleted} events deleted, {report.ErasuresResumed} erasures resumed"], 200);
            })
            .ExcludeFromDescription()
            .WithMetadata(Tenants.Access.Anonymous);
    }

    private static async Task<IResult> InvokeAsync(HttpContext http, string queue, IQueueHandler handler, PoisonQueue poison, QueueOptions options)
    {
        QueueWorkItem item;
        try
        {
            using var doc = await JsonDocument.ParseAsync(http.Request.Body, cancellationToken: http.RequestAborted);
            item = ReadInvocation(doc.RootElement);
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException or KeyNotFoundException or FormatException)
        {
            return Results.BadRequest(new { error = $"not a Functions host invocation: {e.Message}" });
        }

        var outcome = (await handler.HandleAsync([item], http.RequestAborted))[0];
        var (action, error) = Settlement.Decide(outcome, item.DequeueCount, options.MaxDequeueCount);
        switch (action)
        {
            case Settlement.Action.Retry:
                return HostResponse([error!], 500);
            case Settlement.Action.Poison:
                await poison.WriteAsync(queue, item, error!, http.RequestAborted);
                break;
        }
        return HostResponse(error is null ? [] : [error], 200);
    }

    /// <summary>The host reads these names as written: no camelCase.</summary>
    private static readonly JsonSerializerOptions HostJson = new();

    private static IResult HostResponse(string[] logs, int status) =>
        Results.Json(new { Outputs = new { }, Logs = logs, ReturnValue = (object?)null }, HostJson, statusCode: status);

    /// <summary>Reads the trigger payload: the first (only) Data entry is the message; Metadata carries the try count.</summary>
    public static QueueWorkItem ReadInvocation(JsonElement root)
    {
        var data = Property(root, "Data") ?? throw new KeyNotFoundException("no Data");
        var message = data.EnumerateObject().First().Value;
        // The host hands a string message over as a JSON string, sometimes itself JSON-quoted once more.
        var text = message.ValueKind == JsonValueKind.String ? message.GetString()! : message.GetRawText();
        if (text.Length > 1 && text[0] == '"') text = JsonSerializer.Deserialize<string>(text)!;

        long dequeueCount = 1;
        string? id = null;
        if (Property(root, "Metadata") is { } meta)
        {
            if (Property(meta, "DequeueCount") is { } dc)
                dequeueCount = dc.ValueKind == JsonValueKind.Number ? dc.GetInt64() : long.Parse(dc.GetString()!.Trim('"'));
            if (Property(meta, "Id") is { } mid) id = mid.ValueKind == JsonValueKind.String ? mid.GetString()!.Trim('"') : mid.GetRawText();
        }
        return new QueueWorkItem(text, dequeueCount, id);
    }

    private static JsonElement? Property(JsonElement obj, string name)
    {
        if (obj.ValueKind != JsonValueKind.Object) return null;
        foreach (var p in obj.EnumerateObject())
            if (p.Name.Equals(name, StringComparison.OrdinalIgnoreCase)) return p.Value;
        return null;
    }
}
