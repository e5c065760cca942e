using Siyu.Core.Profiles;
using Siyu.Functions.Api;
using Siyu.Storage.Profiles;

namespace Siyu.Functions.Privacy;

/// <summary>Reading a profile for an API caller: one being erased is already gone as far as callers can tell.</summary>
public static class LiveProfiles
{
    public static async Task<ProfileState?> ReadAsync(ProfileStore profiles, string tenantId, string profileId, CancellationToken ct) =>
        await profiles.ReadAsync(tenantId, profileId, ct) is { } p && p.State.ErasureRequestedAt is null ? p.State : null;

    public static IResult NotFound(string profileId) => Problems.NotFound("profile_not_found", $"no profile '{profileId}' in this tenant");
}
