using System.Security.Cryptography;

namespace Siyu.Core.Storage;

/// <summary>Identifiers we mint, and the stable hashing that spreads keys over partitions and queues.</summary>
public static class Ids
{
    // Lowercase Crockford base32: no i, l, o, u, so ids read back unambiguously.
    private const string Alphabet = "0123456789abcdefghjkmnpqrstvwxyz";

    /// <summary>Number of table partitions a tenant's profiles are spread over (the first character of a profile id).</summary>
    public const int ProfileBuckets = 32;

    /// <summary>A new random profile id: 20 base32 characters (100 bits). Its first character is its bucket.</summary>
    public const int ProfileIdLength = 20;

    public static string NewProfileId() => Random(ProfileIdLength);

    public static string Random(int length)
    {
        Span<byte> bytes = stackalloc byte[length];
        RandomNumberGenerator.Fill(bytes);
        var chars = new char[length];
        for (var i = 0; i < length; i++) chars[i] = Alphabet[bytes[i] & 31];
        return new string(chars);
    }

    public static bool IsProfileId(string? id) => id is { Length: ProfileIdLength } && IsIdText(id);

    /// <summary>Only characters of the id alphabet (so it is safe in any table key).</summary>
    public static bool IsIdText(string text) => text.All(c => Alphabet.Contains(c));

    /// <summary>The table partition bucket of a profile: where its profile row and its events live.</summary>
    public static int ProfileBucket(string profileId) => Alphabet.IndexOf(profileId[0]);

    /// <summary>A stable (process-independent) hash of text to [0, buckets). string.GetHashCode is randomised per process.</summary>
    public static int Bucket(string text, int buckets)
    {
        // FNV-1a, 32-bit: cheap, stable, well spread for short keys.
        uint hash = 2166136261;
        foreach (var c in text)
        {
            hash ^= c;
            hash *= 16777619;
        }
        return (int)(hash % (uint)buckets);
    }
}
