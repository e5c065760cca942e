using System.Text.Json;
using Siyu.Core.Traits;

namespace Siyu.Core.Tests.Traits;

public class TraitSettingsTests
{
    private static readonly JsonSerializerOptions Web = new(JsonSerializerDefaults.Web);

    [Fact]
    public void Defaults_are_valid_and_as_documented()
    {
        var d = TraitSettings.Default;
        Assert.Empty(d.Validate());
        Assert.Equal((14, 30, 90, 3, "CNY"), (d.NewWithinDays, d.ActiveWithinDays, d.DormantAfterDays, d.HighScore, d.Currency));
        Assert.Equal([30, 90, 180, 365], d.RecencyDays);
        Assert.Equal([2, 3, 5, 10], d.FrequencyOrders);
        Assert.Equal([200m, 500m, 1000m, 3000m], d.MonetaryTotals);
    }

    [Fact]
    public void Round_trips_as_camel_case_json()
    {
        var settings = TraitSettings.Default with { NewWithinDays = 7, Currency = "HKD", MonetaryTotals = [100m, 250.5m, 800m, 2000m] };
        var json = JsonSerializer.Serialize(settings, Web);
        Assert.Contains("\"newWithinDays\":7", json);
        Assert.Contains("\"monetaryTotals\":[100,250.5,800,2000]", json);
        Assert.Contains("\"currency\":\"HKD\"", json);

        var back = JsonSerializer.Deserialize<TraitSettings>(json, Web)!;
        Assert.Equal(json, JsonSerializer.Serialize(back, Web));
    }

    [Fact]
    public void Fields_left_out_of_json_keep_their_defaults()
    {
        var settings = JsonSerializer.Deserialize<TraitSettings>("""{"activeWithinDays":45,"recencyDays":[7,30,60,120]}""", Web)!;
        Assert.Equal(45, settings.ActiveWithinDays);
        Assert.Equal([7, 30, 60, 120], settings.RecencyDays);
        Assert.Equal(14, settings.NewWithinDays);
        Assert.Equal([2, 3, 5, 10], settings.FrequencyOrders);
        Assert.Equal("CNY", settings.Currency);
        Assert.Empty(settings.Validate());
    }

    [Fact]
    public void Validate_lists_every_problem_at_once()
    {
        var settings = new TraitSettings
        {
            NewWithinDays = 0,
            ActiveWithinDays = 0,
            DormantAfterDays = 4000,
            RecencyDays = [30, 90, 180],
            FrequencyOrders = [2, 2, 5, 10],
            MonetaryTotals = [0m, 500m, 1000m, 3000m],
            Currency = "cny",
            HighScore = 6,
        };
        var problems = settings.Validate();
        Assert.Equal(8, problems.Count);
        foreach (var field in new[] { "newWithinDays", "activeWithinDays", "dormantAfterDays", "recencyDays", "frequencyOrders", "monetaryTotals", "currency", "highScore" })
            Assert.Contains(problems, p => p.StartsWith(field + ":", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("""{"newWithinDays":0}""", "newWithinDays")]
    [InlineData("""{"newWithinDays":3651}""", "newWithinDays")]
    [InlineData("""{"activeWithinDays":0}""", "activeWithinDays")]
    [InlineData("""{"activeWithinDays":90}""", "dormantAfterDays")]
    [InlineData("""{"activeWithinDays":100}""", "dormantAfterDays")]
    [InlineData("""{"dormantAfterDays":3651}""", "dormantAfterDays")]
    [InlineData("""{"recencyDays":[30,90,180,365,730]}""", "recencyDays")]
    [InlineData("""{"recencyDays":[90,30,180,365]}""", "recencyDays")]
    [InlineData("""{"recencyDays":[-1,30,180,365]}""", "recencyDays")]
    [InlineData("""{"recencyDays":null}""", "recencyDays")]
    [InlineData("""{"frequencyOrders":[]}""", "frequencyOrders")]
    [InlineData("""{"frequencyOrders":[0,3,5,10]}""", "frequencyOrders")]
    [InlineData("""{"monetaryTotals":[200,500,500,3000]}""", "monetaryTotals")]
    [InlineData("""{"monetaryTotals":[-200,500,1000,3000]}""", "monetaryTotals")]
    [InlineData("""{"currency":"RMB1"}""", "currency")]
    [InlineData("""{"currency":"cny"}""", "currency")]
    [InlineData("""{"currency":null}""", "currency")]
    [InlineData("""{"highScore":1}""", "highScore")]
    [InlineData("""{"highScore":6}""", "highScore")]
    public void Each_problem_names_its_field(string json, string field)
    {
        var problems = JsonSerializer.Deserialize<TraitSettings>(json, Web)!.Validate();
        var problem = Assert.Single(problems);
        Assert.StartsWith(field + ":", problem, StringComparison.Ordinal);
    }

    [Fact]
    public void A_list_both_negative_and_unordered_reports_both()
    {
        var problems = (TraitSettings.Default with { RecencyDays = [-5, -10, 30, 60] }).Validate();
        Assert.Equal(2, problems.Count);
        Assert.All(problems, p => Assert.StartsWith("recencyDays:", p, StringComparison.Ordinal));
    }

    [Theory]
    [InlineData(1, 1, 2)]
    [InlineData(200, 1, 3650)]
    [InlineData(3650, 3649, 3650)]
    public void Edges_of_the_allowed_ranges_are_valid(int newWithin, int activeWithin, int dormantAfter) =>
        Assert.Empty((TraitSettings.Default with { NewWithinDays = newWithin, ActiveWithinDays = activeWithin, DormantAfterDays = dormantAfter }).Validate());

    [Theory]
    [InlineData(2)]
    [InlineData(5)]
    public void High_score_may_be_two_to_five(int highScore) =>
        Assert.Empty((TraitSettings.Default with { HighScore = highScore }).Validate());
}
