using Siyu.Core.Profiles;
using Siyu.Functions.Api;
using Siyu.Storage.Profiles;

namespace Siyu.Functions.Privacy;

/// <summary>
/// Reading a profile for an API caller: one being erased is already gone as far as callers can tell, and the id of a
/// profile merged into another still works, naming the survivor.
/// </summary>
public static class LiveProfiles
{
    /// <summary>
    /// The profile an id names, following a merged profile's alias to the survivor (whose id is then
    /// <see cref="ProfileState.ProfileId"/>), or null.
    /// </summary>
    public static async Task<ProfileState?> ReadAsync(ProfileStore profiles, string tenantId, string profileId, CancellationToken ct) =>
        await profiles.ResolveAsync(tenantId, profileId, ct) is { } p && p.State.ErasureRequestedAt is null ? p.State : null;

    /// <summary><see cref="ProfileStore.UpdateAsync"/> for an API caller: a profile being erased is <see cref="ProfileUpdate.Missing"/>.</summary>
    public static async Task<(ProfileUpdate Result, ProfileState? State)> UpdateAsync(ProfileStore profiles, string tenantId, string profileId,
        Func<ProfileState, bool> change, Func<Task>? beforeWrite, CancellationToken ct)
    {
        var erasing = false;
        var (result, state) = await profiles.UpdateAsync(tenantId, profileId, s =>
        {
            erasing = s.ErasureRequestedAt is not null;
            return !erasing && change(s);
        }, beforeWrite, ct: ct);
        return erasing ? (ProfileUpdate.Missing, null) : (result, state);
    }

    public static IResult NotFound(string profileId) => Problems.NotFound("profile_not_found", $"no profile '{profileId}' in this tenant");
}
