using Siyu.Core.Profiles;
using Siyu.Core.Storage;
using Siyu.Functions.Audience;
using Siyu.Functions.Operations;
using Siyu.Storage.Identities;
using Siyu.Storage.Privacy;
using Siyu.Storage.Profiles;

namespace Siyu.Functions.Merges;

/// <summary>What became of a merge request.</summary>
public enum MergeResult { Merged, AlreadyOne, NotFound, Erasing }

/// <summary>
/// Someone who holds per-person data keyed by profile id outside the profile's own rows (segment membership,
/// journey participation): told when one profile is merged into another, so it can move what it holds.
/// Must be idempotent; it may be told twice.
/// </summary>
public interface IMergeParticipant
{
    Task MoveAsync(string tenantId, ProfileState merged, ProfileState survivor, CancellationToken ct);
}

/// <summary>
/// Merges two profiles that turn out to be one person (OneID). The survivor is chosen by <see cref="ProfileMerge"/>'s
/// rule; then, each step idempotent and safe to repeat from anywhere:
/// <list type="number">
/// <item>the merged profile is marked as an alias of the survivor, under its ETag. From then on it is frozen: ingestion
/// and updates follow the alias to the survivor, and a writer that read it before the mark loses its ETag race. A
/// merger that finds it marked already, into a third profile, has not joined the two: it finishes that merge and looks
/// again (both sides resolved anew), so a merge reported done always leaves one live profile;</item>
/// <item>its frozen state is folded into the survivor under the survivor's ETag (once: the survivor records its lineage);</item>
/// <item>its events, consent ledger and tag history are copied under the survivor;</item>
/// <item>its identities are re-pointed to the survivor, and participants (segments, journeys) move what they hold;</item>
/// <item>its copied rows are deleted and its row shrinks to the alias, which keeps resolving.</item>
/// </list>
/// A merge is announced before it starts by the pair's merge orchestration (<see cref="MergeOrchestration"/>, instance
/// <see cref="OperationIds.Merge"/>): it waits a little, then runs the same idempotent steps, so one interrupted anywhere
/// is finished from there.
/// </summary>
public sealed class ProfileMerger(
    ProfileStore profiles, ProfileRefresher refresher, IdentityStore identities, DefinitionStore definitions, IEnumerable<IMergeParticipant> participants,
    ErasureStore erasures, DurableAccess durable, TimeProvider clock, ILogger<ProfileMerger> log)
{
    /// <summary>How many merges one request may chain (A into B while B goes into C…) before giving up.</summary>
    private const int MaxRounds = 8;

    /// <summary>
    /// Merges two profiles of one tenant, whichever way round they are named. Returns the survivor's id.
    /// <paramref name="fromIndex"/>: both ids were read from the identity index or just claimed in it (ingestion). An
    /// identity points at its profile before that profile's first commit writes its row, so such a profile may have no
    /// row yet; it is started empty here (its first commit then finds it and folds in, or follows it if it became an
    /// alias), so the merge never waits for, nor misses, a profile that is still being created. A person being erased
    /// (a receipt exists) is never started again.
    /// </summary>
    public async Task<(MergeResult Result, string? SurvivorId)> MergeAsync(string tenantId, string profileId, string otherProfileId, CancellationToken ct,
        bool fromIndex = false)
    {
        if (!Ids.IsProfileId(profileId) || !Ids.IsProfileId(otherProfileId)) return (MergeResult.NotFound, null);
        await durable.StartOnceAsync(MergeOrchestration.Name, OperationIds.Merge(tenantId, profileId, otherProfileId),
            new MergeWork(tenantId, profileId, otherProfileId, fromIndex), ct);
        return await RunAsync(tenantId, profileId, otherProfileId, fromIndex, ct);
    }

    /// <summary>The merge's steps without the announcement: what the orchestration runs to finish an interrupted merge.</summary>
    public async Task<(MergeResult, string?)> RunAsync(string tenantId, string a, string b, bool fromIndex, CancellationToken ct)
    {
        if (fromIndex)
        {
            foreach (var id in new[] { a, b }.Distinct())
            {
                if (await profiles.ReadAsync(tenantId, id, ct) is not null) continue;
                if (await erasures.GetAsync(tenantId, id, ct) is not null) return (MergeResult.Erasing, null);
                await profiles.AddIfAbsentAsync(tenantId, ProfileState.New(id, clock.GetUtcNow()), ct);
            }
        }
        for (var round = 0; round < MaxRounds; round++)
        {
            // Both sides as they are now: either may have been merged elsewhere meanwhile.
            var first = await profiles.ResolveAsync(tenantId, a, ct);
            var second = await profiles.ResolveAsync(tenantId, b, ct);
            if (first is null || second is null) return (MergeResult.NotFound, null);
            if (first.Value.State.ErasureRequestedAt is not null || second.Value.State.ErasureRequestedAt is not null) return (MergeResult.Erasing, null);
            var survivor = ProfileMerge.Survivor(first.Value.State, second.Value.State);
            var merged = ReferenceEquals(survivor, first.Value.State) ? second.Value.State : first.Value.State;

            if (survivor.ProfileId == merged.ProfileId)
            {
                // Already one. The named ids may still be aliases whose move was interrupted: finish those.
                foreach (var id in new[] { a, b }.Distinct())
                    if (id != survivor.ProfileId) await FinishAsync(tenantId, id, survivor.ProfileId, ct);
                return (MergeResult.AlreadyOne, survivor.ProfileId);
            }
            if (await MergeIntoAsync(tenantId, merged.ProfileId, survivor.ProfileId, ct))
            {
                log.LogInformation("Merged profile {Merged} into {Survivor} in tenant {Tenant}", merged.ProfileId, survivor.ProfileId, tenantId);
                return (MergeResult.Merged, survivor.ProfileId);
            }
            // The merged profile went into yet another profile while we worked: go round again with the new picture.
        }
        throw new InvalidOperationException($"profiles {a} and {b} kept being merged elsewhere");
    }

    /// <summary>
    /// One merge; false when it did not join the two (the caller looks again): the merged profile was merged into a
    /// third profile between the caller's look and this mark.
    /// </summary>
    private async Task<bool> MergeIntoAsync(string tenantId, string mergedId, string survivorId, CancellationToken ct)
    {
        // 1. Freeze the merged profile as an alias.
        string? elsewhere = null;
        var (marked, _) = await profiles.UpdateAsync(tenantId, mergedId, s =>
        {
            elsewhere = s.MergedInto is { } target && target != survivorId ? target : null;
            if (s.MergedInto is not null) return false;
            s.MergedInto = survivorId;
            return true;
        }, maxAttempts: 20, ct: ct, followAliases: false);
        if (marked == ProfileUpdate.Busy) throw new InvalidOperationException($"profile {mergedId} kept changing while it was being merged");
        if (elsewhere is not null)
        {
            // Another merge took it first (its mark won the ETag race), into a profile that is not our survivor. That
            // joins it to someone else, not to the survivor: finish that merge, and report that ours is not done yet,
            // so the caller resolves both sides again and merges what they are now. Going on to "finish" here would
            // report the survivor as the person's profile while the person stays split across two live profiles.
            await FinishAsync(tenantId, mergedId, elsewhere, ct);
            return false;
        }
        return await FinishAsync(tenantId, mergedId, survivorId, ct);
    }

    /// <summary>Steps 2-5 for a profile already marked as an alias. Idempotent.</summary>
    private async Task<bool> FinishAsync(string tenantId, string mergedId, string survivorId, CancellationToken ct)
    {
        if (await profiles.ReadAsync(tenantId, mergedId, ct) is not { } stored || stored.State.MergedInto is not { } target) return true;
        var frozen = stored.State;
        survivorId = target; // a concurrent merge may have aimed it elsewhere: finish that one

        // 2. Fold it into the survivor, once; the survivor's traits and segments follow.
        var defs = await definitions.GetAsync(tenantId, ct);
        var aliasOfSurvivor = false;
        var (folded, survivor) = await refresher.UpdateAsync(tenantId, survivorId, s =>
        {
            if (s.MergedInto is not null) { aliasOfSurvivor = true; return false; }
            return ProfileMerge.Absorb(s, frozen, defs, clock.GetUtcNow());
        }, maxAttempts: 20, ct: ct, followAliases: false);
        if (aliasOfSurvivor)
        {
            // The survivor was merged away meanwhile: re-aim this alias at where it went, and finish there.
            var next = (await profiles.ResolveAsync(tenantId, survivorId, ct))?.State.ProfileId;
            if (next is null) return true;
            await profiles.UpdateAsync(tenantId, mergedId, s =>
            {
                if (s.MergedInto == next) return false;
                s.MergedInto = next;
                return true;
            }, ct: ct, followAliases: false);
            return await FinishAsync(tenantId, mergedId, next, ct);
        }
        if (folded is ProfileUpdate.Missing) return true;
        if (folded is ProfileUpdate.Busy) throw new InvalidOperationException($"profile {survivorId} kept changing while {mergedId} was merged into it");

        // 3. Its history, under the survivor.
        var copied = await profiles.CopyHistoryAsync(tenantId, mergedId, survivorId, ct);

        // 4. Its identities and everything else that names it.
        foreach (var key in frozen.Identities) await identities.RepointAsync(tenantId, key, mergedId, survivorId, ct);
        foreach (var participant in participants) await participant.MoveAsync(tenantId, frozen, survivor!, ct);

        // 5. Only the alias remains.
        await profiles.DeleteRowsAsync(ProfileStore.Partition(tenantId, mergedId), copied, ct);
        await profiles.UpdateAsync(tenantId, mergedId, s =>
        {
            if (s.Identities.Count == 0 && s.EventCount == 0) return false;
            var alias = ProfileMerge.Alias(s);
            s.Identities.Clear();
            ShrinkTo(s, alias);
            return true;
        }, ct: ct, followAliases: false);
        return true;
    }

    private static void ShrinkTo(ProfileState s, ProfileState alias)
    {
        s.Attributes.Clear();
        s.AttributeVersions.Clear();
        s.Counters.Clear();
        s.Orders = new OrderTotals();
        s.Recent.Clear();
        s.Consent = new Core.Consent.ConsentState();
        s.Tags.Clear();
        s.Activity.Clear();
        s.Segments.Clear();
        s.Traits = null;
        s.Preferences = null;
        s.MergedFrom = null;
        s.EventCount = 0;
        s.FirstSeen = s.LastSeen = null;
        s.MergedInto = alias.MergedInto;
    }
}
