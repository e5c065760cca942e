namespace Siyu.Core.Journeys;

/// <summary>How many came into a node, and by which branch they left it.</summary>
public sealed class NodeCounts
{
    public long Entered { get; set; }
    public Dictionary<string, long> Left { get; set; } = new(StringComparer.Ordinal);

    public long LeftTotal => Left.Values.Sum();
}

/// <summary>
/// A journey's counters, or a change to them. The instance writes that cause a change carry it in the same
/// transaction, so the counts are exact: never lost to a crash, never doubled by a retry.
/// </summary>
public sealed class JourneyStats
{
    public long Entered { get; set; }
    public long Completed { get; set; }
    public long Exited { get; set; }
    public long Converted { get; set; }
    public Dictionary<string, NodeCounts> Nodes { get; set; } = new(StringComparer.Ordinal);
    /// <summary>"{split}:{branch}" → goal conversions of the people that split sent that way.</summary>
    public Dictionary<string, long> ConvertedBy { get; set; } = new(StringComparer.Ordinal);
    /// <summary>Published version → runs of it still active (entered less ended): a version is drained at 0.</summary>
    public Dictionary<string, long> ActiveByVersion { get; set; } = new(StringComparer.Ordinal);

    public bool IsEmpty => Entered == 0 && Completed == 0 && Exited == 0 && Converted == 0 && Nodes.Count == 0 && ConvertedBy.Count == 0 && ActiveByVersion.Count == 0;

    public long ActiveIn(int version) => ActiveByVersion.GetValueOrDefault(version.ToString(System.Globalization.CultureInfo.InvariantCulture));

    public void CountActive(int version, long by)
    {
        var key = version.ToString(System.Globalization.CultureInfo.InvariantCulture);
        ActiveByVersion[key] = ActiveByVersion.GetValueOrDefault(key) + by;
    }

    public NodeCounts Node(string id)
    {
        if (!Nodes.TryGetValue(id, out var n)) Nodes[id] = n = new NodeCounts();
        return n;
    }

    public void Add(JourneyStats other)
    {
        Entered += other.Entered;
        Completed += other.Completed;
        Exited += other.Exited;
        Converted += other.Converted;
        foreach (var (id, counts) in other.Nodes)
        {
            var mine = Node(id);
            mine.Entered += counts.Entered;
            foreach (var (branch, n) in counts.Left) mine.Left[branch] = mine.Left.GetValueOrDefault(branch) + n;
        }
        foreach (var (key, n) in other.ConvertedBy) ConvertedBy[key] = ConvertedBy.GetValueOrDefault(key) + n;
        foreach (var (key, n) in other.ActiveByVersion) ActiveByVersion[key] = ActiveByVersion.GetValueOrDefault(key) + n;
    }
}
