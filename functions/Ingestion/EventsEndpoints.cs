using System.Text.Json;
using Azure;
using Microsoft.Extensions.Options;
using Siyu.Core.Events;
using Siyu.Core.Tenants;
using Siyu.Functions.Api;
using Siyu.Functions.Hosting;
using Siyu.Functions.Tenants;

namespace Siyu.Functions.Ingestion;

public sealed record IngestResponse(int Accepted, int Rejected, IReadOnlyList<ItemError> Errors);

/// <summary><c>POST /api/events</c>: a batch of track, identify and order events from apps, stores and e-commerce.</summary>
public static class EventsEndpoints
{
    public static void MapEvents(this IEndpointRouteBuilder app)
    {
        app.MapPost("/api/events", AcceptAsync)
            .Allow(Role.Ingest, Role.Admin)
            .WithName("PostEvents")
            .WithTags("Ingestion")
            .WithSummary("Accept a batch of events (up to 500 events, 1 MiB)")
            .WithDescription("Body: {\"batch\": [event, …]} (or a bare array). Each event is checked on its own: the answer lists " +
                             "every refused item with its index and reason, and the good ones are accepted. Idempotent by messageId.")
            .Accepts<JsonElement>("application/json")
            .Produces<IngestResponse>(StatusCodes.Status202Accepted)
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status401Unauthorized)
            .ProducesProblem(StatusCodes.Status413PayloadTooLarge)
            .ProducesProblem(StatusCodes.Status415UnsupportedMediaType);
    }

    private static async Task<IResult> AcceptAsync(HttpContext http, IngestQueue queue, IOptions<IngestionSettings> settings, TimeProvider clock, CancellationToken ct)
    {
        var limits = settings.Value;
        var (read, problem) = await RequestBody.ReadBatchAsync(http.Request, limits.MaxBodyBytes, "batch", "events", limits.MaxEventsPerRequest, ct);
        if (problem is not null) return problem;
        using var batch = read!;

        var validator = new EventValidator(limits.MaxFutureSkew);
        var now = clock.GetUtcNow();
        var accepted = new List<IncomingEvent>(batch.Count);
        var errors = new List<ItemError>();
        foreach (var (index, item, refused) in batch.Each())
        {
            if (refused is not null) errors.Add(batch.Place(refused));
            else if (validator.TryValidate(item, index, now, out var evt, out var error)) accepted.Add(evt!);
            else errors.Add(batch.Place(error!));
        }

        if (accepted.Count == 0)
            return Problems.BadRequest("no_valid_events", "no event in the batch is valid", new Dictionary<string, object?> { ["errors"] = errors });

        try
        {
            await queue.EnqueueAsync(http.Caller().TenantId, accepted, ct);
        }
        catch (RequestFailedException e)
        {
            // Some messages may have been queued: a retry of the whole batch is safe, because processing dedupes by messageId.
            return Problems.Unavailable($"events could not be queued ({e.Status}); retry the whole batch");
        }
        return Results.Json(new IngestResponse(accepted.Count, errors.Count, errors), statusCode: StatusCodes.Status202Accepted);
    }
}
