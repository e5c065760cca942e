using Siyu.Core.Identities;

namespace Siyu.Core.Tests.Identities;

public class IdentityRulesTests
{
    // ---- phone normalisation ----

    [Theory]
    // mainland numbers, however they are written
    [InlineData("13800138000", "+8613800138000")]
    [InlineData("138 0013 8000", "+8613800138000")]
    [InlineData("138-0013-8000", "+8613800138000")]
    [InlineData("(138) 0013.8000", "+8613800138000")]
    [InlineData("+86 13800138000", "+8613800138000")]
    [InlineData("+86 138 0013 8000", "+8613800138000")]
    [InlineData("+86-138-0013-8000", "+8613800138000")]
    [InlineData("+8613800138000", "+8613800138000")]
    [InlineData("008613800138000", "+8613800138000")]
    [InlineData("0086 138 0013 8000", "+8613800138000")]
    [InlineData("+ 86 138 0013 8000", "+8613800138000")]
    [InlineData("(+86) 138 0013 8000", "+8613800138000")]
    [InlineData("19912345678", "+8619912345678")]
    // 11 digits starting with 1 and no country code are taken as mainland, by design
    [InlineData("14155552671", "+8614155552671")]
    // Hong Kong, US and others need their country code
    [InlineData("+852 9123 4567", "+85291234567")]
    [InlineData("00852 9123 4567", "+85291234567")]
    [InlineData("+852-6123-4567", "+85261234567")]
    [InlineData("+1 (415) 555-2671", "+14155552671")]
    [InlineData("+1 415.555.2671", "+14155552671")]
    [InlineData("001 415 555 2671", "+14155552671")]
    [InlineData("+44 7911 123456", "+447911123456")]
    [InlineData("+886 912 345 678", "+886912345678")]
    // E.164 length limits: 8 to 15 digits after the plus
    [InlineData("+12345678", "+12345678")]
    [InlineData("+123456789012345", "+123456789012345")]
    public void Valid_phones_normalise_to_E164(string raw, string expected)
    {
        Assert.True(IdentityRules.TryNormalisePhone(raw, out var e164));
        Assert.Equal(expected, e164);
    }

    [Theory]
    [InlineData("")]
    [InlineData("   ")]
    [InlineData("---")]
    [InlineData("+")]
    [InlineData("1380013800")]          // 10 digits, no country code
    [InlineData("138001380000")]        // 12 digits, no country code
    [InlineData("23800138000")]         // 11 digits not starting with 1
    [InlineData("8613800138000")]       // country code without + or 00
    [InlineData("85291234567")]         // likewise for Hong Kong
    [InlineData("91234567")]            // a bare Hong Kong number
    [InlineData("+86 10 1234 5678")]    // a Beijing landline, not a mobile
    [InlineData("+86 138 0013 800")]    // mainland, one digit short
    [InlineData("+86 138 0013 80000")]  // mainland, one digit too many
    [InlineData("+86 238 0013 8000")]   // mainland, not starting with 1
    [InlineData("+1234567")]            // 7 digits: too short
    [InlineData("+1234567890123456")]   // 16 digits: too long
    [InlineData("+0123456789")]         // country codes never start with 0
    [InlineData("+0086 13800138000")]   // + and 00 together
    [InlineData("000 13800138000")]     // 00 then a 0
    [InlineData("++86 13800138000")]
    [InlineData("86+13800138000")]      // + after digits
    [InlineData("138+00138000")]
    [InlineData("138/0013/8000")]
    [InlineData("138_0013_8000")]
    [InlineData("138\t0013\t8000")]
    [InlineData("tel:13800138000")]
    [InlineData("+86 138 0013 8000 ext 1")]
    [InlineData("１３８００１３８０００")]   // full-width digits
    [InlineData("١٣٨٠٠١٣٨٠٠٠")]          // Arabic-Indic digits
    [InlineData("138 0013 8000\u200b")] // zero-width space
    [InlineData("+86 138 0013 8000#")]
    public void Invalid_phones_are_refused(string raw)
    {
        Assert.False(IdentityRules.TryNormalisePhone(raw, out var e164));
        Assert.Equal("", e164);
    }

    [Fact]
    public void Every_way_of_writing_one_mainland_number_is_one_identity()
    {
        string[] forms = ["13800138000", "138 0013 8000", "+86 13800138000", "008613800138000", "+86-138-0013-8000", " 138 0013 8000 "];
        var keys = forms.Select(f =>
        {
            Assert.True(IdentityRules.TryCreate(IdentityType.Phone, f, null, out var id, out var error), error);
            return id.Key;
        }).Distinct().ToList();
        Assert.Equal(new[] { "phone:+8613800138000" }, keys);
    }

    // ---- TryCreate ----

    [Theory]
    [InlineData(IdentityType.UserId, "u-1", "userId:u-1")]
    [InlineData(IdentityType.UnionId, "oUnion_123", "unionid:oUnion_123")]
    [InlineData(IdentityType.AnonymousId, "dev:abc/def", "anonymousId:dev:abc/def")]
    [InlineData(IdentityType.Phone, "13800138000", "phone:+8613800138000")]
    [InlineData(IdentityType.UserId, "  padded  ", "userId:padded")]
    [InlineData(IdentityType.UserId, "会员-001", "userId:会员-001")]
    [InlineData(IdentityType.UserId, "emoji😀", "userId:emoji😀")]
    [InlineData(IdentityType.UserId, "a#b?c%d~e\\f", "userId:a#b?c%d~e\\f")]
    public void TryCreate_builds_canonical_keys(IdentityType type, string value, string key)
    {
        Assert.True(IdentityRules.TryCreate(type, value, null, out var identity, out var error), error);
        Assert.Null(error);
        Assert.Equal(type, identity.Type);
        Assert.Equal(key, identity.Key);
        Assert.Equal(key, identity.ToString());
        Assert.Null(identity.AppId);
    }

    [Fact]
    public void Openid_travels_with_its_appId()
    {
        Assert.True(IdentityRules.TryCreate(IdentityType.OpenId, " oAbc123 ", " wx2c2769f8efd9abc2 ", out var identity, out var error), error);
        Assert.Equal("oAbc123", identity.Value);
        Assert.Equal("wx2c2769f8efd9abc2", identity.AppId);
        Assert.Equal("openid:wx2c2769f8efd9abc2:oAbc123", identity.Key);
    }

    [Fact]
    public void The_same_openid_in_two_apps_is_two_identities()
    {
        Assert.True(IdentityRules.TryCreate(IdentityType.OpenId, "oAbc", "wxA", out var a, out _));
        Assert.True(IdentityRules.TryCreate(IdentityType.OpenId, "oAbc", "wxB", out var b, out _));
        Assert.NotEqual(a, b);
        Assert.NotEqual(a.Key, b.Key);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("   ")]
    public void Openid_without_appId_is_refused(string? appId)
    {
        Assert.False(IdentityRules.TryCreate(IdentityType.OpenId, "oAbc", appId, out var identity, out var error));
        Assert.Equal("openid needs the appId it belongs to", error);
        Assert.Equal(default, identity);
    }

    [Theory]
    [InlineData("wx.123")]
    [InlineData("wx:123")]
    [InlineData("wx 123")]
    [InlineData("wx/123")]
    [InlineData("wx中文")]
    public void Openid_with_a_malformed_appId_is_refused(string appId)
    {
        Assert.False(IdentityRules.TryCreate(IdentityType.OpenId, "oAbc", appId, out _, out var error));
        Assert.Contains("is not a valid app id", error);
    }

    [Fact]
    public void AppId_length_limit_is_64()
    {
        Assert.True(IdentityRules.TryCreate(IdentityType.OpenId, "o", new string('a', 64), out _, out _));
        Assert.True(IdentityRules.TryCreate(IdentityType.OpenId, "o", "wx_A-9", out _, out _));
        Assert.False(IdentityRules.TryCreate(IdentityType.OpenId, "o", new string('a', 65), out _, out var error));
        Assert.Contains("is not a valid app id", error);
    }

    [Fact]
    public void AppId_is_dropped_for_other_types()
    {
        Assert.True(IdentityRules.TryCreate(IdentityType.UserId, "u1", "wx123", out var identity, out _));
        Assert.Null(identity.AppId);
        Assert.Equal("userId:u1", identity.Key);
    }

    [Theory]
    [InlineData(IdentityType.UserId, null, "userId is empty")]
    [InlineData(IdentityType.UserId, "", "userId is empty")]
    [InlineData(IdentityType.UnionId, "  \t ", "unionid is empty")]
    [InlineData(IdentityType.AnonymousId, "a\u0000b", "anonymousId contains control characters")]
    [InlineData(IdentityType.UserId, "a\nb", "userId contains control characters")]
    [InlineData(IdentityType.UserId, "a\u007fb", "userId contains control characters")]
    [InlineData(IdentityType.UserId, "a\u0085b", "userId contains control characters")]
    [InlineData(IdentityType.Phone, "138 0013 8000x", "phone '138 0013 8000x' is not a valid mobile number")]
    public void Unacceptable_values_say_why(IdentityType type, string? value, string expected)
    {
        Assert.False(IdentityRules.TryCreate(type, value, null, out var identity, out var error));
        Assert.Equal(expected, error);
        Assert.Equal(default, identity);
    }

    [Fact]
    public void Value_length_limit_is_128_after_trimming()
    {
        Assert.True(IdentityRules.TryCreate(IdentityType.UserId, new string('u', 128), null, out _, out _));
        Assert.True(IdentityRules.TryCreate(IdentityType.UserId, "  " + new string('u', 128) + "  ", null, out _, out _));
        Assert.False(IdentityRules.TryCreate(IdentityType.UserId, new string('u', 129), null, out _, out var error));
        Assert.Equal("userId is longer than 128 characters", error);
    }

    // ---- names, parsing, precedence ----

    [Theory]
    [InlineData("userId", IdentityType.UserId)]
    [InlineData("USERID", IdentityType.UserId)]
    [InlineData("memberId", IdentityType.UserId)]
    [InlineData("memberid", IdentityType.UserId)]
    [InlineData("unionid", IdentityType.UnionId)]
    [InlineData("unionId", IdentityType.UnionId)]
    [InlineData(" phone ", IdentityType.Phone)]
    [InlineData("openid", IdentityType.OpenId)]
    [InlineData("openId", IdentityType.OpenId)]
    [InlineData("anonymousId", IdentityType.AnonymousId)]
    public void TryParseType_accepts_names_and_aliases(string name, IdentityType expected)
    {
        Assert.True(IdentityRules.TryParseType(name, out var type));
        Assert.Equal(expected, type);
    }

    [Theory]
    [InlineData("")]
    [InlineData("email")]
    [InlineData("user_id")]
    [InlineData("appId")]
    [InlineData("open id")]
    public void TryParseType_refuses_unknown_names(string name) =>
        Assert.False(IdentityRules.TryParseType(name, out _));

    [Fact]
    public void Names_round_trip_through_TryParseType()
    {
        foreach (var type in Enum.GetValues<IdentityType>())
        {
            Assert.True(IdentityRules.TryParseType(IdentityRules.Name(type), out var parsed));
            Assert.Equal(type, parsed);
        }
    }

    [Fact]
    public void Name_of_an_undefined_type_throws() =>
        Assert.Throws<ArgumentOutOfRangeException>(() => IdentityRules.Name((IdentityType)42));

    [Fact]
    public void Precedence_runs_from_member_id_to_anonymous_id()
    {
        IdentityType[] strongestFirst = [IdentityType.UserId, IdentityType.UnionId, IdentityType.Phone, IdentityType.OpenId, IdentityType.AnonymousId];
        for (var i = 1; i < strongestFirst.Length; i++)
            Assert.True(IdentityRules.Precedence(strongestFirst[i - 1]) < IdentityRules.Precedence(strongestFirst[i]));
    }

    [Fact]
    public void Primary_is_the_strongest_identity_whatever_the_order()
    {
        var anon = new Identity(IdentityType.AnonymousId, "dev1");
        var openid = new Identity(IdentityType.OpenId, "oAbc", "wx1");
        var phone = new Identity(IdentityType.Phone, "+8613800138000");
        var union = new Identity(IdentityType.UnionId, "u1");
        var user = new Identity(IdentityType.UserId, "m1");
        Identity[] all = [anon, openid, phone, union, user];

        var random = new Random(7);
        for (var i = 0; i < 20; i++)
        {
            var shuffled = all.ToArray();
            random.Shuffle(shuffled);
            Assert.Equal(user, IdentityRules.Primary(shuffled));
        }
        Assert.Equal(phone, IdentityRules.Primary([anon, openid, phone]));
        Assert.Equal(openid, IdentityRules.Primary([anon, openid]));
        Assert.Equal(anon, IdentityRules.Primary([anon]));
    }

    [Fact]
    public void Primary_takes_the_first_of_equally_strong_identities()
    {
        var a = new Identity(IdentityType.Phone, "+8613800138000");
        var b = new Identity(IdentityType.Phone, "+8613900139000");
        Assert.Equal(a, IdentityRules.Primary([new Identity(IdentityType.AnonymousId, "d"), a, b]));
        Assert.Equal(b, IdentityRules.Primary([b, a]));
    }

    [Fact]
    public void Identities_are_values()
    {
        Assert.Equal(new Identity(IdentityType.UserId, "x"), new Identity(IdentityType.UserId, "x"));
        Assert.NotEqual(new Identity(IdentityType.UserId, "x"), new Identity(IdentityType.UnionId, "x"));
        Assert.NotEqual(new Identity(IdentityType.UserId, "x"), new Identity(IdentityType.UserId, "X"));
    }

    [Theory]
    [InlineData(IdentityType.UserId, "m:1", null)]
    [InlineData(IdentityType.Phone, "+8613800138000", null)]
    [InlineData(IdentityType.OpenId, "oAbc:def", "wx123")]
    [InlineData(IdentityType.UnionId, "u1", null)]
    [InlineData(IdentityType.AnonymousId, "d-1", null)]
    public void An_identity_key_reads_back_as_the_same_identity(IdentityType type, string value, string? appId)
    {
        var identity = new Identity(type, value, appId);
        Assert.True(IdentityRules.TryParseKey(identity.Key, out var back));
        Assert.Equal(identity, back);
    }

    [Theory]
    [InlineData("")]
    [InlineData("nokey")]
    [InlineData("email:a@b")]
    [InlineData("openid:missingapp")]
    public void Malformed_identity_keys_do_not_parse(string key) => Assert.False(IdentityRules.TryParseKey(key, out _));
}
