using System.Net;
using System.Text.Json;
using Siyu.Functions.Hosting;
using Siyu.IntegrationTests.Consent;
using Siyu.IntegrationTests.Infrastructure;
using Siyu.Storage.Queues;

namespace Siyu.IntegrationTests.Identities;

/// <summary>Two instances of the app on one storage account, as two Functions instances of one deployment would be.</summary>
public sealed class TwoInstances : IAsyncLifetime
{
    public SiyuApp First { get; } = new();
    public SiyuApp Second { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        await First.InitializeAsync();
        Second = new SiyuApp { Prefix = First.Prefix, OperatorKey = First.OperatorKey };
        await Second.InitializeAsync();
    }

    public async Task DisposeAsync()
    {
        await Second.DisposeAsync();
        await First.DisposeAsync();
    }

    /// <summary>Waits until no ingest message is left, in flight or not (approximate counts include invisible messages).</summary>
    public async Task IngestDrainedAsync(TimeSpan timeout)
    {
        var queues = First.Service<IQueueService>();
        var names = First.Service<QueueNames>();
        await Eventually.Get(async () =>
        {
            long left = 0;
            foreach (var q in names.Ingest) left += await queues.Queue(q).GetApproximateCountAsync();
            return left;
        }, left => left == 0, timeout, "the ingest queues to drain");
    }
}

/// <summary>
/// An identity belongs to exactly one profile, whatever the interleaving: writers on two instances post events,
/// identifies and consents about the same people at once, each naming some of their identities, and every identity
/// of a person ends on the one profile that holds all their events; after erasure none of them resolves.
/// </summary>
public sealed class OneIdentityOneProfileTests(TwoInstances apps) : IClassFixture<TwoInstances>
{
    private const int People = 200;
    private const string AppId = "wxminiapp0000001";

    private sealed record Person(int Index, string UserId, string Phone, string UnionId, string OpenId, string AnonymousId)
    {
        /// <summary>Every identity as the profile lookup takes it (openids with their app).</summary>
        public IEnumerable<(string Identity, string? AppId)> Lookups =>
            [($"userId:{UserId}", null), ($"phone:{Phone}", null), ($"unionid:{UnionId}", null), ($"openid:{OpenId}", AppId), ($"anonymousId:{AnonymousId}", null)];
    }

    private static object Event(string type, string id, object identities, object? traits = null) => traits is null
        ? new { type, messageId = id, @event = "page_view", identities }
        : new { type, messageId = id, identities, traits };

    [Fact]
    public async Task Concurrent_writers_on_two_instances_never_split_a_person()
    {
        var tenant = await apps.First.NewTenantAsync();
        var run = Guid.NewGuid().ToString("N")[..8];
        var people = Enumerable.Range(0, People).Select(i => new Person(i, $"u-{run}-{i}", "137" + (10_000_000 + i * 7 + Random.Shared.Next(7)).ToString(),
            $"un-{run}-{i}", $"o-{run}-{i}", $"a-{run}-{i}")).ToList();
        var ingest = new[] { apps.First.ClientWithKey(tenant.IngestKey), apps.Second.ClientWithKey(tenant.IngestKey) };
        var now = DateTimeOffset.UtcNow.AddMinutes(-1).ToString("O");

        // Each writer names part of each person; together they tie all five identities into one graph. Each posts in
        // its own shuffled order, five people per request, through either instance.
        var writers = new List<Func<Person[], Task<HttpResponseMessage>>>
        {
            b => ingest[0].PostEvents(b.SelectMany(p => new[] {
                Event("identify", $"w1i-{p.UserId}", new { userId = p.UserId, phone = p.Phone }, new { tier = "gold" }),
                Event("track", $"w1t-{p.UserId}", new { phone = p.Phone }) }).ToArray()),
            b => ingest[1].PostConsents(b.Select(p => (object)new { identities = new { phone = p.Phone }, purpose = "marketing", channel = "sms",
                status = "granted", source = "store_form", occurredAt = now, id = $"w2-{p.UserId}" }).ToArray()),
            b => ingest[0].PostEvents(b.Select(p => Event("track", $"w3-{p.UserId}", new { openid = p.OpenId, appId = AppId, unionid = p.UnionId })).ToArray()),
            b => ingest[1].PostEvents(b.Select(p => Event("identify", $"w4-{p.UserId}", new { unionid = p.UnionId, userId = p.UserId }, new { city = "上海" })).ToArray()),
            b => ingest[1].PostEvents(b.Select(p => Event("track", $"w5-{p.UserId}", new { anonymousId = p.AnonymousId, openid = p.OpenId, appId = AppId })).ToArray()),
        };
        const int eventsPerPerson = 6;
        await Task.WhenAll(writers.Select(async write =>
        {
            foreach (var batch in people.OrderBy(_ => Random.Shared.Next()).Chunk(5))
            {
                var response = await write(batch);
                Assert.True(response.StatusCode == HttpStatusCode.Accepted, await response.Content.ReadAsStringAsync());
                Assert.Equal(0, (await response.Json()).GetProperty("rejected").GetInt32());
            }
        }));
        var posted = System.Diagnostics.Stopwatch.StartNew();
        await apps.IngestDrainedAsync(TimeSpan.FromSeconds(180));
        Console.WriteLine($"ingest drained {posted.Elapsed.TotalSeconds:F1} s after the writers finished");

        // Every identity of a person resolves to one profile, and that profile holds every event about them.
        var marketer = tenant.Marketer();
        var split = new List<string>();
        var profileOf = new Dictionary<int, string>();
        await Parallel.ForEachAsync(people, new ParallelOptions { MaxDegreeOfParallelism = 8 }, async (p, _) =>
        {
            var found = new List<(string Identity, string? Id, long Events)>();
            foreach (var (identity, appId) in p.Lookups)
            {
                var profile = await marketer.FindProfile(identity, appId);
                found.Add((identity, profile?.GetProperty("id").GetString(), profile?.GetProperty("eventCount").GetInt64() ?? 0));
            }
            var ids = found.Select(f => f.Id).Distinct().ToList();
            lock (split)
            {
                if (ids.Count != 1 || ids[0] is null || found[0].Events != eventsPerPerson)
                    split.Add($"person {p.Index}: " + string.Join(", ", found.Select(f => $"{f.Identity} -> {f.Id ?? "none"} ({f.Events} events)")));
                else profileOf[p.Index] = ids[0]!;
            }
        });
        Assert.True(split.Count == 0, $"{split.Count} of {People} people are not one profile with all {eventsPerPerson} events:\n" + string.Join("\n", split.Take(10)));

        var one = await (await marketer.GetAsync($"/api/profiles/{profileOf[0]}")).Json();
        Assert.Equal(["anonymousId", "openid", "phone", "unionid", "userId"], one.GetProperty("identities").EnumerateArray().Select(i => i.GetProperty("type").GetString()).Order());
        Assert.Equal("granted", (await marketer.Consents(profileOf[0])).Current("marketing", "sms"));

        // Erasing a person leaves no identity of theirs resolving.
        var admin = tenant.Admin();
        var erased = people.Take(20).ToList();
        foreach (var p in erased) Assert.Equal(HttpStatusCode.Accepted, (await admin.DeleteAsync($"/api/profiles/{profileOf[p.Index]}")).StatusCode);
        await Task.WhenAll(erased.Select(p =>
            Eventually.Get(() => admin.DeleteAsync($"/api/profiles/{profileOf[p.Index]}"), r => r.StatusCode == HttpStatusCode.NoContent,
                TimeSpan.FromSeconds(90), $"erasure of person {p.Index}")));
        var left = new List<string>();
        foreach (var p in erased)
            foreach (var (identity, appId) in p.Lookups)
                if (await marketer.FindProfile(identity, appId) is { } still) left.Add($"{identity} -> {still.GetProperty("id").GetString()}");
        Assert.True(left.Count == 0, "identities still resolve after erasure: " + string.Join(", ", left.Take(10)));
    }

    [Fact]
    public async Task The_identity_repair_merges_profiles_that_were_split_before()
    {
        var tenant = await apps.First.NewTenantAsync();
        var phone = ConsentApi.NewPhone();
        var userId = "u-" + Guid.NewGuid().ToString("N")[..10];
        var ingest = tenant.Ingest();
        var marketer = tenant.Marketer();
        await ingest.PostEvents(Event("identify", "r1", new { phone }, new { tier = "gold" }));
        await ingest.PostEvents(Event("track", "r2", new { userId }));
        var byPhone = await marketer.ProfileIdOf($"phone:{phone}");
        var byUser = await marketer.ProfileIdOf($"userId:{userId}");
        Assert.NotEqual(byPhone, byUser);

        // What a resolution race left behind before claims were merged: the second profile also lists the phone.
        var phoneKey = Siyu.Core.Identities.IdentityRules.NormaliseKey($"phone:{phone}")!;
        var (written, _) = await apps.First.Service<Siyu.Storage.Profiles.ProfileStore>().UpdateAsync(tenant.Id, byUser, s => s.Identities.Add(phoneKey));
        Assert.Equal(Siyu.Storage.Profiles.ProfileUpdate.Written, written);

        await (await marketer.PostAsync("/api/identities/repair", null)).AssertProblem(HttpStatusCode.Forbidden, "wrong_role");
        var repair = await tenant.Admin().PostAsync("/api/identities/repair", null);
        Assert.Equal(HttpStatusCode.Accepted, repair.StatusCode);

        var one = await Eventually.Get(async () => (await marketer.FindProfile($"phone:{phone}"), await marketer.FindProfile($"userId:{userId}")),
            p => p.Item1?.GetProperty("id").GetString() is { } a && a == p.Item2?.GetProperty("id").GetString()
                 && p.Item1.Value.GetProperty("eventCount").GetInt64() == 2, TimeSpan.FromSeconds(60), "the split to be repaired, with both events");
        Assert.Contains(one.Item1!.Value.GetProperty("id").GetString(), new[] { byPhone, byUser });
        Assert.Equal("gold", one.Item1!.Value.GetProperty("attributes").GetProperty("tier").GetString());
    }
}
