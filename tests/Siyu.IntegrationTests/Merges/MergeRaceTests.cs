using Azure.Core;
using Azure.Core.Pipeline;
using Microsoft.Extensions.DependencyInjection;
using Siyu.Core.Identities;
using Siyu.Core.Profiles;
using Siyu.Core.Storage;
using Siyu.Functions.Merges;
using Siyu.IntegrationTests.Infrastructure;
using Siyu.IntegrationTests.Processing;
using Siyu.Storage.Account;
using Siyu.Storage.Identities;
using Siyu.Storage.Profiles;
using Siyu.Storage.Tables;

namespace Siyu.IntegrationTests.Merges;

/// <summary>
/// Merges racing each other for one profile, the interleaving forced: whatever the order, when a merge says two
/// profiles are one, they resolve to one live profile.
/// </summary>
public sealed class MergeRaceTests(QuietApp app) : IClassFixture<QuietApp>
{
    /// <summary>Runs <paramref name="before"/> once, just before the first write (PUT) of a row keyed <paramref name="rowKey"/>.</summary>
    private sealed class BeforeFirstWrite(string rowKey, Func<Task> before) : HttpPipelinePolicy
    {
        private int _fired;
        public bool Fired => Volatile.Read(ref _fired) == 1;

        private bool Matches(HttpMessage message) =>
            message.Request.Method == RequestMethod.Put
            && Uri.UnescapeDataString(message.Request.Uri.Path).Contains($"RowKey='{rowKey}')", StringComparison.Ordinal)
            && Interlocked.Exchange(ref _fired, 1) == 0;

        public override void Process(HttpMessage message, ReadOnlyMemory<HttpPipelinePolicy> pipeline)
        {
            if (Matches(message)) before().GetAwaiter().GetResult();
            ProcessNext(message, pipeline);
        }

        public override async ValueTask ProcessAsync(HttpMessage message, ReadOnlyMemory<HttpPipelinePolicy> pipeline)
        {
            if (Matches(message)) await before();
            await ProcessNextAsync(message, pipeline);
        }
    }

    private async Task<string> NewProfileAsync(string tenantId, DateTimeOffset createdAt, string identityKey)
    {
        var id = Ids.NewProfileId();
        var state = ProfileState.New(id, createdAt);
        state.Identities.Add(identityKey);
        Assert.True(await app.Service<ProfileStore>().AddIfAbsentAsync(tenantId, state));
        var owners = await app.Service<IdentityStore>().ClaimAsync(tenantId, [(identityKey, id)]);
        Assert.Equal(id, owners[identityKey]);
        return id;
    }

    /// <summary>
    /// One person, three provisional profiles: P (by phone, oldest), M (by unionid) and K (by userId, newest). Two
    /// processors find ties at once: one merges K with M, the other K with P. The first reads K and M (K, the newer,
    /// is to go into M); before it marks K, the other merges K into P. The first's mark then finds K already an alias
    /// of P — a merge that does not join M. It must go on to merge M and P, not report M as the survivor of K.
    /// </summary>
    [Fact]
    public async Task A_profile_merged_elsewhere_between_the_look_and_the_mark_still_ends_as_one_person()
    {
        var tenant = await app.NewTenantAsync();
        var run = Guid.NewGuid().ToString("N")[..8];
        var now = DateTimeOffset.UtcNow;
        var phone = IdentityRules.NormaliseKey($"phone:137{Random.Shared.Next(10_000_000, 99_999_999)}")!;
        var unionId = IdentityRules.NormaliseKey($"unionid:un-{run}")!;
        var userId = IdentityRules.NormaliseKey($"userId:u-{run}")!;
        var p = await NewProfileAsync(tenant.Id, now.AddHours(-3), phone);
        var m = await NewProfileAsync(tenant.Id, now.AddHours(-2), unionId);
        var k = await NewProfileAsync(tenant.Id, now.AddHours(-1), userId);

        // The other processor's merge (K into P), through the app's own merger, just before ours writes its mark on K.
        var other = app.Service<ProfileMerger>();
        var step = new BeforeFirstWrite(k, async () =>
        {
            var (result, survivor) = await other.MergeAsync(tenant.Id, k, p, CancellationToken.None, fromIndex: true);
            Assert.Equal((MergeResult.Merged, p), (result, survivor));
        });
        var tables = new StorageTables(app.Service<StorageAccount>(), app.Prefix, [step]);
        var merger = ActivatorUtilities.CreateInstance<ProfileMerger>(app.Services, new ProfileStore(tables));

        var (ours, said) = await merger.MergeAsync(tenant.Id, k, m, CancellationToken.None, fromIndex: true);
        Assert.True(step.Fired, "the other merge did not step in before our mark");
        Assert.Contains(ours, new[] { MergeResult.Merged, MergeResult.AlreadyOne });

        // Every profile and every identity of the person resolves to one live profile, the one the merge named.
        var profiles = app.Service<ProfileStore>();
        var live = new HashSet<string>();
        foreach (var id in new[] { p, m, k, said! }) live.Add((await profiles.ResolveAsync(tenant.Id, id))!.Value.State.ProfileId);
        Assert.True(live.Count == 1, $"P {p}, M {m} and K {k} resolve to {string.Join(", ", live)}; the merge said {said}");
        var one = (await profiles.ReadAsync(tenant.Id, live.Single()))!.Value.State;
        Assert.Null(one.MergedInto);
        Assert.Equal(new[] { phone, unionId, userId }.Order(), one.Identities.Order());

        var marketer = tenant.Marketer();
        foreach (var identity in new[] { phone, unionId, userId })
            Assert.Equal(one.ProfileId, (await marketer.FindProfile(identity))?.GetProperty("id").GetString());
    }
}
