using System.Text.Json.Nodes;
using Siyu.Core.Profiles;
using Siyu.Core.Segments;
using static Siyu.Core.Tests.Segments.SegmentKit;

namespace Siyu.Core.Tests.Segments;

public sealed class SegmentMembershipTests
{
    private static readonly TestCatalog Catalog = new TestCatalog()
        .With("vips", """{"tag": "vip"}""")
        .With("fans", """{"tag": "core-fan"}""")
        .With("vip-fans", """{"and": [{"segment": "vips"}, {"segment": "fans"}]}""");

    private static readonly SegmentDefinition Vips = Define("vips", """{"tag": "vip"}""", Catalog);
    private static readonly SegmentDefinition Fans = Define("fans", """{"tag": "core-fan"}""", Catalog);
    private static readonly SegmentDefinition VipFans = Define("vip-fans", """{"and": [{"segment": "vips"}, {"segment": "fans"}]}""", Catalog);

    [Fact]
    public void A_person_enters_the_segments_they_match_at_the_time_of_the_refresh()
    {
        var p = NewProfile();
        p.Tags["vip"] = new TagMark(Now, "k");

        var changes = SegmentMembership.Refresh(p, [Vips, Fans, VipFans], Now);

        Assert.Equal(["vips"], changes.Entered);
        Assert.Empty(changes.Exited);
        Assert.True(changes.Any);
        Assert.Equal(new Dictionary<string, DateTimeOffset> { ["vips"] = Now }, p.Segments);
    }

    [Fact]
    public void Nothing_changes_when_nothing_changed()
    {
        var p = NewProfile();
        p.Tags["vip"] = new TagMark(Now, "k");
        SegmentMembership.Refresh(p, [Vips, Fans], Now);

        var again = SegmentMembership.Refresh(p, [Vips, Fans], Now.AddHours(1));

        Assert.Same(SegmentChanges.None, again);
        Assert.False(again.Any);
        Assert.False(again.Changed);
        Assert.Equal(Now, p.Segments["vips"]);
    }

    [Fact]
    public void Entering_and_exiting_in_one_refresh()
    {
        var p = NewProfile();
        p.Tags["vip"] = new TagMark(Now, "k");
        SegmentMembership.Refresh(p, [Vips, Fans, VipFans], Now);

        p.Tags.Remove("vip");
        p.Tags["core-fan"] = new TagMark(Now, "k");
        var later = Now.AddDays(1);
        var changes = SegmentMembership.Refresh(p, [Vips, Fans, VipFans], later);

        Assert.Equal(["fans"], changes.Entered);
        Assert.Equal(["vips"], changes.Exited);
        Assert.Equal(new Dictionary<string, DateTimeOffset> { ["fans"] = later }, p.Segments);

        p.Tags["vip"] = new TagMark(later, "k");
        var both = SegmentMembership.Refresh(p, [Vips, Fans, VipFans], later.AddDays(1));
        Assert.Equal(["vips", "vip-fans"], both.Entered);
        Assert.Equal(later, p.Segments["fans"]);
    }

    [Fact]
    public void Segments_no_longer_defined_are_dropped_without_an_exit()
    {
        var p = NewProfile();
        p.Tags["vip"] = new TagMark(Now, "k");
        p.Tags["core-fan"] = new TagMark(Now, "k");
        SegmentMembership.Refresh(p, [Vips, Fans, VipFans], Now);
        Assert.Equal(3, p.Segments.Count);

        var changes = SegmentMembership.Refresh(p, [Vips], Now.AddHours(1));

        Assert.Empty(changes.Entered);
        Assert.Empty(changes.Exited);
        Assert.False(changes.Any);
        Assert.True(changes.Changed);
        Assert.Equal(["fans", "vip-fans"], changes.Removed.Order(StringComparer.Ordinal));
        Assert.Equal(["vips"], p.Segments.Keys);
    }

    [Fact]
    public void A_referenced_segment_missing_from_the_refresh_has_nobody_in_it()
    {
        var p = NewProfile();
        p.Tags["vip"] = new TagMark(Now, "k");
        p.Tags["core-fan"] = new TagMark(Now, "k");
        Assert.Equal(["vip-fans", "vips", "fans"], SegmentMembership.Refresh(p, [VipFans, Vips, Fans], Now).Entered);

        var withoutFans = SegmentMembership.Refresh(p, [VipFans, Vips], Now.AddHours(1));

        Assert.Equal(["vip-fans"], withoutFans.Exited);
        Assert.Equal(["fans"], withoutFans.Removed);
        Assert.Equal(["vips"], p.Segments.Keys);
    }

    [Fact]
    public void Windowed_segments_are_left_as_time_passes()
    {
        var recent = Define("recent-buyers", """{"event": "purchase", "withinDays": 7}""");
        var p = NewProfile();
        ActivityWindow.Record(p, "purchase", China(5, 18), Now);

        Assert.Equal(["recent-buyers"], SegmentMembership.Refresh(p, [recent], Now).Entered);
        Assert.False(SegmentMembership.Refresh(p, [recent], China(5, 24, 23, 59)).Any);
        Assert.Equal(["recent-buyers"], SegmentMembership.Refresh(p, [recent], China(5, 25, 0, 0)).Exited);
    }

    [Fact]
    public void A_cycle_that_slipped_past_validation_does_not_loop()
    {
        // Each was valid against a stale view of the other.
        var a = Define("a", """{"or": [{"tag": "vip"}, {"segment": "b"}]}""", new TestCatalog().With("b", """{"tag": "vip"}"""));
        var b = Define("b", """{"segment": "a"}""", new TestCatalog().With("a", """{"tag": "vip"}"""));
        var p = NewProfile();

        Assert.False(SegmentMembership.Refresh(p, [a, b], Now).Any);
        p.Tags["vip"] = new TagMark(Now, "k");
        Assert.Equal(["a", "b"], SegmentMembership.Refresh(p, [a, b], Now).Entered);
    }

    [Fact]
    public void Many_segments_referring_to_one_another_are_refreshed_together()
    {
        var catalog = new TestCatalog().With("s0", """{"tag": "vip"}""");
        var definitions = new List<SegmentDefinition> { Define("s0", """{"tag": "vip"}""", catalog) };
        for (var i = 1; i < 100; i++)
        {
            var rule = $$$"""{"and": [{"segment": "s{{{i - 1}}}"}, {"not": {"tag": "core-fan"}}]}""";
            catalog.With("s" + i, rule);
            definitions.Add(Define("s" + i, rule, catalog));
        }
        var p = NewProfile();
        p.Tags["vip"] = new TagMark(Now, "k");

        Assert.Equal(100, SegmentMembership.Refresh(p, definitions, Now).Entered.Count);
        p.Tags["core-fan"] = new TagMark(Now, "k");
        Assert.Equal(99, SegmentMembership.Refresh(p, definitions, Now).Exited.Count);
        Assert.Equal(["s0"], p.Segments.Keys);
    }

    [Fact]
    public void The_rule_json_is_kept_for_saving()
    {
        Assert.Equal(JsonNode.Parse("""{"and": [{"segment": "vips"}, {"segment": "fans"}]}""")!.ToJsonString(), VipFans.RuleJson.ToJsonString());
        Assert.Equal(["vips", "fans"], VipFans.Rule.SegmentRefs);
    }
}
