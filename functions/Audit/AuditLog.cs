using Siyu.Functions.Tenants;
using Siyu.Storage.Audit;

namespace Siyu.Functions.Audit;

/// <summary>
/// Records who read or changed personal data. Written before the response goes out: if the record cannot be
/// written, the request fails (503) rather than leave an unaudited read or change.
/// </summary>
public sealed class AuditLog(AuditStore store, TimeProvider clock)
{
    public static class Actions
    {
        public const string ProfileRead = "profile.read";
        public const string EventsRead = "profile.events.read";
        public const string Export = "profile.export";
        public const string Erase = "profile.erase";
        public const string ConsentRecorded = "consent.record";
        public const string ConsentRead = "consent.read";
        public const string PreferencesRead = "preferences.read";
        public const string PreferencesChanged = "preferences.write";
        public const string DefinitionsChanged = "definitions.write";
        public const string TagsChanged = "profile.tags.write";
        public const string Merge = "profile.merge";
        public const string IdentityRepair = "identities.repair";
        public const string SegmentsChanged = "segments.write";
        public const string BulkTag = "tags.bulk";
        public const string SegmentMembersRead = "segment.members.read";
        public const string JourneysChanged = "journeys.write";
        public const string JourneyEntered = "journey.enter";
        public const string ProfileJourneysRead = "profile.journeys.read";
        public const string CampaignStarted = "campaign.start";
        public const string CampaignCancelled = "campaign.cancel";
        public const string OperationRetried = "operation.retry";
        public const string SendingChanged = "sending.write";
        public const string TemplatesChanged = "templates.write";
        public const string ChannelsChanged = "channels.write";
        public const string ProfileDeliveriesRead = "profile.deliveries.read";
    }

    public Task RecordAsync(HttpContext http, string action, string? profileId, string? detail = null) =>
        RecordAsync(http, action, [(profileId, detail)]);

    /// <summary>One entry per profile touched, in one write where they fit.</summary>
    public Task RecordAsync(HttpContext http, string action, IEnumerable<(string? ProfileId, string? Detail)> touched)
    {
        var caller = http.Caller();
        var at = clock.GetUtcNow();
        var entries = touched.Select(t => new AuditEntry(at, action, caller.KeyId, caller.Role.ToString().ToLowerInvariant(),
            http.TraceIdentifier, t.ProfileId, t.Detail)).ToList();
        return entries.Count == 0 ? Task.CompletedTask : store.AppendAsync(caller.TenantId, entries, http.RequestAborted);
    }
}
