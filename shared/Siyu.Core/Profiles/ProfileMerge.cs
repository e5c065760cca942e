using Siyu.Core.Privacy;

namespace Siyu.Core.Profiles;

/// <summary>
/// OneID merges: two profiles found to be one person become one. Pure; storage and ordering live in the merger.
/// <para>
/// <b>Survivor.</b> The profile created first survives (at equal times, the smaller id), so the id other systems have
/// known longest keeps working, and every process picks the same survivor from the same pair.
/// </para>
/// <para>
/// <b>Precedence.</b> Each attribute keeps the value of the latest identify by event time, whichever side it came
/// from (the rule ingestion already follows); each consent purpose and channel keeps the decision that occurred
/// last. Counters, order totals, per-day activity and one-time entitlements add up; first and last seen widen; tags
/// are united (the earlier mark kept); the survivor's preferences win over the merged profile's.
/// </para>
/// </summary>
public static class ProfileMerge
{
    /// <summary>The most merged-from ids kept on a profile for lineage. Every merged id still resolves through its own alias row.</summary>
    public const int MaxLineage = 200;

    public static bool IsSurvivor(ProfileState a, ProfileState b) =>
        a.CreatedAt != b.CreatedAt ? a.CreatedAt < b.CreatedAt : string.CompareOrdinal(a.ProfileId, b.ProfileId) < 0;

    public static ProfileState Survivor(ProfileState a, ProfileState b) => IsSurvivor(a, b) ? a : b;

    /// <summary>Whether <paramref name="merged"/> has already been folded into <paramref name="survivor"/>.</summary>
    public static bool HasAbsorbed(ProfileState survivor, string mergedId) => survivor.MergedFrom?.Contains(mergedId) == true;

    /// <summary>
    /// Folds <paramref name="merged"/> (frozen: already marked as merged) into <paramref name="survivor"/>.
    /// Returns false, changing nothing, when it was folded in before: a merge is applied once however often it is retried.
    /// </summary>
    public static bool Absorb(ProfileState survivor, ProfileState merged, DataDefinitions definitions, DateTimeOffset now)
    {
        if (survivor.ProfileId == merged.ProfileId || HasAbsorbed(survivor, merged.ProfileId)) return false;

        survivor.Identities.UnionWith(merged.Identities);
        survivor.FirstSeen = Min(survivor.FirstSeen, merged.FirstSeen);
        survivor.LastSeen = Max(survivor.LastSeen, merged.LastSeen);
        survivor.LastReceived = Max(survivor.LastReceived, merged.LastReceived);
        survivor.EventCount += merged.EventCount;

        foreach (var (name, version) in merged.AttributeVersions)
        {
            if (survivor.AttributeVersions.TryGetValue(name, out var current) && current.CompareTo(version) >= 0) continue;
            survivor.AttributeVersions[name] = version;
            if (merged.Attributes.TryGetValue(name, out var value) && value is not null) survivor.Attributes[name] = value.DeepClone();
            else survivor.Attributes.Remove(name);
        }

        foreach (var (name, counter) in merged.Counters)
        {
            if (!survivor.Counters.TryGetValue(name, out var into))
            {
                survivor.Counters[name] = new EventCounter { Count = counter.Count, First = counter.First, Last = counter.Last };
                continue;
            }
            into.Count += counter.Count;
            if (counter.First < into.First) into.First = counter.First;
            if (counter.Last > into.Last) into.Last = counter.Last;
        }

        survivor.Orders.Count += merged.Orders.Count;
        foreach (var (currency, total) in merged.Orders.Total)
            survivor.Orders.Total[currency] = survivor.Orders.Total.GetValueOrDefault(currency) + total;
        survivor.Orders.First = Min(survivor.Orders.First, merged.Orders.First);
        survivor.Orders.Last = Max(survivor.Orders.Last, merged.Orders.Last);

        survivor.Recent = survivor.Recent.Concat(merged.Recent)
            .DistinctBy(r => r.MessageId)
            .OrderByDescending(r => r.Timestamp).ThenBy(r => r.MessageId, StringComparer.Ordinal)
            .Take(ProfileState.RecentLimit).ToList();

        MergeConsent(survivor, merged);
        foreach (var (tag, mark) in merged.Tags)
            if (!survivor.Tags.TryGetValue(tag, out var held) || mark.At < held.At) survivor.Tags[tag] = mark;
        ActivityWindow.Add(survivor, merged, now);
        survivor.Preferences ??= merged.Preferences;

        var lineage = survivor.MergedFrom ?? [];
        lineage.AddRange((merged.MergedFrom ?? []).Append(merged.ProfileId).Where(id => !lineage.Contains(id)));
        if (lineage.Count > MaxLineage) lineage.RemoveRange(0, lineage.Count - MaxLineage);
        survivor.MergedFrom = lineage;

        // The merged consent may no longer allow what either side held.
        definitions.Enforce(survivor);
        return true;
    }

    private static void MergeConsent(ProfileState survivor, ProfileState merged)
    {
        var into = survivor.Consent;
        foreach (var (key, entry) in merged.Consent.Current)
            if (!into.Current.TryGetValue(key, out var current) || entry.IsNewerThan(current)) into.Current[key] = entry;
        foreach (var (template, count) in merged.Consent.Entitlements)
            into.Entitlements[template] = into.Entitlements.GetValueOrDefault(template) + count;
        into.EntitlementGrants.AddRange(merged.Consent.EntitlementGrants.Where(g => !into.EntitlementGrants.Contains(g)));
        if (into.EntitlementGrants.Count > Consent.ConsentState.MaxEntitlementGrantsKept)
            into.EntitlementGrants.RemoveRange(0, into.EntitlementGrants.Count - Consent.ConsentState.MaxEntitlementGrantsKept);
    }

    /// <summary>What remains of a merged profile: an alias that points at the survivor. Everything else moved there.</summary>
    public static ProfileState Alias(ProfileState merged) => new()
    {
        ProfileId = merged.ProfileId,
        CreatedAt = merged.CreatedAt,
        MergedInto = merged.MergedInto,
        LastReceived = merged.LastReceived,
    };

    private static DateTimeOffset? Min(DateTimeOffset? a, DateTimeOffset? b) => a is null ? b : b is null ? a : a < b ? a : b;
    private static DateTimeOffset? Max(DateTimeOffset? a, DateTimeOffset? b) => a is null ? b : b is null ? a : a > b ? a : b;
}
