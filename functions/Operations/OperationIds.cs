namespace Siyu.Functions.Operations;

/// <summary>
/// The instance ids of the product's orchestrations: each made from the ids of what it works on, so a repeated start
/// names the same instance, and each begins with its tenant so a tenant's operations are listed by prefix.
/// Ids only: an instance id is kept in the task hub's history.
/// </summary>
public static class OperationIds
{
    public const char Separator = '~';

    public static string TenantPrefix(string tenantId) => tenantId + Separator;

    public static string Campaign(string tenantId, string campaignId) => $"{tenantId}~campaign~{campaignId}";

    public static string Erasure(string tenantId, string profileId) => $"{tenantId}~erasure~{profileId}";

    /// <summary>The two profiles in order, so a merge named either way round is one instance.</summary>
    public static string Merge(string tenantId, string a, string b) =>
        string.CompareOrdinal(a, b) <= 0 ? $"{tenantId}~merge~{a}~{b}" : $"{tenantId}~merge~{b}~{a}";

    public static string BulkTag(string tenantId, string jobId) => $"{tenantId}~bulk-tag~{jobId}";

    public static string Analysis(string tenantId, string jobId) => $"{tenantId}~analysis~{jobId}";

    /// <summary>A sweep per tenant and request: the hourly one by its hour, one asked for by a change by its moment.</summary>
    public static string Sweep(string tenantId, string key) => $"{tenantId}~sweep~{key}";

    public static string Journey(string tenantId, string journeyId, int version) => $"{tenantId}~journey~{journeyId}~v{version}";

    /// <summary>The one journey clock of the deployment (it serves every tenant).</summary>
    public const string JourneyClock = "~journey-clock";

    /// <summary>The tenant an instance belongs to; null for the deployment's own (the journey clock).</summary>
    public static string? TenantOf(string instanceId)
    {
        var at = instanceId.IndexOf(Separator);
        return at > 0 ? instanceId[..at] : null;
    }

    /// <summary>What kind of operation an instance is: campaign, erasure, merge, bulk-tag, analysis, sweep, journey.</summary>
    public static string KindOf(string instanceId)
    {
        var parts = instanceId.Split(Separator);
        return parts.Length > 1 ? parts[1] : instanceId;
    }
}
