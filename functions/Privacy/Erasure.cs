using System.Text.Json;
using Siyu.Core.Profiles;
using Siyu.Functions.Hosting;
using Siyu.Storage.Audit;
using Siyu.Storage.Privacy;
using Siyu.Storage.Profiles;
using Siyu.Storage.Queues;

namespace Siyu.Functions.Privacy;

public enum ErasureRequest { NotFound, Started, AlreadyErased }

/// <summary>
/// Erasing a person (PIPL art. 47), resumable. A request marks the profile (from then on it reads as gone and
/// ingestion folds nothing more into it), records a receipt and queues the work. The work, run from the queue:
/// <list type="number">
/// <item>writes the suppression hashes of every identifier, so later events about the person are recognised;</item>
/// <item>asks every <see cref="IPersonalDataHolder"/> to delete what it keeps (identity index, events, consent ledger…);</item>
/// <item>deletes the profile row last — it holds the identifier list a resumed run needs;</item>
/// <item>marks the receipt done and audits the completion.</item>
/// </list>
/// Every step is idempotent, so a run that dies anywhere is simply run again when its message reappears.
/// </summary>
public sealed class Erasure(
    ProfileStore profiles, PrivacyStores privacy, IEnumerable<IPersonalDataHolder> holders, AuditStore audit,
    IQueueService queues, QueueNames names, TimeProvider clock, ILogger<Erasure> log) : IQueueHandler
{
    private sealed record Message(string TenantId, string ProfileId);

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
        await EnqueueAsync(tenantId, profileId, ct);
        return ErasureRequest.Started;
    }

    public async Task EnqueueAsync(string tenantId, string profileId, CancellationToken ct)
    {
        await queues.Queue(names.Erase).SendAsync(JsonSerializer.Serialize(new Message(tenantId, profileId), JsonSerializerOptions.Web), ct: ct);
    }

    /// <summary>Sets the profile's erasure mark. False when there is no profile row.</summary>
    private async Task<bool> MarkAsync(string tenantId, string profileId, CancellationToken ct)
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

    public async Task<IReadOnlyList<WorkOutcome>> HandleAsync(IReadOnlyList<QueueWorkItem> batch, CancellationToken ct)
    {
        var outcomes = new List<WorkOutcome>(batch.Count);
        foreach (var item in batch)
        {
            Message? message;
            try { message = JsonSerializer.Deserialize<Message>(item.Text, JsonSerializerOptions.Web); }
            catch (JsonException e) { outcomes.Add(WorkOutcome.Poison($"unreadable erase message: {e.Message}")); continue; }
            if (message is not { TenantId: not null, ProfileId: not null })
            {
                outcomes.Add(WorkOutcome.Poison("an erase message needs tenantId and profileId"));
                continue;
            }
            try
            {
                await RunAsync(message.TenantId, message.ProfileId, ct);
                outcomes.Add(WorkOutcome.Done);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                log.LogWarning(e, "Erasure of profile {ProfileId} in tenant {Tenant} stopped; it resumes on retry", message.ProfileId, message.TenantId);
                outcomes.Add(WorkOutcome.Retry($"erasure of {message.ProfileId} stopped: {e.Message}"));
            }
        }
        return outcomes;
    }

    /// <summary>The erasure itself. Safe to run any number of times, from any point.</summary>
    public async Task RunAsync(string tenantId, string profileId, CancellationToken ct)
    {
        await MarkAsync(tenantId, profileId, ct);
        if (await profiles.ReadAsync(tenantId, profileId, ct) is { } stored)
        {
            var state = stored.State;
            // Dated by the request: a consent given after the person asked to be erased counts as fresh.
            await privacy.Suppressions.AddAsync(tenantId, state.Identities, "erased", state.ErasureRequestedAt ?? clock.GetUtcNow(), ct);
            var subject = new PersonalDataSubject(tenantId, profileId, state, Core.Privacy.DataDefinitions.None, MaySeeSensitive: true);
            foreach (var holder in holders) await holder.EraseAsync(subject, ct);
            // Last, after everything it lists is gone: the row a resumed run starts from. Any row written meanwhile
            // (an event that raced the mark) is swept with it.
            await foreach (var row in profiles.ReadAllRowsAsync(tenantId, profileId, ["RowKey"], ct))
                if (row.RowKey != profileId) await profiles.DeleteRowsAsync(ProfileStore.Partition(tenantId, profileId), [row.RowKey], ct);
            await profiles.DeleteRowsAsync(ProfileStore.Partition(tenantId, profileId), [profileId], ct);
        }
        var receipt = await privacy.Erasures.GetAsync(tenantId, profileId, ct);
        if (receipt is null || receipt.Status != ErasureStatus.Done)
        {
            await privacy.Erasures.CompleteAsync(tenantId, profileId, clock.GetUtcNow(), ct);
            await audit.AppendAsync(tenantId, [new AuditEntry(clock.GetUtcNow(), "profile.erase.completed", "system", "system",
                $"erase:{profileId}", profileId, receipt is null ? null : $"requested by {receipt.RequestedBy} ({receipt.Reason})")], ct);
        }
    }
}
