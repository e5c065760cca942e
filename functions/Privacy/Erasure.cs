using Siyu.Core.Profiles;
using Siyu.Functions.Operations;
using Siyu.Storage.Audit;
using Siyu.Storage.Privacy;
using Siyu.Storage.Profiles;

namespace Siyu.Functions.Privacy;

public enum ErasureRequest { NotFound, Started, AlreadyErased }

/// <summary>
/// Erasing a person (PIPL art. 47). A request marks the profile (from then on it reads as gone and ingestion folds
/// nothing more into it), records a receipt and starts the person's erasure orchestration
/// (<see cref="ErasureOrchestration"/>, instance <see cref="OperationIds.Erasure"/>), whose steps are below, each an
/// activity retried on its own and safe to run again from anywhere:
/// <list type="number">
/// <item>the mark again (a resumed erasure may find it unset only if the request died before it);</item>
/// <item>the suppression hashes of every identifier, so later events about the person are recognised;</item>
/// <item>every <see cref="IPersonalDataHolder"/> deletes what it keeps (identity index, events, consent ledger…), one step each;</item>
/// <item>the profile's rows, its own row last: it holds the identifier list a resumed run needs;</item>
/// <item>the receipt marked done and the completion audited.</item>
/// </list>
/// The orchestration keeps the tenant and profile ids only.
/// </summary>
public sealed class Erasure(
    ProfileStore profiles, PrivacyStores privacy, IEnumerable<IPersonalDataHolder> holders, AuditStore audit, DurableAccess durable, TimeProvider clock)
{
    public async Task<ErasureRequest> RequestAsync(string tenantId, string profileId, string reason, string requestedBy, CancellationToken ct)
    {
        var receipt = await privacy.Erasures.GetAsync(tenantId, profileId, ct);
        var exists = await profiles.ReadAsync(tenantId, profileId, ct) is not null;
        if (!exists && receipt is null) return ErasureRequest.NotFound;
        if (!exists && receipt!.Status == ErasureStatus.Done) return ErasureRequest.AlreadyErased;
        // The receipt before the mark: a profile that reads as gone always has a receipt, so a failure after this
        // point is resumed by the retention run even if the caller never retries.
        await privacy.Erasures.BeginAsync(tenantId, profileId, reason, requestedBy, clock.GetUtcNow(), ct);
        await MarkAsync(tenantId, profileId, ct);
        await StartAsync(tenantId, profileId, ct);
        return ErasureRequest.Started;
    }

    /// <summary>Starts the person's erasure orchestration unless it is running: the first time, or again for an erasure found unfinished.</summary>
    public Task<bool> StartAsync(string tenantId, string profileId, CancellationToken ct) =>
        durable.StartUnlessRunningAsync(ErasureOrchestration.Name, OperationIds.Erasure(tenantId, profileId), new ErasureRef(tenantId, profileId), ct);

    /// <summary>Sets the profile's erasure mark. False when there is no profile row.</summary>
    public async Task<bool> MarkAsync(string tenantId, string profileId, CancellationToken ct)
    {
        var (result, _) = await profiles.UpdateAsync(tenantId, profileId, state =>
        {
            if (state.ErasureRequestedAt is not null) return false;
            state.ErasureRequestedAt = clock.GetUtcNow();
            return true;
        }, maxAttempts: 20, ct: ct);
        return result switch
        {
            ProfileUpdate.Missing => false,
            ProfileUpdate.Busy => throw new InvalidOperationException($"profile {profileId} kept changing while it was being marked for erasure"),
            _ => true,
        };
    }

    /// <summary>The names of the personal-data holders, one erasure step each, in the order they erase.</summary>
    public IReadOnlyList<string> HolderNames => holders.Select(h => h.GetType().Name).ToList();

    /// <summary>Writes the suppression hashes of every identifier the profile lists (nothing once its row is gone).</summary>
    public async Task SuppressAsync(string tenantId, string profileId, CancellationToken ct)
    {
        if (await profiles.ReadAsync(tenantId, profileId, ct) is not { } stored) return;
        // Dated by the request: a consent given after the person asked to be erased counts as fresh.
        await privacy.Suppressions.AddAsync(tenantId, stored.State.Identities, "erased", stored.State.ErasureRequestedAt ?? clock.GetUtcNow(), ct);
    }

    /// <summary>One holder deletes what it keeps of the person (nothing once the profile row is gone: every holder has run by then).</summary>
    public async Task EraseHeldAsync(string tenantId, string profileId, string holderName, CancellationToken ct)
    {
        // A holder this version no longer has keeps nothing to erase: the erasure goes on rather than failing forever.
        if (holders.FirstOrDefault(h => h.GetType().Name == holderName) is not { } holder) return;
        if (await profiles.ReadAsync(tenantId, profileId, ct) is not { } stored) return;
        await holder.EraseAsync(new PersonalDataSubject(tenantId, profileId, stored.State, Core.Privacy.DataDefinitions.None, MaySeeSensitive: true), ct);
    }

    /// <summary>Deletes the profile's rows, its own row last (any row written meanwhile, an event that raced the mark, is swept with it).</summary>
    public async Task DeleteProfileAsync(string tenantId, string profileId, CancellationToken ct)
    {
        if (await profiles.ReadAsync(tenantId, profileId, ct) is null) return;
        await foreach (var row in profiles.ReadAllRowsAsync(tenantId, profileId, ["RowKey"], ct))
            if (row.RowKey != profileId) await profiles.DeleteRowsAsync(ProfileStore.Partition(tenantId, profileId), [row.RowKey], ct);
        await profiles.DeleteRowsAsync(ProfileStore.Partition(tenantId, profileId), [profileId], ct);
    }

    /// <summary>
    /// Audits the completion and marks the receipt done, each once. <paramref name="at"/> is the step's own time (the
    /// orchestration's, the same on every replay), so a step run again after a crash between the two writes adds no
    /// second audit entry, and one that dies before the receipt is marked still leaves the entry.
    /// </summary>
    public async Task CompleteAsync(string tenantId, string profileId, DateTimeOffset at, CancellationToken ct)
    {
        var receipt = await privacy.Erasures.GetAsync(tenantId, profileId, ct);
        if (receipt is not null && receipt.Status == ErasureStatus.Done) return;
        await audit.AppendOnceAsync(tenantId, new AuditEntry(at, "profile.erase.completed", "system", "system",
            $"erase:{profileId}", profileId, receipt is null ? null : $"requested by {receipt.RequestedBy} ({receipt.Reason})"), $"erase~{profileId}", ct);
        await privacy.Erasures.CompleteAsync(tenantId, profileId, at, ct);
    }

    /// <summary>Every step in order, in this process (what the orchestration does step by step). Safe to run any number of times, from any point.</summary>
    public async Task RunAsync(string tenantId, string profileId, CancellationToken ct)
    {
        await MarkAsync(tenantId, profileId, ct);
        await SuppressAsync(tenantId, profileId, ct);
        foreach (var holder in HolderNames) await EraseHeldAsync(tenantId, profileId, holder, ct);
        await DeleteProfileAsync(tenantId, profileId, ct);
        await CompleteAsync(tenantId, profileId, clock.GetUtcNow(), ct);
    }
}
