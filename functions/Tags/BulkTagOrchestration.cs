using Microsoft.Azure.Functions.Worker;
using Microsoft.DurableTask;
using Siyu.Functions.Operations;

namespace Siyu.Functions.Tags;

/// <summary>A bulk tagging job by reference: its chunks are stored with the job (<c>TagJobStore</c>), never in the task hub.</summary>
public sealed record BulkTagJobRef(string TenantId, string JobId, int Chunks);

public sealed record BulkTagChunk(string TenantId, string JobId, int Chunk);

/// <summary>One orchestration per bulk tagging job (instance <see cref="OperationIds.BulkTag"/>): every chunk an activity, all at once, then the count.</summary>
public static class BulkTagOrchestration
{
    public const string Name = "RunBulkTag";

    [Function(Name)]
    public static async Task<int> Run([OrchestrationTrigger] TaskOrchestrationContext context)
    {
        var job = context.GetInput<BulkTagJobRef>()!;
        var chunks = Enumerable.Range(0, job.Chunks)
            .Select(i => context.CallActivityAsync<bool>(nameof(BulkTagActivities.BulkTagRunChunk), new BulkTagChunk(job.TenantId, job.JobId, i), Steps.Retried))
            .ToList();
        var done = 0;
        while (chunks.Count > 0)
        {
            var finished = await Task.WhenAny(chunks);
            chunks.Remove(finished);
            await finished;
            context.SetCustomStatus(new { chunks = job.Chunks, done = ++done });
        }
        return done;
    }
}

public sealed class BulkTagActivities(BulkTagging tagging)
{
    [Function(nameof(BulkTagRunChunk))]
    public Task<bool> BulkTagRunChunk([ActivityTrigger] BulkTagChunk chunk, CancellationToken ct) => tagging.RunChunkAsync(chunk, ct);
}
