namespace Siyu.Core.Traits;

/// <summary>Traits we compute for a person: never set by callers.</summary>
public sealed record ProfileTraits(string Lifecycle, RfmScore? Rfm);

/// <summary>Recency, frequency and monetary scores (1-5 each) and the 8-tier segment they put the person in.</summary>
public sealed record RfmScore(int R, int F, int M, string Segment);
