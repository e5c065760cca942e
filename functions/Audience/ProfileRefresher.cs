using Azure;
using Azure.Data.Tables;
using Siyu.Core.Audience;
using Siyu.Core.Profiles;
using Siyu.Storage.Audience;
using Siyu.Storage.Privacy;
using Siyu.Storage.Profiles;
using Siyu.Storage.Segments;

namespace Siyu.Functions.Audience;

/// <summary>
/// Changing a profile outside ingestion (a tag by hand or in bulk, a merge) the way ingestion does: the change, then
/// its derived state (traits, segments) brought up to date, written together with their history rows (tag history,
/// segment entry and exit events) under the profile's ETag; then the membership index, and segment entries handed
/// to journeys that start on them.
/// </summary>
public sealed class ProfileRefresher(ProfileStore profiles, AudienceStore audience, DefinitionStore definitions, MembershipStore members,
    TimeProvider clock, ILogger<ProfileRefresher> log, Journeys.JourneyTriggers? journeys = null)
{
    public async Task<(ProfileUpdate Result, ProfileState? State)> UpdateAsync(string tenantId, string profileId, Func<ProfileState, bool> change,
        Func<ProfileState, IEnumerable<TableEntity>>? history = null, Func<Task>? beforeWrite = null, bool followAliases = true, int maxAttempts = 10,
        CancellationToken ct = default)
    {
        var audienceDefinitions = await audience.GetAsync(tenantId, ct);
        var dataDefinitions = await definitions.GetAsync(tenantId, ct);
        var changes = ProfileChanges.None;
        var now = clock.GetUtcNow();
        var (result, state) = await profiles.UpdateAsync(tenantId, profileId, s =>
            {
                if (!change(s)) return false;
                changes = audienceDefinitions.Refresh(s, [], dataDefinitions, now);
                return true;
            }, beforeWrite, maxAttempts, ct,
            s => [.. history?.Invoke(s) ?? [], .. Rows(tenantId, s.ProfileId, changes, now)],
            followAliases);
        if (result == ProfileUpdate.Written) await IndexAsync(tenantId, [(state!, changes)], ct);
        return (result, state);
    }

    /// <summary>The rows that record what a refresh changed: tags given by rules, segment entries and exits.</summary>
    public static IEnumerable<TableEntity> Rows(string tenantId, string profileId, ProfileChanges changes, DateTimeOffset now)
    {
        foreach (var tag in changes.TagsAdded)
            yield return ProfileStore.ToTagHistoryEntity(tenantId, profileId, tag.Tag, true, "rule:" + tag.RuleId, now);
        foreach (var segment in changes.Segments.Entered) yield return ProfileStore.ToSegmentEventEntity(tenantId, profileId, segment, true, now);
        foreach (var segment in changes.Segments.Exited) yield return ProfileStore.ToSegmentEventEntity(tenantId, profileId, segment, false, now);
    }

    /// <summary>
    /// Brings the membership index in line with committed profiles. A failure here loses nothing: the profile rows
    /// hold the truth, and the sweep repairs the index.
    /// </summary>
    public async Task IndexAsync(string tenantId, IEnumerable<(ProfileState State, ProfileChanges Changes)> committed, CancellationToken ct)
    {
        committed = committed.ToList();
        if (journeys is not null) await journeys.SegmentsEnteredAsync(tenantId, committed, clock.GetUtcNow(), ct);
        var rows = committed.Where(c => c.Changes.Segments.Changed).SelectMany(c =>
            c.Changes.Segments.Entered.Select(s => (c.State.ProfileId, s, (DateTimeOffset?)c.State.Segments.GetValueOrDefault(s)))
                .Concat(c.Changes.Segments.Exited.Concat(c.Changes.Segments.Removed).Select(s => (c.State.ProfileId, s, (DateTimeOffset?)null))))
            .ToList();
        if (rows.Count == 0) return;
        try { await members.ApplyAsync(tenantId, rows, ct); }
        catch (RequestFailedException e)
        {
            log.LogWarning("Segment index of tenant {Tenant} not updated ({Status}); the sweep will repair it", tenantId, e.Status);
        }
    }
}
