using Azure.Core;
using Azure.Identity;

namespace Siyu.Storage.Account;

/// <summary>
/// Where storage lives and how we authenticate to it: either a connection string (Shared Key: Azurite, or a real
/// account's key) or service URIs with a token credential (managed identity in Azure).
/// </summary>
public sealed class StorageAccount
{
    public required Uri TableEndpoint { get; init; }
    public required Uri QueueEndpoint { get; init; }
    /// <summary>Set for Shared Key auth.</summary>
    public string? AccountName { get; init; }
    /// <summary>Set for Shared Key auth: the base64 account key.</summary>
    public string? AccountKey { get; init; }
    /// <summary>Set for Shared Key auth: the connection string this account was parsed from (the queue client takes it as is).</summary>
    public string? ConnectionString { get; init; }
    /// <summary>Set for Entra ID (managed identity) auth.</summary>
    public TokenCredential? Credential { get; init; }

    public const string DevelopmentAccountName = "devstoreaccount1";
    /// <summary>Azurite's published, well-known development key (not a secret).</summary>
    private const string DevelopmentAccountKey = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

    /// <summary>From configuration: a connection string, or table/queue service URIs for managed identity.</summary>
    public static StorageAccount FromSettings(string? connectionString, string? tableServiceUri, string? queueServiceUri, string? managedIdentityClientId)
    {
        if (!string.IsNullOrWhiteSpace(connectionString)) return Parse(connectionString);
        if (string.IsNullOrWhiteSpace(tableServiceUri) || string.IsNullOrWhiteSpace(queueServiceUri))
            throw new InvalidOperationException(
                "Storage is not configured: set Storage:ConnectionString, or Storage:TableServiceUri and Storage:QueueServiceUri (managed identity).");
        var options = new DefaultAzureCredentialOptions();
        if (!string.IsNullOrWhiteSpace(managedIdentityClientId)) options.ManagedIdentityClientId = managedIdentityClientId;
        return new StorageAccount
        {
            TableEndpoint = new Uri(tableServiceUri),
            QueueEndpoint = new Uri(queueServiceUri),
            Credential = new DefaultAzureCredential(options),
        };
    }

    /// <summary>Parses an Azure Storage connection string, including <c>UseDevelopmentStorage=true</c>.</summary>
    public static StorageAccount Parse(string connectionString)
    {
        var parts = connectionString.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(p => p.Split('=', 2))
            .Where(p => p.Length == 2)
            .ToDictionary(p => p[0], p => p[1], StringComparer.OrdinalIgnoreCase);

        if (parts.TryGetValue("UseDevelopmentStorage", out var dev) && dev.Equals("true", StringComparison.OrdinalIgnoreCase))
        {
            return new StorageAccount
            {
                AccountName = DevelopmentAccountName,
                AccountKey = DevelopmentAccountKey,
                ConnectionString = connectionString,
                TableEndpoint = new Uri($"http://127.0.0.1:10002/{DevelopmentAccountName}"),
                QueueEndpoint = new Uri($"http://127.0.0.1:10001/{DevelopmentAccountName}"),
            };
        }

        if (!parts.TryGetValue("AccountName", out var name) || !parts.TryGetValue("AccountKey", out var key))
            throw new FormatException("The storage connection string needs AccountName and AccountKey (or UseDevelopmentStorage=true).");
        var protocol = parts.GetValueOrDefault("DefaultEndpointsProtocol", "https");
        var suffix = parts.GetValueOrDefault("EndpointSuffix", "core.windows.net");
        return new StorageAccount
        {
            AccountName = name,
            AccountKey = key,
            ConnectionString = connectionString,
            TableEndpoint = new Uri(parts.GetValueOrDefault("TableEndpoint") ?? $"{protocol}://{name}.table.{suffix}"),
            QueueEndpoint = new Uri(parts.GetValueOrDefault("QueueEndpoint") ?? $"{protocol}://{name}.queue.{suffix}"),
        };
    }
}
