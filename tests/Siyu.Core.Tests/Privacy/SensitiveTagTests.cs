using Siyu.Core.Consent;
using Siyu.Core.Privacy;
using Siyu.Core.Profiles;

namespace Siyu.Core.Tests.Privacy;

public sealed class SensitiveTagTests
{
    private static readonly DateTimeOffset T0 = new(2026, 5, 1, 0, 0, 0, TimeSpan.Zero);

    private static readonly DataDefinitions Definitions = new([],
    [
        new TagDefinition("core-fan", "loyalty", null, null),
        new TagDefinition("lactose-free", "health", null, "sensitive-health"),
    ]);

    private static ConsentDecision Health(ConsentStatus status, DateTimeOffset at) => new()
    {
        Id = "d-" + at.Ticks, Purpose = "sensitive-health", Channel = ConsentVocabulary.AllChannels, Status = status, Source = "survey", OccurredAt = at,
    };

    [Theory]
    [InlineData("core-fan", true)]
    [InlineData("会员-金卡", true)]
    [InlineData("", false)]
    [InlineData(" padded", false)]
    [InlineData("line\nbreak", false)]
    [InlineData("tab\there", false)]
    [InlineData("a/b", false)]
    [InlineData("a#b", false)]
    public void Tag_names_without_control_characters_or_key_breaking_characters_are_valid(string name, bool valid) =>
        Assert.Equal(valid, TagDefinition.IsValidName(name));

    [Fact]
    public void A_tag_name_over_64_characters_is_refused() =>
        Assert.False(TagDefinition.IsValidName(new string('t', TagDefinition.MaxNameLength + 1)));

    [Fact]
    public void A_sensitive_tag_is_allowed_only_under_its_granted_purpose_and_ordinary_tags_always()
    {
        var consent = new ConsentState();
        Assert.True(Definitions.MayTag("core-fan", consent));
        Assert.False(Definitions.MayTag("lactose-free", consent));
        consent.Apply(Health(ConsentStatus.Granted, T0));
        Assert.True(Definitions.MayTag("lactose-free", consent));
        consent.Apply(Health(ConsentStatus.Withdrawn, T0.AddHours(1)));
        Assert.False(Definitions.MayTag("lactose-free", consent));
    }

    [Fact]
    public void Withdrawing_the_consent_removes_sensitive_tags_and_keeps_the_rest()
    {
        var profile = ProfileState.New("p", T0);
        profile.Consent.Apply(Health(ConsentStatus.Granted, T0));
        profile.Tags["core-fan"] = new TagMark(T0, "k1");
        profile.Tags["lactose-free"] = new TagMark(T0, "k2");
        Assert.Empty(Definitions.Enforce(profile));

        profile.Consent.Apply(Health(ConsentStatus.Withdrawn, T0.AddDays(1)));
        Assert.Equal(["tag:lactose-free"], Definitions.Enforce(profile));
        Assert.Equal(["core-fan"], profile.Tags.Keys);
    }

    [Fact]
    public void Sensitive_tags_are_shown_only_to_those_who_may_see_them()
    {
        var tags = new Dictionary<string, TagMark> { ["core-fan"] = new(T0, "k"), ["lactose-free"] = new(T0, "k") };
        Assert.Equal(["core-fan"], Definitions.VisibleTags(tags, maySeeSensitive: false).Keys);
        Assert.Equal(2, Definitions.VisibleTags(tags, maySeeSensitive: true).Count);
    }

    [Fact]
    public void Tags_and_consent_survive_the_stored_form_and_empty_ones_are_not_written()
    {
        var options = Siyu.Core.Events.EventJson.Options;
        var empty = System.Text.Json.JsonSerializer.Serialize(ProfileState.New("p", T0), options);
        Assert.DoesNotContain("\"tags\"", empty);
        Assert.DoesNotContain("\"consent\"", empty);

        var profile = ProfileState.New("p", T0);
        profile.Tags["core-fan"] = new TagMark(T0, "k1");
        profile.Consent.Apply(Health(ConsentStatus.Granted, T0));
        var back = System.Text.Json.JsonSerializer.Deserialize<ProfileState>(System.Text.Json.JsonSerializer.Serialize(profile, options), options)!;
        Assert.Equal("k1", back.Tags["core-fan"].By);
        Assert.Equal(ConsentStatus.Granted, back.Consent.Governing("sensitive-health", "all")!.Status);
    }
}
