using Siyu.Core.Storage;

namespace Siyu.Core.Tests.Storage;

public class IdsTests
{
    private const string Alphabet = "0123456789abcdefghjkmnpqrstvwxyz";

    [Fact]
    public void The_alphabet_is_lowercase_crockford_base32()
    {
        Assert.Equal(32, Alphabet.Length);
        Assert.Equal(32, Alphabet.Distinct().Count());
        Assert.DoesNotContain('i', Alphabet);
        Assert.DoesNotContain('l', Alphabet);
        Assert.DoesNotContain('o', Alphabet);
        Assert.DoesNotContain('u', Alphabet);
        Assert.Equal(Ids.ProfileBuckets, Alphabet.Length);
    }

    [Fact]
    public void Profile_ids_are_20_base32_characters()
    {
        for (var i = 0; i < 1000; i++)
        {
            var id = Ids.NewProfileId();
            Assert.Equal(20, id.Length);
            Assert.All(id, c => Assert.Contains(c, Alphabet));
            Assert.True(Ids.IsProfileId(id));
        }
    }

    [Fact]
    public void Profile_ids_do_not_repeat()
    {
        var ids = Enumerable.Range(0, 10_000).Select(_ => Ids.NewProfileId()).ToList();
        Assert.Equal(ids.Count, ids.Distinct(StringComparer.Ordinal).Count());
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(12)]
    [InlineData(32)]
    [InlineData(100)]
    public void Random_has_the_asked_length_and_alphabet(int length)
    {
        var text = Ids.Random(length);
        Assert.Equal(length, text.Length);
        Assert.All(text, c => Assert.Contains(c, Alphabet));
    }

    [Fact]
    public void Random_uses_the_whole_alphabet_roughly_evenly()
    {
        var counts = new Dictionary<char, int>();
        const int samples = 64_000;
        foreach (var c in Ids.Random(samples)) counts[c] = counts.GetValueOrDefault(c) + 1;
        Assert.Equal(32, counts.Count);
        // expected 2000 each; a fair source lands within +-15% with overwhelming probability (sd ~ 44)
        Assert.All(counts.Values, n => Assert.InRange(n, 1700, 2300));
    }

    [Theory]
    [InlineData("0123456789abcdefghjk")]
    [InlineData("zzzzzzzzzzzzzzzzzzzz")]
    [InlineData("00000000000000000000")]
    public void IsProfileId_accepts_well_formed_ids(string id) => Assert.True(Ids.IsProfileId(id));

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("0123456789abcdefghj")]    // 19
    [InlineData("0123456789abcdefghjkm")]  // 21
    [InlineData("0123456789ABCDEFGHJK")]   // uppercase
    [InlineData("0123456789abcdefghji")]   // i is not in the alphabet
    [InlineData("0123456789abcdefghjl")]
    [InlineData("0123456789abcdefghjo")]
    [InlineData("0123456789abcdefghju")]
    [InlineData("0123456789abcdefghj/")]
    [InlineData("0123456789abcdefghj ")]
    [InlineData("0123456789abcdefghj~")]
    public void IsProfileId_refuses_anything_else(string? id) => Assert.False(Ids.IsProfileId(id));

    [Fact]
    public void The_bucket_of_a_profile_is_the_position_of_its_first_character()
    {
        for (var i = 0; i < Alphabet.Length; i++)
            Assert.Equal(i, Ids.ProfileBucket(Alphabet[i] + "0000000000000000000"));
    }

    [Fact]
    public void Profile_buckets_are_in_range_and_all_used()
    {
        var seen = new HashSet<int>();
        for (var i = 0; i < 5000; i++)
        {
            var bucket = Ids.ProfileBucket(Ids.NewProfileId());
            Assert.InRange(bucket, 0, Ids.ProfileBuckets - 1);
            seen.Add(bucket);
        }
        Assert.Equal(Ids.ProfileBuckets, seen.Count);
    }

    // ---- stable hash ----

    [Theory]
    // published FNV-1a 32-bit test vectors: "" = 0x811c9dc5, "a" = 0xe40c292c, "foobar" = 0xbf9cf968
    [InlineData("", 0x811c9dc5u)]
    [InlineData("a", 0xe40c292cu)]
    [InlineData("foobar", 0xbf9cf968u)]
    // pinned values (the hash runs over UTF-16 code units, so non-ASCII differs from byte-wise FNV)
    [InlineData("tenant-a", 0x93332d7bu)]
    [InlineData("中文", 0x5132b5adu)]
    [InlineData("😀", 0xcb31c4b8u)]
    public void Bucket_is_FNV_1a_modulo_the_bucket_count(string text, uint fnv)
    {
        foreach (var buckets in new[] { 1, 2, 16, 32, 97, 1000, 65_536, int.MaxValue })
            Assert.Equal((int)(fnv % (uint)buckets), Ids.Bucket(text, buckets));
    }

    [Fact]
    public void Bucket_known_values_do_not_change_between_runs()
    {
        // string.GetHashCode would differ per process; these must not
        Assert.Equal(5, Ids.Bucket("", 32));
        Assert.Equal(12, Ids.Bucket("a", 32));
        Assert.Equal(8, Ids.Bucket("foobar", 32));
        Assert.Equal(720, Ids.Bucket("foobar", 1000));
        Assert.Equal(27, Ids.Bucket("tenant-a", 32));
        Assert.Equal(13, Ids.Bucket("中文", 32));
    }

    [Fact]
    public void Bucket_is_in_range_and_spreads_keys()
    {
        const int buckets = 16;
        var counts = new int[buckets];
        for (var i = 0; i < 16_000; i++)
        {
            var b = Ids.Bucket($"userId:member-{i}", buckets);
            Assert.InRange(b, 0, buckets - 1);
            counts[b]++;
        }
        // 1000 expected per bucket
        Assert.All(counts, n => Assert.InRange(n, 800, 1200));
    }

    [Fact]
    public void Bucket_is_deterministic_and_case_sensitive()
    {
        Assert.Equal(Ids.Bucket("openid:wx1:oAbc", 1000), Ids.Bucket("openid:wx1:oAbc", 1000));
        Assert.NotEqual(Ids.Bucket("openid:wx1:oAbc", int.MaxValue), Ids.Bucket("openid:wx1:oabc", int.MaxValue));
    }

    [Fact]
    public void One_bucket_means_bucket_zero() => Assert.Equal(0, Ids.Bucket("anything", 1));
}
