using Siyu.Core.Tenants;

namespace Siyu.Core.Tests.Tenants;

public class TenancyTests
{
    private const string Base32 = "0123456789abcdefghjkmnpqrstvwxyz";

    // ---- tenant ids ----

    [Theory]
    [InlineData("abc")]
    [InlineData("a-b")]
    [InlineData("a1b")]
    [InlineData("123")]
    [InlineData("acme")]
    [InlineData("acme-china-2024")]
    [InlineData("a--b")]
    [InlineData("abcdefghijklmnopqrstuvwxyz012345")] // 32
    public void Valid_tenant_ids(string id) => Assert.True(TenantRules.IsValidTenantId(id));

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("a")]
    [InlineData("ab")]                                // too short
    [InlineData("abcdefghijklmnopqrstuvwxyz0123456")] // 33: too long
    [InlineData("-abc")]
    [InlineData("abc-")]
    [InlineData("-")]
    [InlineData("---")]
    [InlineData("Acme")]
    [InlineData("ACME")]
    [InlineData("a_b")]
    [InlineData("a.b")]
    [InlineData("a b")]
    [InlineData(" abc")]
    [InlineData("abc ")]
    [InlineData("a/b")]
    [InlineData("a~b")]
    [InlineData("品牌一")]
    [InlineData("ａｂｃ")]                            // full-width
    [InlineData("\nabc")]
    [InlineData("ab\nc")]
    public void Invalid_tenant_ids(string? id) => Assert.False(TenantRules.IsValidTenantId(id));

    [Fact]
    public void A_trailing_newline_is_not_part_of_a_tenant_id()
    {
        Assert.False(TenantRules.IsValidTenantId("abc\n"));
        Assert.False(ApiKeyFormat.TryParse($"sk_acme\n_{new string('k', 12)}_{new string('s', 32)}", out _));
    }

    // ---- roles ----

    [Theory]
    [InlineData("ingest", Role.Ingest)]
    [InlineData("Ingest", Role.Ingest)]
    [InlineData("marketer", Role.Marketer)]
    [InlineData("MARKETER", Role.Marketer)]
    [InlineData("admin", Role.Admin)]
    [InlineData("Admin", Role.Admin)]
    public void Roles_parse_by_name_ignoring_case(string text, Role expected)
    {
        Assert.True(TenantRules.TryParseRole(text, out var role));
        Assert.Equal(expected, role);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("owner")]
    [InlineData("administrator")]
    [InlineData("0")]
    [InlineData("1")]
    [InlineData("2")]
    [InlineData("3")]
    [InlineData("-1")]
    [InlineData("+2")]
    [InlineData(" 2 ")]
    public void Other_role_texts_are_refused(string? text) => Assert.False(TenantRules.TryParseRole(text, out _));

    [Fact]
    public void A_list_of_roles_is_not_a_role()
    {
        Assert.False(TenantRules.TryParseRole("ingest,admin", out _));
        Assert.False(TenantRules.TryParseRole("ingest, marketer", out _));
        Assert.False(TenantRules.TryParseRole("admin,admin", out _));
    }

    [Fact]
    public void Role_names_are_lowercase_and_parse_back()
    {
        Assert.Equal("ingest", Role.Ingest.Name());
        Assert.Equal("marketer", Role.Marketer.Name());
        Assert.Equal("admin", Role.Admin.Name());
        foreach (var role in Enum.GetValues<Role>())
        {
            Assert.True(TenantRules.TryParseRole(role.Name(), out var parsed));
            Assert.Equal(role, parsed);
        }
    }

    // ---- API keys ----

    [Fact]
    public void New_keys_parse_back_to_their_parts()
    {
        var (keyId, secret, key) = ApiKeyFormat.New("acme-cn");
        Assert.Equal($"sk_acme-cn_{keyId}_{secret}", key);
        Assert.Equal(12, keyId.Length);
        Assert.Equal(32, secret.Length);
        Assert.All(keyId + secret, c => Assert.Contains(c, Base32));

        Assert.True(ApiKeyFormat.TryParse(key, out var parsed));
        Assert.Equal(new ApiKeyFormat.Parsed("acme-cn", keyId, secret), parsed);
    }

    [Fact]
    public void New_keys_are_different_every_time()
    {
        var keys = Enumerable.Range(0, 1000).Select(_ => ApiKeyFormat.New("acme")).ToList();
        Assert.Equal(1000, keys.Select(k => k.Key).Distinct().Count());
        Assert.Equal(1000, keys.Select(k => k.KeyId).Distinct().Count());
    }

    public static TheoryData<string?> MalformedKeys()
    {
        var keyId = new string('k', 12);
        var secret = new string('s', 32);
        return new TheoryData<string?>
        {
            null,
            "",
            "sk_",
            "sk___",
            $"pk_acme_{keyId}_{secret}",
            $"SK_acme_{keyId}_{secret}",
            $"acme_{keyId}_{secret}",
            $" sk_acme_{keyId}_{secret}",
            $"sk_acme_{keyId}_{secret} ",
            $"sk_acme_{keyId}{secret}",
            $"sk_acme_{keyId}_{secret}_",
            $"sk_acme_{keyId}_{secret}_extra",
            $"sk_acme_cn_{keyId}_{secret}",        // '_' is not allowed in a tenant id
            $"sk_Acme_{keyId}_{secret}",
            $"sk_ab_{keyId}_{secret}",
            $"sk_-acme_{keyId}_{secret}",
            $"sk__{keyId}_{secret}",
            $"sk_acme_{new string('k', 11)}_{secret}",
            $"sk_acme_{new string('k', 13)}_{secret}",
            $"sk_acme_{keyId}_{new string('s', 31)}",
            $"sk_acme_{keyId}_{new string('s', 33)}",
            $"sk_acme__{secret}",
            $"sk_acme_{keyId}_",
            $"Bearer sk_acme_{keyId}_{secret}",
        };
    }

    [Theory]
    [MemberData(nameof(MalformedKeys))]
    public void Malformed_keys_do_not_parse(string? key)
    {
        Assert.False(ApiKeyFormat.TryParse(key, out var parsed));
        Assert.Equal(default, parsed);
    }

    [Fact]
    public void A_well_formed_key_parses_even_if_no_such_key_exists()
    {
        var key = $"sk_acme_{new string('k', 12)}_{new string('s', 32)}";
        Assert.True(ApiKeyFormat.TryParse(key, out var parsed));
        Assert.Equal("acme", parsed.TenantId);
        Assert.Equal(new string('k', 12), parsed.KeyId);
        Assert.Equal(new string('s', 32), parsed.Secret);
    }

    [Fact]
    public void Hash_is_lowercase_hex_sha256()
    {
        // FIPS 180-2 test vector
        Assert.Equal("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", ApiKeyFormat.Hash("abc"));
        Assert.Equal("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", ApiKeyFormat.Hash(""));
        var (_, secret, _) = ApiKeyFormat.New("acme");
        var hash = ApiKeyFormat.Hash(secret);
        Assert.Equal(64, hash.Length);
        Assert.All(hash, c => Assert.Contains(c, "0123456789abcdef"));
        Assert.Equal(hash, ApiKeyFormat.Hash(secret));
        Assert.DoesNotContain(secret, hash);
    }

    [Fact]
    public void Matches_the_secret_it_was_hashed_from()
    {
        var (_, secret, key) = ApiKeyFormat.New("acme");
        var stored = ApiKeyFormat.Hash(secret);
        Assert.True(ApiKeyFormat.TryParse(key, out var parsed));
        Assert.True(ApiKeyFormat.Matches(parsed.Secret, stored));
    }

    [Fact]
    public void Does_not_match_anything_else()
    {
        var (_, secret, _) = ApiKeyFormat.New("acme");
        var (_, other, _) = ApiKeyFormat.New("acme");
        var stored = ApiKeyFormat.Hash(secret);

        Assert.False(ApiKeyFormat.Matches(other, stored));
        Assert.False(ApiKeyFormat.Matches(secret[..^1], stored));
        Assert.False(ApiKeyFormat.Matches(secret + "0", stored));
        Assert.False(ApiKeyFormat.Matches(secret.ToUpperInvariant(), stored));
        Assert.False(ApiKeyFormat.Matches("", stored));
        // the stored hash must be the exact lowercase hex
        Assert.False(ApiKeyFormat.Matches(secret, stored.ToUpperInvariant()));
        Assert.False(ApiKeyFormat.Matches(secret, stored[..^1]));
        Assert.False(ApiKeyFormat.Matches(secret, stored + "0"));
        Assert.False(ApiKeyFormat.Matches(secret, ""));
        Assert.False(ApiKeyFormat.Matches(secret, secret)); // a plaintext secret stored by mistake never matches
    }

    [Fact]
    public void A_single_changed_character_of_the_secret_never_matches()
    {
        var (_, secret, _) = ApiKeyFormat.New("acme");
        var stored = ApiKeyFormat.Hash(secret);
        for (var i = 0; i < secret.Length; i++)
            foreach (var c in Base32.Where(c => c != secret[i]).Take(3))
                Assert.False(ApiKeyFormat.Matches(secret[..i] + c + secret[(i + 1)..], stored));
    }

    [Theory]
    [InlineData("k/kkkkkkkkkk")]
    [InlineData("k#kkkkkkkkkk")]
    [InlineData("KKKKKKKKKKKK")]
    public void A_key_id_outside_the_id_alphabet_is_not_a_key(string keyId) =>
        Assert.False(ApiKeyFormat.TryParse($"sk_acme_{keyId}_{new string('s', 32)}", out _));
}
