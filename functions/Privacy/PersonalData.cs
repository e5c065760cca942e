using System.Text.Json;
using System.Text.Json.Nodes;
using Azure;
using Azure.Data.Tables;
using Siyu.Core.Identities;
using Siyu.Core.Privacy;
using Siyu.Core.Profiles;
using Siyu.Core.Storage;
using Siyu.Storage.Identities;
using Siyu.Storage.Profiles;
using Siyu.Storage.Tables;

namespace Siyu.Functions.Privacy;

/// <summary>Whose data, and what the caller may see of it.</summary>
public sealed record PersonalDataSubject(string TenantId, string ProfileId, ProfileState State, DataDefinitions Definitions, bool MaySeeSensitive);

/// <summary>
/// One place where personal data about a profile is held, outside the profile row itself. Export asks every
/// holder for its section; erasure asks every holder to delete. A feature that keeps per-person rows in a new table
/// (journey participation, deliveries) adds a holder, and export and erasure cover it from then on.
/// </summary>
public interface IPersonalDataHolder
{
    /// <summary>The section name in an export.</summary>
    string Section { get; }
    Task<JsonNode?> ExportAsync(PersonalDataSubject subject, CancellationToken ct);
    /// <summary>Deletes everything this holder keeps about the subject. Idempotent: run again, it finds nothing to do.</summary>
    Task EraseAsync(PersonalDataSubject subject, CancellationToken ct);
}

/// <summary>The identity index rows that point at the profile.</summary>
public sealed class IdentityIndexHolder(StorageTables tables, IdentityStore identities) : IPersonalDataHolder
{
    public string Section => "identities";

    public async Task<JsonNode?> ExportAsync(PersonalDataSubject s, CancellationToken ct)
    {
        var list = new JsonArray();
        foreach (var key in s.State.Identities)
        {
            var row = await tables.Identities.GetEntityIfExistsAsync<TableEntity>(IdentityStore.Partition(s.TenantId, key), KeyEncoding.Escape(key), cancellationToken: ct);
            var item = IdentityRules.TryParseKey(key, out var identity)
                ? new JsonObject { ["type"] = IdentityRules.Name(identity.Type), ["value"] = identity.Value, ["appId"] = identity.AppId }
                : new JsonObject { ["type"] = "unknown", ["value"] = key };
            if (row.HasValue && (row.Value!.GetString("ProfileId") is { } owner) && (owner == s.ProfileId || s.State.MergedFrom?.Contains(owner) == true)) item["linkedAt"] = row.Value.GetDateTimeOffset("ClaimedAt");
            list.Add(item);
        }
        return list;
    }

    public async Task EraseAsync(PersonalDataSubject s, CancellationToken ct)
    {
        // Only the rows that are this person's (under their id or an id merged into it): an identifier may belong to
        // someone else by now.
        var theirs = (s.State.MergedFrom ?? []).Append(s.ProfileId).ToHashSet(StringComparer.Ordinal);
        foreach (var key in s.State.Identities) await identities.ReleaseAsync(s.TenantId, key, theirs, ct);
    }
}

/// <summary>
/// The profile's event history, consent ledger and tag history: every row in its partition but the profile row, and the
/// alias rows of profiles merged into it. Exports the events;
/// the ledger is exported with the consents.
/// </summary>
public sealed class ProfileHistoryHolder(ProfileStore profiles) : IPersonalDataHolder
{
    public string Section => "events";

    public async Task<JsonNode?> ExportAsync(PersonalDataSubject s, CancellationToken ct)
    {
        var events = new JsonArray();
        string? continuation = null;
        do
        {
            var (page, next) = await profiles.ReadEventsAsync(s.TenantId, s.ProfileId, 500, continuation, ct);
            foreach (var e in page) events.Add(JsonSerializer.SerializeToNode(e, EntityJson.Options));
            continuation = next;
        } while (continuation is not null);
        return events;
    }

    public async Task EraseAsync(PersonalDataSubject s, CancellationToken ct)
    {
        var keys = new List<string>();
        await foreach (var row in profiles.ReadAllRowsAsync(s.TenantId, s.ProfileId, ["RowKey"], ct))
            if (row.RowKey != s.ProfileId) keys.Add(row.RowKey);
        await profiles.DeleteRowsAsync(ProfileStore.Partition(s.TenantId, s.ProfileId), keys, ct);
        // The aliases of profiles merged into this one, and anything a merge left under them.
        foreach (var merged in s.State.MergedFrom ?? [])
        {
            var rows = new List<string>();
            await foreach (var row in profiles.ReadAllRowsAsync(s.TenantId, merged, ["RowKey"], ct)) rows.Add(row.RowKey);
            await profiles.DeleteRowsAsync(ProfileStore.Partition(s.TenantId, merged), rows, ct);
        }
    }
}
