using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Siyu.Core.Journeys;
using static Siyu.Core.Tests.Journeys.JourneyKit;

namespace Siyu.Core.Tests.Journeys;

/// <summary>The journeys in the format document publish as they are written there.</summary>
public sealed partial class JourneyFormatDocumentTests
{
    [GeneratedRegex(@"```json\n(.*?)\n```", RegexOptions.Singleline)]
    private static partial Regex JsonBlock();

    private static List<string> Journeys()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Serverless.sln"))) dir = dir.Parent;
        Assert.NotNull(dir);
        var text = File.ReadAllText(Path.Combine(dir.FullName, "shared", "Siyu.Core", "Journeys", "README.md"));
        return JsonBlock().Matches(text).Select(m => m.Groups[1].Value).Where(b => b.Contains("\"nodes\"", StringComparison.Ordinal)).ToList();
    }

    [Fact]
    public void The_documented_journeys_publish()
    {
        var journeys = Journeys();
        Assert.Equal(2, journeys.Count);
        foreach (var json in journeys) Parse(json);
    }

    [Fact]
    public void The_documented_cart_recovery_journey_is_the_one_tested() =>
        Assert.True(JsonNode.DeepEquals(JsonNode.Parse(CartRecovery), JsonNode.Parse(Journeys()[0])));

    [Fact]
    public void The_documented_welcome_journey_enters_on_its_segment_and_runs_to_ten_oclock()
    {
        var j = Parse(Journeys()[1]);
        Assert.Equal((EntryKind.Segment, "new-members"), (j.Entry.On, j.Entry.Segment));
        var person = Profile(attributes: ("nickname", "小王"));
        var r = Enter(j, NewRun(j), Now, person);
        Assert.Equal(("morning", (DateTimeOffset?)new DateTimeOffset(2026, 5, 20, 10, 0, 0, TimeSpan.FromHours(8))), (r.Instance.Node, r.TimerAt));
        var hello = Fire(j, r.Instance, person);
        Assert.Equal("小王", hello.Sends.Single().Variables["nickname"]);
        Assert.Equal(new TagEffect($"{JourneyId}~{ProfileId}~0~1~3", "mark", "welcomed", true), hello.Effect);
    }
}
