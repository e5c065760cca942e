using Azure.Data.Tables;
using Siyu.Core.Events;
using Siyu.Core.Identities;
using Siyu.Functions.Hosting;
using Siyu.Functions.Ingestion;
using Siyu.Functions.Privacy;
using Siyu.Functions.Tags;
using Siyu.IntegrationTests.Consent;
using Siyu.IntegrationTests.Infrastructure;
using Siyu.IntegrationTests.Processing;
using Siyu.Storage.Audit;
using Siyu.Storage.Identities;
using Siyu.Storage.Jobs;
using Siyu.Storage.Privacy;
using Siyu.Storage.Tables;

namespace Siyu.IntegrationTests.Operations;

/// <summary>
/// Activities are at-least-once: a process killed inside a step runs the step again. These run a step, put back what a
/// kill at the worst moment would have left, and run it again (the kill benchmark does the same with real kills).
/// </summary>
public sealed class StepRerunTests(QuietApp app) : IClassFixture<QuietApp>
{
    private async Task<string> PersonAsync(string tenant)
    {
        IdentityRules.TryCreate(IdentityType.Phone, ConsentApi.NewPhone(), null, out var phone, out _);
        var evt = new IncomingEvent
        {
            MessageId = Guid.NewGuid().ToString("N"), Type = EventType.Track, Name = "visit", Identities = [phone],
            Timestamp = DateTimeOffset.UtcNow.AddMinutes(-1), ReceivedAt = DateTimeOffset.UtcNow, Source = "api",
        };
        await app.Service<IngestProcessor>().HandleAsync([new QueueWorkItem(new IngestEnvelope(tenant, [evt]).Serialize(), 1)], CancellationToken.None);
        return (await app.Service<IdentityStore>().LookupAsync(tenant, phone.Key))!;
    }

    [Fact]
    public async Task An_erasure_completion_run_again_after_a_kill_before_its_receipt_is_marked_audits_once()
    {
        var tenant = "x" + Guid.NewGuid().ToString("N")[..12];
        var id = await PersonAsync(tenant);
        var erasure = app.Service<Erasure>();
        Assert.Equal(ErasureRequest.Started, await erasure.RequestAsync(tenant, id, "request", "test", CancellationToken.None));
        await erasure.DeleteProfileAsync(tenant, id, CancellationToken.None);
        var at = DateTimeOffset.UtcNow;
        await erasure.CompleteAsync(tenant, id, at, CancellationToken.None);
        // The kill came after the audit entry and before the receipt was marked done: the receipt still says pending.
        await app.Service<StorageTables>().Erasures.UpsertEntityAsync(new TableEntity(tenant, id) { ["Status"] = "pending" }, TableUpdateMode.Merge);
        Assert.Equal(ErasureStatus.Pending, (await app.Service<PrivacyStores>().Erasures.GetAsync(tenant, id))!.Status);

        await erasure.CompleteAsync(tenant, id, at, CancellationToken.None); // the step again, with the orchestration's same time

        Assert.Equal(ErasureStatus.Done, (await app.Service<PrivacyStores>().Erasures.GetAsync(tenant, id))!.Status);
        var page = await app.Service<AuditStore>().ReadAsync(tenant, id, "profile.erase.completed", null, null, 100, null);
        Assert.Single(page.Entries);
    }

    [Fact]
    public async Task A_bulk_tag_chunk_run_again_after_a_kill_counts_the_people_it_had_tagged_as_tagged_and_writes_one_history_row_each()
    {
        var tenant = "y" + Guid.NewGuid().ToString("N")[..12];
        var people = new List<string>();
        for (var i = 0; i < 6; i++) people.Add(await PersonAsync(tenant));
        // One of them has the tag from before the job: that one is unchanged, on every run.
        var earlier = people[0];
        await app.Service<Siyu.Storage.Profiles.ProfileStore>().UpdateAsync(tenant, earlier,
            s => s.Tags.TryAdd("rerun", new Siyu.Core.Profiles.TagMark(DateTimeOffset.UtcNow.AddDays(-1), "key-1")));
        var jobs = app.Service<TagJobStore>();
        var targets = people.Select(p => "p:" + p).ToList();
        await jobs.CreateAsync(tenant, "job1", "rerun", "add", "key-2", [targets]);
        var tagging = app.Service<BulkTagging>();
        Assert.True(await tagging.RunChunkAsync(new BulkTagChunk(tenant, "job1", 0), CancellationToken.None));
        Assert.Equal((5, 1), await CountsAsync());

        // The kill came after the people were tagged and before the chunk was recorded done: it runs again from the start.
        await app.Service<StorageTables>().Jobs.UpsertEntityAsync(
            new TableEntity(tenant, "job1~0000") { ["Done"] = false, ["Targets"] = string.Join('\n', targets) }, TableUpdateMode.Merge);
        Assert.Equal("queued", (await jobs.GetAsync(tenant, "job1"))!.Status);
        Assert.True(await tagging.RunChunkAsync(new BulkTagChunk(tenant, "job1", 0), CancellationToken.None));

        Assert.Equal((5, 1), await CountsAsync());
        foreach (var person in people.Skip(1))
        {
            var history = 0;
            // A partition holds a bucket of people: the row key range is this person's own tag history.
            var filter = TableClient.CreateQueryFilter(
                $"PartitionKey eq {Siyu.Storage.Profiles.ProfileStore.Partition(tenant, person)} and RowKey ge {person + "~t~"} and RowKey lt {person + "~u"} and Kind eq {"tag"} and Tag eq {"rerun"}");
            await foreach (var _ in app.Service<StorageTables>().Profiles.QueryAsync<TableEntity>(filter)) history++;
            Assert.Equal(1, history);
        }

        async Task<(int Tagged, int Unchanged)> CountsAsync()
        {
            var job = (await jobs.GetAsync(tenant, "job1"))!;
            Assert.Equal("done", job.Status);
            Assert.Equal(6, job.Processed);
            return (job.Tagged, job.Unchanged);
        }
    }
}
