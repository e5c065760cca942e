namespace Siyu.Functions.Delivery;

/// <summary>Configuration section "Delivery".</summary>
public sealed class DeliverySettings
{
    /// <summary>Delivery queues; a person's deliveries always go through the same one (by profile bucket).</summary>
    public int Partitions { get; set; } = 4;
    /// <summary>How often held messages look at the halt switch again.</summary>
    public TimeSpan HaltRecheck { get; set; } = TimeSpan.FromSeconds(15);
    /// <summary>Sends that failed for a passing reason are tried this many times in all before they count as failed.</summary>
    public int MaxAttempts { get; set; } = 6;
    /// <summary>The first wait before a send is tried again; it doubles each time (a provider's Retry-After wins).</summary>
    public TimeSpan RetryDelay { get; set; } = TimeSpan.FromSeconds(20);
    /// <summary>A delivery whose row is not there yet is looked for again after this long…</summary>
    public TimeSpan MissingRowWait { get; set; } = TimeSpan.FromSeconds(10);
    /// <summary>…this many times; after that its step never committed and there is nothing to send.</summary>
    public int MissingRowLooks { get; set; } = 30;
    /// <summary>Delivery messages (of up to a hundred sends each) per listener round…</summary>
    public int MessagesPerRound { get; set; } = 32;
    /// <summary>…and rounds in flight per delivery queue.</summary>
    public int RoundsPerQueue { get; set; } = 2;
    /// <summary>Sends in flight per chunk of a partition's deliveries.</summary>
    public int SendConcurrency { get; set; } = 64;
    /// <summary>
    /// How long a worker may take over a send that goes at most once (its provider does not dedupe) before its claim
    /// counts as abandoned: a claim still <c>sending</c> after this is recorded failed, <c>outcome_unknown</c>, and not
    /// sent again. Longer than a chunk's sends can take (Channels:Timeout × Channels:MaxAttempts and their waits).
    /// </summary>
    public TimeSpan SendTimeout { get; set; } = TimeSpan.FromMinutes(5);
    /// <summary>How long the halt switch, campaign states and templates are cached: a halt or a cancel takes effect within this.</summary>
    public TimeSpan CacheTtl { get; set; } = TimeSpan.FromSeconds(1);
    /// <summary>
    /// A scheduled campaign's start looks at the clock again at least this often (at most seven days, a queue message's
    /// longest delay): it starts at its <c>startAt</c>, or at the first look after it.
    /// </summary>
    public TimeSpan CampaignStartLook { get; set; } = TimeSpan.FromDays(7);
    /// <summary>SMS replies that withdraw the person's marketing SMS consent (any case; trailing punctuation ignored).
    /// Empty: <see cref="Siyu.Core.Delivery.SmsOptOut.DefaultWords"/>.</summary>
    public List<string> OptOutWords { get; set; } = [];
    /// <summary>This app's public address (https://…), for the one-click unsubscribe link a marketing email carries.
    /// Unset, marketing email fails with unsubscribe_not_configured rather than going without one.</summary>
    public string? PublicBaseUrl { get; set; }
    /// <summary>WeCom customer messages a person may get a calendar month (China time), counted and refused above it as a
    /// cap. 0: the number of days in the month, WeCom's rule for mass messages to one customer.</summary>
    public int WeComMonthlyLimit { get; set; }
}
