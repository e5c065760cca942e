using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;
using Siyu.Core.Storage;

namespace Siyu.Core.Tenants;

/// <summary>What an API key may do. Each key has exactly one role in exactly one tenant.</summary>
public enum Role
{
    /// <summary>Posts events and consents: apps, stores, e-commerce systems. Cannot read personal data.</summary>
    Ingest,
    /// <summary>Reads profiles and results, runs journeys and campaigns.</summary>
    Marketer,
    /// <summary>Everything in its tenant, including WeChat apps and keys.</summary>
    Admin,
}

public static partial class TenantRules
{
    /// <summary>Tenant ids are short slugs: they appear in URLs, partition keys and API keys.</summary>
    public static bool IsValidTenantId(string? id) => id is not null && TenantId().IsMatch(id);

    [GeneratedRegex(@"^[a-z0-9][a-z0-9-]{1,30}[a-z0-9]\z")]
    private static partial Regex TenantId();

    /// <summary>Exact role names only: no numbers, no comma-separated lists.</summary>
    public static bool TryParseRole(string? text, out Role role)
    {
        foreach (var candidate in Enum.GetValues<Role>())
        {
            if (string.Equals(text?.Trim(), candidate.Name(), StringComparison.OrdinalIgnoreCase)) { role = candidate; return true; }
        }
        role = default;
        return false;
    }

    public static string Name(this Role role) => role.ToString().ToLowerInvariant();
}

/// <summary>
/// API keys look like <c>sk_{tenant}_{keyId}_{secret}</c>. The tenant and key id locate the stored record with one
/// point read; only a SHA-256 of the secret is stored (the secret is 160 random bits, so a slow hash adds nothing).
/// </summary>
public static class ApiKeyFormat
{
    public readonly record struct Parsed(string TenantId, string KeyId, string Secret);

    public static (string KeyId, string Secret, string Key) New(string tenantId)
    {
        var keyId = Ids.Random(12);
        var secret = Ids.Random(32);
        return (keyId, secret, $"sk_{tenantId}_{keyId}_{secret}");
    }

    public static bool TryParse(string? key, out Parsed parsed)
    {
        parsed = default;
        if (key is null || !key.StartsWith("sk_", StringComparison.Ordinal)) return false;
        var parts = key.Split('_');
        if (parts.Length != 4 || !TenantRules.IsValidTenantId(parts[1]) || parts[2].Length != 12 || parts[3].Length != 32) return false;
        if (!Ids.IsIdText(parts[2]) || !Ids.IsIdText(parts[3])) return false;
        parsed = new Parsed(parts[1], parts[2], parts[3]);
        return true;
    }

    public static string Hash(string secret) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(secret)));

    public static bool Matches(string secret, string storedHash) =>
        CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(Hash(secret)), Encoding.ASCII.GetBytes(storedHash));
}
