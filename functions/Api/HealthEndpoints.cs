using Siyu.Functions.Hosting;
using Siyu.Functions.Tenants;
using Siyu.Storage.Queues;
using Siyu.Storage.Tables;

namespace Siyu.Functions.Api;

public sealed record HealthReport(string Status, string Tables, string Queues);

public static class HealthEndpoints
{
    public static void MapHealth(this IEndpointRouteBuilder app)
    {
        app.MapGet("/api/health", async (StorageTables tables, IQueueService queues, QueueNames names, CancellationToken ct) =>
            {
                var tableStatus = await Probe(async () => await tables.Tenants.GetEntityIfExistsAsync<Azure.Data.Tables.TableEntity>("health", "probe", cancellationToken: ct));
                var queueStatus = await Probe(async () => await queues.Queue(names.Ingest[0]).GetApproximateCountAsync(ct));
                var healthy = tableStatus == "ok" && queueStatus == "ok";
                return Results.Json(new HealthReport(healthy ? "healthy" : "unhealthy", tableStatus, queueStatus),
                    statusCode: healthy ? StatusCodes.Status200OK : StatusCodes.Status503ServiceUnavailable);
            })
            .AllowPublic()
            .WithTags("Health")
            .WithName("Health")
            .WithSummary("Whether Table and Queue Storage are reachable")
            .Produces<HealthReport>()
            .Produces<HealthReport>(StatusCodes.Status503ServiceUnavailable);
    }

    private static async Task<string> Probe(Func<Task> probe)
    {
        try { await probe(); return "ok"; }
        catch (Exception e) { return $"unreachable: {e.GetType().Name}"; }
    }
}
