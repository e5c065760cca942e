using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using Azure.Data.Tables;
using Siyu.Core.Journeys;
using Siyu.Storage.Account;
using Siyu.Storage.Journeys;
using Siyu.Storage.Tables;

namespace Siyu.Storage.Tests.Journeys;

/// <summary>Reading runs by key (span reads with point reads beyond) and writing them, on Azurite.</summary>
public sealed class RunStoreTests
{
    private const string Partition = "t1~07";

    private static async Task<RunStore> StoreAsync()
    {
        var tables = new StorageTables(await AzuriteFixture.AccountAsync(), AzuriteFixture.NewName("r"));
        await tables.JourneyRuns.CreateIfNotExistsAsync();
        return new RunStore(tables);
    }

    private static JourneyInstance Run(string profileId, string node = "wait") => new()
    {
        JourneyId = "cart", ProfileId = profileId, Slot = "0", Version = 1, Node = node, Generation = 1,
        DueAt = DateTimeOffset.UnixEpoch.AddDays(1), EnteredAt = DateTimeOffset.UnixEpoch,
    };

    private static string Person(int i) => $"p{i:D5}";

    /// <summary>Storage requests made to one table while it lives, by kind (read, query, batch…).</summary>
    private sealed class Requests : IDisposable
    {
        private readonly MeterListener _listener = new();
        public ConcurrentDictionary<string, int> ByKind { get; } = new();

        public Requests(string table)
        {
            _listener.InstrumentPublished = (i, l) => { if (i.Meter.Name == StorageRequestMeter.MeterName && i.Name == "siyu.storage.requests") l.EnableMeasurementEvents(i); };
            _listener.SetMeasurementEventCallback<long>((_, value, tags, _) =>
            {
                string? target = null, kind = null;
                foreach (var t in tags) { if (t.Key == "target") target = t.Value as string; if (t.Key == "kind") kind = t.Value as string; }
                if (target == table && kind is not null) ByKind.AddOrUpdate(kind, (int)value, (_, n) => n + (int)value);
            });
            _listener.Start();
        }

        public int Of(string kind) => ByKind.GetValueOrDefault(kind);
        public void Dispose() => _listener.Dispose();
    }

    /// <summary>Runs of people 0…n-1, each followed in key order by a delivery request row of the same person.</summary>
    private static async Task SeedAsync(RunStore store, int people)
    {
        var now = DateTimeOffset.UtcNow;
        var changes = Enumerable.Range(0, people).Select(i => new RunChange(Run(Person(i)), null,
            [new DeliveryRequest($"k{i}", "sms", "sms", "offer", new Dictionary<string, string>())], new JourneyStats())).ToList();
        var (conflicted, committed) = await store.CommitAsync(Partition, changes, now);
        Assert.Empty(conflicted);
        Assert.Equal(people, committed.Count);
    }

    [Fact]
    public async Task Close_keys_are_read_in_one_span_and_keys_that_are_not_there_are_not_found()
    {
        var store = await StoreAsync();
        await SeedAsync(store, 300);
        // 100 people in a row, plus two who have no run.
        var wanted = Enumerable.Range(50, 100).Select(i => RunStore.RunKey(Person(i), "cart", "0"))
            .Append(RunStore.RunKey("p00060x", "cart", "0")).Append(RunStore.RunKey("p00100x", "cart", "0")).ToList();

        using var requests = new Requests(store.Table.Name);
        var found = await store.GetManyAsync(Partition, wanted);

        Assert.Equal((1, 0), (requests.Of("query"), requests.Of("read")));
        Assert.Equal(100, found.Count);
        Assert.All(Enumerable.Range(50, 100), i => Assert.Equal(Person(i), found[RunStore.RunKey(Person(i), "cart", "0")].Instance.ProfileId));
        Assert.All(found, f => Assert.NotEqual(default, f.Value.ETag));
    }

    [Fact]
    public async Task Keys_spread_wider_than_the_budget_are_all_found_by_point_reads_beyond_the_span()
    {
        var store = await StoreAsync();
        await SeedAsync(store, 600);
        // 10 keys over 600 people (1,200 rows with their delivery requests): the span stops after 88 rows, the rest are read one by one.
        var people = Enumerable.Range(0, 10).Select(i => i * 60 + 3).ToList();
        var wanted = people.Select(i => RunStore.RunKey(Person(i), "cart", "0")).Append(RunStore.RunKey(Person(601), "cart", "0")).ToList();

        using var requests = new Requests(store.Table.Name);
        var found = await store.GetManyAsync(Partition, wanted);

        Assert.Equal(people.Select(Person).Order(), found.Values.Select(r => r.Instance.ProfileId).Order());
        // The first person is in the span's first 88 rows; the other nine and the missing one are looked up.
        Assert.Equal((1, 10), (requests.Of("query"), requests.Of("read")));
    }

    [Fact]
    public async Task A_run_written_over_its_read_keeps_nothing_of_the_old_state_and_a_stale_write_is_refused()
    {
        var store = await StoreAsync();
        await SeedAsync(store, 5);
        var key = RunStore.RunKey(Person(2), "cart", "0");
        var read = (await store.GetManyAsync(Partition, [key]))[key];

        var ended = read.Instance.Clone();
        ended.Node = null;
        ended.DueAt = null;
        ended.Status = InstanceStatus.Completed;
        var (conflicted, committed) = await store.CommitAsync(Partition, [new RunChange(ended, read.ETag, [], new JourneyStats { Completed = 1 })], DateTimeOffset.UtcNow);
        Assert.Empty(conflicted);

        var again = await store.GetAsync(Partition, key);
        Assert.Equal(committed[key], again!.ETag);
        Assert.Equal(InstanceStatus.Completed, again.Instance.Status);
        Assert.Null(again.Instance.Node);
        Assert.Null(again.Instance.DueAt);
        var row = await store.Table.GetEntityAsync<TableEntity>(Partition, key);
        Assert.Equal("", row.Value.GetString("Node"));
        Assert.Equal(InstanceStatus.Completed, row.Value.GetString("Status"));

        // The first read's ETag is stale now: writing over it again is refused, and nothing changes.
        var stale = read.Instance.Clone();
        stale.Node = "other";
        var (refused, _) = await store.CommitAsync(Partition, [new RunChange(stale, read.ETag, [], new JourneyStats())], DateTimeOffset.UtcNow);
        Assert.Single(refused);
        Assert.Null((await store.GetAsync(Partition, key))!.Instance.Node);
    }

    [Fact]
    public async Task Concurrent_writers_of_one_partition_count_every_run_once_in_the_totals_and_in_the_days_row()
    {
        var store = await StoreAsync();
        var now = DateTimeOffset.UtcNow;
        // Eight writers at once, 25 new runs each, every one counted as entered: the counter rows are read and written
        // under their ETags inside each transaction, so a writer that loses a race reads again and adds again.
        await Task.WhenAll(Enumerable.Range(0, 8).Select(w => Task.Run(async () =>
        {
            var changes = Enumerable.Range(0, 25).Select(i => new RunChange(Run(Person(w * 100 + i)), null, [], new JourneyStats { Entered = 1 })).ToList();
            var (conflicted, _) = await store.CommitAsync(Partition, changes, now);
            Assert.Empty(conflicted);
        })));
        Assert.Equal(200, (await store.StatsAsync("t1", "cart")).Entered);
        var day = Siyu.Core.Analytics.TimeSlots.Day(now);
        var daily = await store.DailyStatsAsync("t1", "cart", day, day);
        Assert.Equal(200, Assert.Single(daily).Value.Entered);
        Assert.Empty(await store.DailyStatsAsync("t1", "cart", "2020-01-01", "2020-01-31"));
    }
}
