using Siyu.Core.Events;
using Siyu.Core.Identities;
using Siyu.Functions.Hosting;
using Siyu.Functions.Ingestion;
using Siyu.Functions.Privacy;
using Siyu.IntegrationTests.Infrastructure;
using Siyu.IntegrationTests.Processing;
using Siyu.Storage.Identities;
using Siyu.Storage.Privacy;
using Siyu.Storage.Profiles;

namespace Siyu.IntegrationTests.Consent;

/// <summary>Events that race an erasure, driven step by step (listeners off): nothing of the person survives.</summary>
public sealed class ErasureRaceTests(QuietApp app) : IClassFixture<QuietApp>
{
    private static IncomingEvent Event(string messageId, DateTimeOffset at, params Identity[] identities) => new()
    {
        MessageId = messageId, Type = EventType.Track, Name = "visit", Identities = identities,
        Timestamp = at, ReceivedAt = DateTimeOffset.UtcNow, Source = "api",
    };

    private static IncomingEvent Grant(string messageId, DateTimeOffset at, Identity identity) => Event(messageId, at, identity) with
    {
        Type = EventType.Consent, Name = "consent",
        Properties = new System.Text.Json.Nodes.JsonObject { ["purpose"] = "marketing", ["channel"] = "sms", ["status"] = "granted", ["source"] = "store_form" },
    };

    private Task<IReadOnlyList<WorkOutcome>> Process(string tenant, params IncomingEvent[] events) =>
        app.Service<IngestProcessor>().HandleAsync([new QueueWorkItem(new IngestEnvelope(tenant, events).Serialize(), 1)], CancellationToken.None);

    private static Identity Phone(string p) { IdentityRules.TryCreate(IdentityType.Phone, p, null, out var i, out _); return i; }
    private static Identity Email(string e) { IdentityRules.TryCreate(IdentityType.UserId, e, null, out var i, out _); return i; }

    [Fact]
    public async Task Identifiers_an_event_brings_while_the_erasure_waits_are_suppressed_and_unlinked_and_old_grants_stay_suppressed()
    {
        var tenant = "r" + Guid.NewGuid().ToString("N")[..12];
        var phone = Phone(ConsentApi.NewPhone());
        var member = Email("M" + Guid.NewGuid().ToString("N")[..8]);
        var identities = app.Service<IdentityStore>();
        var t0 = DateTimeOffset.UtcNow.AddHours(-1);
        Assert.All(await Process(tenant, Event("e1", t0, phone)), o => Assert.Equal(WorkOutcome.Done, o));
        var id = (await identities.LookupAsync(tenant, phone.Key))!;

        // Erasure requested; its worker has not run yet. An event links a new identifier to the person meanwhile.
        Assert.Equal(ErasureRequest.Started, await app.Service<Erasure>().RequestAsync(tenant, id, "request", "test", CancellationToken.None));
        Assert.All(await Process(tenant, Event("e2", t0.AddMinutes(1), phone, member)), o => Assert.Equal(WorkOutcome.Done, o));
        Assert.Null(await new IdentityStore(app.Service<Siyu.Storage.Tables.StorageTables>(), TimeProvider.System).LookupAsync(tenant, member.Key));
        Assert.Equal(1, (await app.Service<ProfileStore>().ReadAsync(tenant, id))!.Value.State.EventCount); // nothing folded in

        await app.Service<Erasure>().RunAsync(tenant, id, CancellationToken.None);
        Assert.Null(await app.Service<ProfileStore>().ReadAsync(tenant, id));
        var suppressed = await app.Service<SuppressionStore>().FindAsync(tenant, [phone.Key, member.Key]);
        Assert.Equal(new[] { member.Key, phone.Key }.Order(), suppressed.Keys.Order());

        // A grant from before the erasure (a client replaying an old batch) does not bring the person back...
        Assert.All(await Process(tenant, Grant("g-old", t0, phone), Event("e3", t0.AddMinutes(2), phone)), o => Assert.Equal(WorkOutcome.Done, o));
        Assert.Null(await identities.LookupAsync(tenant, phone.Key));
        // ...a grant given after it does, as a new person, without the old events of the same batch.
        Assert.All(await Process(tenant, Event("e4", t0.AddMinutes(3), phone), Grant("g-new", DateTimeOffset.UtcNow, phone)), o => Assert.Equal(WorkOutcome.Done, o));
        var newId = await identities.LookupAsync(tenant, phone.Key);
        Assert.NotNull(newId);
        Assert.NotEqual(id, newId);
        var fresh = (await app.Service<ProfileStore>().ReadAsync(tenant, newId!))!.Value.State;
        Assert.Equal(1, fresh.EventCount);
        Assert.Equal(Siyu.Core.Consent.ConsentStatus.Granted, fresh.Consent.Governing("marketing", "sms")!.Status);
    }

    [Fact]
    public async Task A_fresh_consent_while_the_erasure_runs_waits_for_it_then_brings_the_person_back()
    {
        var tenant = "w" + Guid.NewGuid().ToString("N")[..12];
        var phone = Phone(ConsentApi.NewPhone());
        Assert.All(await Process(tenant, Event("e1", DateTimeOffset.UtcNow.AddHours(-1), phone)), o => Assert.Equal(WorkOutcome.Done, o));
        var id = (await app.Service<IdentityStore>().LookupAsync(tenant, phone.Key))!;
        Assert.Equal(ErasureRequest.Started, await app.Service<Erasure>().RequestAsync(tenant, id, "request", "test", CancellationToken.None));

        // The person consents again while their erasure is still queued: the consent waits (here: no delay), it is not lost.
        var processor = new IngestProcessor(app.Service<ProfileStore>(), app.Service<IdentityStore>(), app.Service<PrivacyStores>(),
            app.Service<Siyu.Storage.Audience.AudienceStore>(), app.Service<Siyu.Functions.Audience.ProfileRefresher>(), app.Service<IngestQueue>(), app.Service<Siyu.Functions.Merges.ProfileMerger>(), TimeProvider.System, Microsoft.Extensions.Logging.Abstractions.NullLogger<IngestProcessor>.Instance,
            erasureWait: TimeSpan.Zero);
        var grant = Grant("g-fresh", DateTimeOffset.UtcNow, phone);
        var outcomes = await processor.HandleAsync([new QueueWorkItem(new IngestEnvelope(tenant, [grant]).Serialize(), 1)], CancellationToken.None);
        Assert.Equal(WorkOutcome.Done, outcomes.Single());
        Assert.Equal(1, (await app.Service<ProfileStore>().ReadAsync(tenant, id))!.Value.State.EventCount);

        await app.Service<Erasure>().RunAsync(tenant, id, CancellationToken.None);

        // The waiting consent is on an ingest queue again; processed now, it starts the person afresh.
        var queues = app.Service<Siyu.Storage.Queues.IQueueService>();
        var found = false;
        foreach (var name in app.Service<QueueNames>().Ingest)
        {
            foreach (var m in await queues.Queue(name).ReceiveAsync(32))
            {
                if (!m.Text.Contains("g-fresh")) continue;
                found = true;
                Assert.All(await processor.HandleAsync([new QueueWorkItem(m.Text, 1)], CancellationToken.None), o => Assert.Equal(WorkOutcome.Done, o));
                await queues.Queue(name).DeleteAsync(m.MessageId, m.PopReceipt);
            }
        }
        Assert.True(found, "the fresh consent was queued again");
        var newId = await app.Service<IdentityStore>().LookupAsync(tenant, phone.Key);
        Assert.NotNull(newId);
        Assert.NotEqual(id, newId);
        Assert.Equal(Siyu.Core.Consent.ConsentStatus.Granted,
            (await app.Service<ProfileStore>().ReadAsync(tenant, newId!))!.Value.State.Consent.Governing("marketing", "sms")!.Status);
    }
}
