using System.Text.Json;
using System.Text.Json.Nodes;
using Siyu.Core.Profiles;
using Siyu.Functions.Merges;
using Siyu.Functions.Privacy;
using Siyu.Storage.Audience;
using Siyu.Storage.Profiles;
using Siyu.Storage.Segments;
using Siyu.Storage.Tables;

namespace Siyu.Functions.Segments;

/// <summary>
/// The segment membership index names people by profile id: export lists the person's segments, erasure removes
/// them from every segment the tenant has, and a merge takes the merged profile out (the survivor's own refresh
/// puts the survivor in).
/// </summary>
public sealed class SegmentMembershipHolder(MembershipStore members, AudienceStore audience) : IPersonalDataHolder, IMergeParticipant
{
    public string Section => "segments";

    public Task<JsonNode?> ExportAsync(PersonalDataSubject s, CancellationToken ct) =>
        Task.FromResult<JsonNode?>(JsonSerializer.SerializeToNode(s.State.Segments, EntityJson.Options));

    public async Task EraseAsync(PersonalDataSubject s, CancellationToken ct)
    {
        var defined = (await audience.ReadAllAsync(s.TenantId, ct)).Segments.Select(x => x.Id);
        await members.RemoveAsync(s.TenantId, s.ProfileId, defined.Union(s.State.Segments.Keys).ToList(), ct);
    }

    public Task MoveAsync(string tenantId, ProfileState merged, ProfileState survivor, CancellationToken ct) =>
        members.RemoveAsync(tenantId, merged.ProfileId, merged.Segments.Keys.ToList(), ct);
}

/// <summary>The person's tag history (who or which rule tagged them, when). Its rows go with the profile's other rows on erasure.</summary>
public sealed class TagHistoryHolder(ProfileStore profiles) : IPersonalDataHolder
{
    public string Section => "tagHistory";

    public async Task<JsonNode?> ExportAsync(PersonalDataSubject s, CancellationToken ct)
    {
        var history = await profiles.ReadTagHistoryAsync(s.TenantId, s.ProfileId, int.MaxValue, ct);
        return JsonSerializer.SerializeToNode(s.MaySeeSensitive ? history : history.Where(h => !s.Definitions.IsSensitiveTag(h.Tag)).ToList(), EntityJson.Options);
    }

    public Task EraseAsync(PersonalDataSubject s, CancellationToken ct) => Task.CompletedTask;
}
