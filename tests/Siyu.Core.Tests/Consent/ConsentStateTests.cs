using Siyu.Core.Consent;
using static Siyu.Core.Tests.Consent.ConsentKit;

namespace Siyu.Core.Tests.Consent;

public class ConsentStateTests
{
    private const string Mp = ConsentVocabulary.MiniProgramSubscribe;

    private static IEnumerable<IReadOnlyList<T>> Permutations<T>(IReadOnlyList<T> items)
    {
        if (items.Count <= 1) { yield return items; yield break; }
        for (var i = 0; i < items.Count; i++)
        {
            var rest = items.Where((_, j) => j != i).ToList();
            foreach (var tail in Permutations(rest)) yield return [items[i], .. tail];
        }
    }

    private static string Describe(ConsentState s) =>
        string.Join(";", s.Current.OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => $"{kv.Key}={kv.Value}"))
        + "|" + string.Join(";", s.Entitlements.OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => $"{kv.Key}={kv.Value}"))
        + "|" + string.Join(";", s.EntitlementGrants.Order(StringComparer.Ordinal));

    [Fact]
    public void KeyOf_is_purpose_channel_and_optional_template()
    {
        Assert.Equal("marketing/sms", ConsentState.KeyOf("marketing", "sms", null));
        Assert.Equal("marketing/miniprogram_subscribe/T1", ConsentState.KeyOf("marketing", Mp, "T1"));
        Assert.Equal("marketing/sms", Decision("x", "marketing", "sms", ConsentStatus.Granted, T0).Key);
        Assert.Equal("analytics/all/tpl", Decision("x", "analytics", "all", ConsentStatus.Granted, T0, "tpl").Key);
    }

    [Fact]
    public void Every_arrival_order_gives_the_same_state()
    {
        var decisions = new[]
        {
            Decision("a", "marketing", "sms", ConsentStatus.Granted, T0),
            Decision("b", "marketing", "sms", ConsentStatus.Withdrawn, T0.AddHours(1)),
            Decision("c", "marketing", "sms", ConsentStatus.Granted, T0.AddHours(2)),
            Decision("e", "marketing", "all", ConsentStatus.Withdrawn, T0.AddHours(1)),
            Decision("p1", "marketing", Mp, ConsentStatus.Granted, T0, "T1", ConsentSources.SubscribePopup),
            Decision("p2", "marketing", Mp, ConsentStatus.Denied, T0.AddHours(1), "T1", ConsentSources.SubscribePopup),
            Decision("p3", "marketing", Mp, ConsentStatus.Granted, T0.AddHours(2), "T1", ConsentSources.SubscribePopup),
        };

        string? first = null;
        var count = 0;
        foreach (var order in Permutations(decisions))
        {
            var s = State([.. order]);
            var d = Describe(s);
            first ??= d;
            Assert.Equal(first, d);
            count++;
        }
        Assert.Equal(5040, count);

        var state = State(decisions);
        Assert.Equal(new ConsentEntry(ConsentStatus.Granted, T0.AddHours(2), "c", "api"), state.Current["marketing/sms"]);
        Assert.Equal(new ConsentEntry(ConsentStatus.Withdrawn, T0.AddHours(1), "e", "api"), state.Current["marketing/all"]);
        Assert.Equal(new ConsentEntry(ConsentStatus.Granted, T0.AddHours(2), "p3", ConsentSources.SubscribePopup), state.Current["marketing/miniprogram_subscribe/T1"]);
        Assert.Equal(3, state.Current.Count);
        Assert.Equal(2, state.Entitlements["T1"]);
        Assert.Equal(["p1", "p3"], state.EntitlementGrants.Order(StringComparer.Ordinal));
    }

    [Fact]
    public void At_equal_times_the_greater_id_wins_in_every_order()
    {
        var decisions = new[]
        {
            Decision("m-1", "marketing", "email", ConsentStatus.Granted, T0),
            Decision("m-3", "marketing", "email", ConsentStatus.Withdrawn, T0),
            Decision("m-2", "marketing", "email", ConsentStatus.Denied, T0),
            Decision("m-0", "marketing", "email", ConsentStatus.Granted, T0.AddTicks(-1)),
        };
        foreach (var order in Permutations(decisions))
        {
            var s = State([.. order]);
            Assert.Equal("m-3", s.Current["marketing/email"].Id);
            Assert.Equal(ConsentStatus.Withdrawn, s.Governing("marketing", "email")!.Status);
        }
    }

    [Fact]
    public void Ids_compare_ordinally()
    {
        // 'a' (0x61) > 'Z' (0x5A) ordinally, though not in a culture-aware comparison.
        var s = State(
            Decision("a", "marketing", "sms", ConsentStatus.Granted, T0),
            Decision("Z", "marketing", "sms", ConsentStatus.Withdrawn, T0));
        Assert.Equal("a", s.Current["marketing/sms"].Id);
    }

    [Fact]
    public void Apply_says_whether_the_current_state_changed()
    {
        var s = new ConsentState();
        Assert.True(s.Apply(Decision("b", "marketing", "sms", ConsentStatus.Granted, T0)));
        Assert.False(s.Apply(Decision("b", "marketing", "sms", ConsentStatus.Granted, T0)));        // replay
        Assert.False(s.Apply(Decision("z", "marketing", "sms", ConsentStatus.Withdrawn, T0.AddSeconds(-1)))); // older
        Assert.False(s.Apply(Decision("a", "marketing", "sms", ConsentStatus.Withdrawn, T0)));     // equal time, smaller id
        Assert.Equal(ConsentStatus.Granted, s.Current["marketing/sms"].Status);
        Assert.True(s.Apply(Decision("c", "marketing", "sms", ConsentStatus.Withdrawn, T0)));      // equal time, greater id
        Assert.True(s.Apply(Decision("a", "marketing", "sms", ConsentStatus.Granted, T0.AddSeconds(1)))); // newer
        Assert.True(s.Apply(Decision("a", "marketing", "email", ConsentStatus.Granted, T0)));      // another key
        Assert.Equal(2, s.Current.Count);
    }

    [Fact]
    public void Governing_is_null_without_an_applicable_decision()
    {
        var s = State(
            Decision("a", "analytics", "sms", ConsentStatus.Granted, T0),
            Decision("b", "marketing", "email", ConsentStatus.Granted, T0),
            Decision("c", "marketing", "sms", ConsentStatus.Granted, T0, "T2"));
        Assert.Null(s.Governing("marketing", "sms"));
        Assert.Null(s.Governing("marketing", "sms", "T1"));
        Assert.False(s.IsGranted("marketing", "sms"));
        Assert.Equal("c", s.Governing("marketing", "sms", "T2")!.Id);
    }

    [Fact]
    public void Governing_for_all_channels_reads_only_the_all_channels_decision()
    {
        var s = State(
            Decision("a", "sensitive-health", "sms", ConsentStatus.Granted, T0.AddDays(1)),
            Decision("b", "sensitive-health", "all", ConsentStatus.Withdrawn, T0));
        Assert.Equal("b", s.Governing("sensitive-health", "all")!.Id);
        Assert.False(s.IsGranted("sensitive-health", "all"));
        Assert.True(s.IsGranted("sensitive-health", "sms"));
    }

    // ---- entitlements ----

    [Fact]
    public void A_pop_up_grant_for_a_template_is_one_entitlement_and_a_replay_counts_once()
    {
        var s = new ConsentState();
        var grant = Decision("msg:x#0", "marketing", Mp, ConsentStatus.Granted, T0, "T1", ConsentSources.SubscribePopup);
        s.Apply(grant);
        s.Apply(grant);
        s.Apply(grant with { OccurredAt = T0.AddHours(1) }); // same id, even at another time
        Assert.Equal(1, s.Entitlements["T1"]);
        Assert.Equal(["msg:x#0"], s.EntitlementGrants);

        s.Apply(grant with { Id = "msg:y#0" });
        s.Apply(grant with { Id = "msg:y#1", Scope = "T2" });
        Assert.Equal(2, s.Entitlements["T1"]);
        Assert.Equal(1, s.Entitlements["T2"]);
    }

    [Fact]
    public void An_older_pop_up_grant_arriving_late_still_counts_its_entitlement()
    {
        var s = State(
            Decision("2", "marketing", Mp, ConsentStatus.Granted, T0.AddHours(1), "T1", ConsentSources.SubscribePopup),
            Decision("1", "marketing", Mp, ConsentStatus.Granted, T0, "T1", ConsentSources.SubscribePopup));
        Assert.Equal(2, s.Entitlements["T1"]);
        Assert.Equal("2", s.Current["marketing/miniprogram_subscribe/T1"].Id);
    }

    public static TheoryData<string, string, ConsentStatus, string?, string> NoEntitlementCases() => new()
    {
        { "official account pop-up", ConsentVocabulary.WeChatOfficialAccount, ConsentStatus.Granted, "T1", ConsentSources.SubscribePopup },
        { "settings change", Mp, ConsentStatus.Granted, "T1", ConsentSources.SubscribeSettings },
        { "api", Mp, ConsentStatus.Granted, "T1", ConsentSources.Api },
        { "reject", Mp, ConsentStatus.Denied, "T1", ConsentSources.SubscribePopup },
        { "withdrawal", Mp, ConsentStatus.Withdrawn, "T1", ConsentSources.SubscribePopup },
        { "no template", Mp, ConsentStatus.Granted, null, ConsentSources.SubscribePopup },
        { "all channels", ConsentVocabulary.AllChannels, ConsentStatus.Granted, "T1", ConsentSources.SubscribePopup },
        { "sms", "sms", ConsentStatus.Granted, "T1", ConsentSources.SubscribePopup },
    };

    [Theory]
    [MemberData(nameof(NoEntitlementCases))]
    public void Only_pop_up_grants_on_subscribe_messages_with_a_template_are_entitlements(string why, string channel, ConsentStatus status, string? scope, string source)
    {
        var s = State(Decision("d-" + why, "marketing", channel, status, T0, scope, source));
        Assert.Empty(s.Entitlements);
        Assert.Empty(s.EntitlementGrants);
        Assert.Single(s.Current);
    }

    [Fact]
    public void The_list_of_counted_grants_is_bounded()
    {
        var s = new ConsentState();
        for (var i = 0; i < ConsentState.MaxEntitlementGrantsKept + 1; i++)
            s.Apply(Decision($"g{i:000}", "marketing", Mp, ConsentStatus.Granted, T0.AddSeconds(i), "T1", ConsentSources.SubscribePopup));
        Assert.Equal(ConsentState.MaxEntitlementGrantsKept + 1, s.Entitlements["T1"]);
        Assert.Equal(ConsentState.MaxEntitlementGrantsKept, s.EntitlementGrants.Count);
        Assert.DoesNotContain("g000", s.EntitlementGrants);
        Assert.Equal("g200", s.EntitlementGrants[^1]);
    }

    // ---- vocabulary ----

    [Theory]
    [InlineData("granted", ConsentStatus.Granted)]
    [InlineData("denied", ConsentStatus.Denied)]
    [InlineData("withdrawn", ConsentStatus.Withdrawn)]
    public void Statuses_round_trip_through_their_names(string name, ConsentStatus status)
    {
        Assert.True(ConsentVocabulary.TryParseStatus(name, out var parsed));
        Assert.Equal(status, parsed);
        Assert.Equal(name, status.Name());
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("Granted")]
    [InlineData("revoked")]
    public void Other_status_words_are_not_statuses(string? text) => Assert.False(ConsentVocabulary.TryParseStatus(text, out _));

    [Fact]
    public void Vocabulary_membership()
    {
        Assert.True(ConsentVocabulary.IsPurpose("marketing"));
        Assert.True(ConsentVocabulary.IsPurpose("sensitive-minor"));
        Assert.False(ConsentVocabulary.IsPurpose("sensitive-"));
        Assert.False(ConsentVocabulary.IsPurpose(null));
        Assert.True(ConsentVocabulary.IsChannel("all"));
        Assert.False(ConsentVocabulary.IsChannel("Email"));
        Assert.False(ConsentVocabulary.IsChannel(null));
        Assert.True(ConsentVocabulary.IsSensitive("sensitive-health"));
        Assert.False(ConsentVocabulary.IsSensitive("marketing"));
        Assert.Equal(5, ConsentVocabulary.Purposes.Count(ConsentVocabulary.IsSensitive));
    }
}
