using System.Text.Json;
using Siyu.Core.Tenants;
using Siyu.Storage.Tenants;

namespace Siyu.Functions.Hosting;

/// <summary>
/// The demo tenant's API keys, one per role (local run only). Only a hash of a key is stored, so a key can be shown
/// again only if it is kept somewhere: in <c>Demo:KeysFile</c> (the local run uses <c>.local/demo-keys.json</c>,
/// readable by its owner only). A kept key that still verifies is used again, so a key pasted into a client keeps
/// working across restarts; a new one is minted only when the file has none for the role or its key no longer
/// verifies (revoked, or the storage was wiped), and the older demo keys of that role are revoked then.
/// </summary>
public sealed class DemoKeys(TenantStore tenants, TimeProvider clock, ILogger<DemoKeys> log)
{
    public sealed record Result(IReadOnlyDictionary<Role, string> Keys, IReadOnlyList<Role> Minted);

    public static string KeyName(Role role) => $"demo-{role.Name()}";

    public async Task<Result> EnsureAsync(string tenantId, string? file, CancellationToken ct)
    {
        var started = clock.GetUtcNow();
        var kept = file is null ? new Dictionary<string, string>() : Read(file);
        var existing = await tenants.ListKeysAsync(tenantId, ct);
        var keys = new SortedDictionary<Role, string>();
        var minted = new List<Role>();
        foreach (var role in Enum.GetValues<Role>())
        {
            var keyId = kept.TryGetValue(role.Name(), out var key) ? await VerifiedKeyIdAsync(tenantId, role, key, ct) : null;
            if (keyId is null)
            {
                (var record, key) = await tenants.IssueKeyAsync(tenantId, role, KeyName(role), ct);
                keyId = record.KeyId;
                minted.Add(role);
            }
            keys[role] = key!;
            // One demo key per role stays active. Keys made after this start began are another instance's fresh ones: left alone.
            foreach (var old in existing.Where(k => k.IsActive && k.Name == KeyName(role) && k.KeyId != keyId && k.CreatedAt < started))
                await tenants.RevokeKeyAsync(tenantId, old.KeyId, ct);
        }
        if (file is not null && (minted.Count > 0 || !ReadableByOwnerOnly(file))) Write(file, tenantId, keys);
        return new Result(keys, minted);
    }

    /// <summary>The key's id when it is an active key of this tenant and role whose secret matches; else null.</summary>
    private async Task<string?> VerifiedKeyIdAsync(string tenantId, Role role, string key, CancellationToken ct)
    {
        if (!ApiKeyFormat.TryParse(key, out var parsed) || parsed.TenantId != tenantId) return null;
        var record = await tenants.GetKeyAsync(tenantId, parsed.KeyId, ct);
        return record is { IsActive: true } && record.Role == role && ApiKeyFormat.Matches(parsed.Secret, record.SecretHash) ? record.KeyId : null;
    }

    private Dictionary<string, string> Read(string file)
    {
        if (!File.Exists(file)) return new();
        try
        {
            using var doc = JsonDocument.Parse(File.ReadAllText(file));
            return doc.RootElement.TryGetProperty("keys", out var keys) && keys.ValueKind == JsonValueKind.Object
                ? keys.EnumerateObject().Where(p => p.Value.ValueKind == JsonValueKind.String).ToDictionary(p => p.Name, p => p.Value.GetString()!)
                : new();
        }
        catch (Exception e) when (e is JsonException or IOException or UnauthorizedAccessException)
        {
            log.LogWarning("Demo keys file {File} cannot be read ({Error}); new demo keys are made", file, e.Message);
            return new();
        }
    }

    /// <summary>Writes the keys to a new file readable by its owner only, then moves it over the old one.</summary>
    private static void Write(string file, string tenantId, IReadOnlyDictionary<Role, string> keys)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(file))!);
        var temp = file + ".tmp";
        var options = new FileStreamOptions { Mode = FileMode.Create, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows()) options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        using (var stream = new FileStream(temp, options))
        {
            JsonSerializer.Serialize(stream, new Dictionary<string, object>
            {
                ["tenant"] = tenantId,
                ["keys"] = keys.ToDictionary(k => k.Key.Name(), k => k.Value),
            }, new JsonSerializerOptions { WriteIndented = true });
        }
        // A file left over from before may be wider open: the mode above applies to new files only.
        if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(temp, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        File.Move(temp, file, overwrite: true);
    }

    private static bool ReadableByOwnerOnly(string file) =>
        OperatingSystem.IsWindows() || (File.Exists(file) && (File.GetUnixFileMode(file) & ~(UnixFileMode.UserRead | UnixFileMode.UserWrite)) == 0);
}
