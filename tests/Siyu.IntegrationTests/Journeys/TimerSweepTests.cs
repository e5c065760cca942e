using Azure.Data.Tables;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using Siyu.Functions.Journeys;
using Siyu.Storage.Journeys;

namespace Siyu.IntegrationTests.Journeys;

/// <summary>
/// The timer sweep reads each partition onward from the last timer it handed on and clears handed-on timers a while
/// later: nothing is handed on twice meanwhile, a timer filed behind the position is found once the partition is cleared,
/// and a timer armed again under the same row since it was handed on is not cleared with it. The sweep here runs on its
/// own clock in 2001, so the app's engine drops the timers it hands on (their runs never existed, long ago).
/// </summary>
public sealed class TimerSweepTests(FaultyApp app) : IClassFixture<FaultyApp>
{
    private const string Tenant = "sweeptest";

    [Fact]
    public async Task Handed_on_timers_are_kept_until_the_clear_delay_and_one_filed_behind_the_position_is_found_after_it()
    {
        var store = app.Service<TimerStore>();
        var clock = new FakeTimeProvider(new DateTimeOffset(2001, 3, 4, 10, 0, 0, TimeSpan.Zero));
        var settings = new JourneySettings { TimerClearDelay = TimeSpan.FromSeconds(30) };
        var sweep = new TimerSweep(store, app.Service<JourneyQueue>(), Options.Create(settings), clock);
        var due = clock.GetUtcNow().AddMinutes(1);
        // Bucket 3 files into shard 3; run keys sort b, c, d.
        JourneyTimer Timer(string run, long generation = 1) => new(Tenant, 3, run, generation, due);
        await store.ArmAsync([Timer("b"), Timer("c"), Timer("d")], clock.GetUtcNow());
        Assert.Equal(0, await sweep.RunOnceAsync(CancellationToken.None));

        clock.Advance(TimeSpan.FromMinutes(2));
        Assert.Equal(3, await sweep.RunOnceAsync(CancellationToken.None));
        Assert.Equal(["b", "c", "d"], await RowsAsync(store));
        // Not handed on again, though still there.
        Assert.Equal(0, await sweep.RunOnceAsync(CancellationToken.None));
        Assert.Equal(["b", "c", "d"], await RowsAsync(store));

        // Writes made before the timers fell due but held up until after the sweep passed their place ("a" sorts first),
        // one of them "c" armed again under the same row.
        await store.ArmAsync([Timer("a"), Timer("c")], due - TimeSpan.FromSeconds(20));
        Assert.Equal(0, await sweep.RunOnceAsync(CancellationToken.None));

        // The clear delay passes: b and d are cleared; c, written again since, stays; reading starts over and finds a and c.
        clock.Advance(TimeSpan.FromSeconds(31));
        Assert.Equal(0, await sweep.RunOnceAsync(CancellationToken.None));
        Assert.Equal(["a", "c"], await RowsAsync(store));
        Assert.Equal(2, await sweep.RunOnceAsync(CancellationToken.None));
        Assert.Equal(0, await sweep.RunOnceAsync(CancellationToken.None));

        clock.Advance(TimeSpan.FromSeconds(31));
        await sweep.RunOnceAsync(CancellationToken.None);
        Assert.Empty(await RowsAsync(store));

        // A drained partition is looked at again when its next timer is due (here 12 s on), not after every poll; and a
        // timer armed after that look, 11 s ahead (so filed, not queued), is not passed over either.
        var soon = clock.GetUtcNow().AddSeconds(12);
        await store.ArmAsync([new JourneyTimer(Tenant, 3, "e", 1, soon)], clock.GetUtcNow());
        Assert.Equal(0, await sweep.RunOnceAsync(CancellationToken.None));
        await store.ArmAsync([new JourneyTimer(Tenant, 3, "f", 1, clock.GetUtcNow().AddSeconds(11))], clock.GetUtcNow());
        clock.Advance(TimeSpan.FromSeconds(11));
        Assert.Equal(1, await sweep.RunOnceAsync(CancellationToken.None));
        clock.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal(1, await sweep.RunOnceAsync(CancellationToken.None));
    }

    private static async Task<List<string>> RowsAsync(TimerStore store)
    {
        var runs = new List<string>();
        await foreach (var row in store.Table.QueryAsync<TableEntity>(TableClient.CreateQueryFilter($"Tenant eq {Tenant}")))
            runs.Add(row.GetString("Run")!);
        return runs.Order(StringComparer.Ordinal).ToList();
    }
}
