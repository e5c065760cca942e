using System.Text.Json;
using Azure;
using Microsoft.Extensions.Options;
using Siyu.Channels;
using Siyu.Core.Consent;
using Siyu.Core.Delivery;
using Siyu.Core.Journeys;
using Siyu.Core.Profiles;
using Siyu.Core.Storage;
using Siyu.Functions.Hosting;
using Siyu.Storage.Delivery;
using Siyu.Storage.Profiles;

namespace Siyu.Functions.Delivery;

/// <summary>
/// Works the delivery queues. For each partition's deliveries, a transaction's worth at a time: read the rows (a
/// campaign message has none yet: it is built from the message), skip what is settled, read the people, ask the
/// delivery policy (halt, consent, personalisation, entitlement, caps, quiet hours) for each, and record refusals,
/// holds and the claims that must come first (a cap's count, and every send that goes at most once) in one
/// transaction with the counters; then send under the delivery's idempotency key and record each outcome (with the
/// row, where nothing was written before). A crash before the outcome is recorded sends again under the same key,
/// which a deduping provider drops; a send to a provider that does not dedupe was claimed, and its claim is found and
/// recorded as an unknown outcome instead (<see cref="SendOnce"/>).
/// </summary>
public sealed class DeliveryWorker(
    DeliveryStore store, ProfileStore profiles, SendingCache cache, ChannelSenders channels, DeliveryQueue queue, DeliveryEvents events,
    IDeliveryFaults faults, IOptions<DeliverySettings> options, TimeProvider clock, ILogger<DeliveryWorker> log, UnsubscribeLinks unsubscribe) : IQueueHandler
{
    private readonly DeliverySettings _settings = options.Value;

    public async Task<IReadOnlyList<WorkOutcome>> HandleAsync(IReadOnlyList<QueueWorkItem> batch, CancellationToken ct)
    {
        var outcomes = new WorkOutcome?[batch.Count];
        var parsed = new List<(int Index, DeliveryMessage Message)>();
        for (var i = 0; i < batch.Count; i++)
        {
            try
            {
                var m = JsonSerializer.Deserialize<DeliveryMessage>(batch[i].Text, JsonSerializerOptions.Web);
                var invalid = m is null ? "empty" : Invalid(m);
                if (invalid is null) parsed.Add((i, m!));
                else outcomes[i] = WorkOutcome.Poison($"delivery message: {invalid}");
            }
            catch (JsonException e) { outcomes[i] = WorkOutcome.Poison($"unreadable delivery message: {e.Message}"); }
        }

        var groups = parsed.GroupBy(p => (p.Message.Tenant, p.Message.Bucket)).ToList();
        await Parallel.ForEachAsync(groups, new ParallelOptions { MaxDegreeOfParallelism = 8, CancellationToken = ct }, async (g, token) =>
        {
            WorkOutcome outcome;
            try
            {
                await RunAsync(g.Key.Tenant, g.Select(p => p.Message).ToList(), token);
                outcome = WorkOutcome.Done;
            }
            catch (Exception e) when (e is RequestFailedException or IOException or HttpRequestException or InvalidOperationException or InvalidDataException)
            {
                log.LogWarning(e, "Deliveries of {Tenant}/{Bucket} stopped; they resume on retry", g.Key.Tenant, g.Key.Bucket);
                outcome = WorkOutcome.Retry($"delivery stopped: {e.Message}");
            }
            foreach (var (index, _) in g) outcomes[index] = outcome;
        });
        return outcomes.Select(o => o ?? WorkOutcome.Retry("not handled")).ToList();
    }

    private static string? Invalid(DeliveryMessage m)
    {
        if (string.IsNullOrEmpty(m.Tenant)) return "no tenant";
        if (m.Bucket is < 0 or >= Ids.ProfileBuckets) return $"bucket {m.Bucket} out of range";
        if (m.Items is not { Count: > 0 }) return "no items";
        if (m.Items.Any(i => !Ids.IsProfileId(i.P) || string.IsNullOrEmpty(i.K) || Ids.ProfileBucket(i.P) != m.Bucket)) return "an item is not a delivery of this partition";
        if (m.Unrecorded is { } u && (string.IsNullOrEmpty(u.Campaign) || string.IsNullOrEmpty(u.Template) || m.Items.Any(i => i.K != DeliveryStore.CampaignKey(u.Campaign, i.P))))
            return "an unrecorded send is not a message of its campaign";
        return null;
    }

    /// <summary>
    /// One partition's deliveries, from as many messages as arrived together, a transaction's worth at a time: each chunk
    /// records its outcomes before the next begins, so progress moves while a big campaign runs and a halt or a cancel
    /// reaches what has not gone yet.
    /// </summary>
    public async Task RunAsync(string tenantId, IReadOnlyList<DeliveryMessage> messages, CancellationToken ct)
    {
        var wanted = messages.SelectMany(m => m.Items.Select(i => new Wanted(i, m.Wait, m.Unrecorded)))
            .DistinctBy(w => (w.Item.P, w.Item.K)).ToList();
        for (var i = 0; i < wanted.Count; i += ChunkSize)
        {
            // Halted: hand the work back untouched, to look again later. Nothing is read or written while the brand is stopped.
            var sending = await cache.SendingAsync(tenantId, ct);
            if (sending.Halted)
            {
                var rest = wanted.Skip(i).ToList();
                foreach (var g in rest.GroupBy(w => (w.Wait, w.Unrecorded)))
                    await queue.EnqueueAsync(tenantId, g.Select(w => w.Item), _settings.HaltRecheck, g.Key.Wait, ct, g.Key.Unrecorded);
                DeliveryMetrics.Held.Add(rest.Count);
                return;
            }
            await faults.BeforeChunkAsync(tenantId, ct);
            await RunChunkAsync(tenantId, sending, wanted.GetRange(i, Math.Min(ChunkSize, wanted.Count - i)), ct);
        }
    }

    /// <summary>Deliveries per chunk: with the partition's counter row, one transaction.</summary>
    private const int ChunkSize = DeliveryStore.MaxActions - 2;

    /// <summary>A delivery to work on; <see cref="Unrecorded"/> when it is a campaign message with no row yet.</summary>
    private sealed record Wanted(DeliveryItem Item, int Wait, UnrecordedSends? Unrecorded);

    private async Task RunChunkAsync(string tenantId, TenantSending sending, List<Wanted> wanted, CancellationToken ct)
    {
        var partition = DeliveryStore.Partition(tenantId, wanted[0].Item.P);
        // Campaign messages have no row yet: each is built here and written once, when decided. The rest are read.
        var toRead = wanted.Where(w => w.Unrecorded is null).ToList();
        var rows = toRead.Count == 0 ? new() : await store.GetManyAsync(tenantId, toRead.Select(w => (w.Item.P, w.Item.K)), ct);
        var heldOut = new List<DeliveryChange>();
        foreach (var w in wanted.Where(w => w.Unrecorded is not null))
        {
            var u = w.Unrecorded!;
            var campaign = await cache.CampaignAsync(tenantId, u.Campaign, ct);
            var held = campaign is not null && CampaignRules.IsHeldOut(u.Campaign, w.Item.P, campaign.Definition.HoldoutPercent);
            var row = DeliveryRecord.ForCampaign(tenantId, w.Item.P, u.Campaign, u.Template, journey: null, held, u.RequestedAt);
            if (held) heldOut.Add(new DeliveryChange(row, new CampaignProgress { Holdout = 1 }));
            else rows[row.RowKey] = row;
        }

        // A journey queues its sends just before it records them: a row not there yet is looked for again, for a while.
        var missing = toRead.Where(w => !rows.ContainsKey(DeliveryStore.RowKey(w.Item.P, w.Item.K))).ToList();
        foreach (var group in missing.GroupBy(w => w.Wait))
        {
            if (group.Key + 1 < _settings.MissingRowLooks)
                await queue.EnqueueAsync(tenantId, group.Select(w => w.Item), _settings.MissingRowWait, group.Key + 1, ct);
            else
                log.LogInformation("{Count} deliveries of {Tenant} were never recorded (their step did not commit); nothing to send", group.Count(), tenantId);
        }

        var now = clock.GetUtcNow();
        var live = rows.Values.Where(r => r.Kind == "delivery" && !DeliveryStatus.IsFinal(r.Status)).ToList();
        var later = new List<DeliveryRecord>();
        var plans = new List<Plan>();
        foreach (var row in live)
        {
            if (row is { Status: DeliveryStatus.Sending, AtMostOnce: true })
            {
                // Claimed to go at most once: its worker may still be sending it, or stopped before recording what the
                // provider said. Either way it is not sent again: looked at once the claim's time is up, and then unknown.
                var claimedAt = row.UpdatedAt ?? row.RequestedAt;
                if (SendOnce.StillSendingUntil(claimedAt, now, _settings.SendTimeout) is { } until) later.Add(row with { NotBefore = until });
                else plans.Add(new Plan(row) { Change = Final(row, DeliveryStatus.Failed, SendOnce.OutcomeUnknown,
                    $"claimed at {claimedAt:O} and never settled (its worker stopped): the provider does not dedupe, so it was not sent again") });
                continue;
            }
            if (row.NotBefore is { } nb && nb > now + TimeSpan.FromSeconds(1)) { later.Add(row); continue; }
            plans.Add(new Plan(row));
        }
        await RequeueAsync(tenantId, later, now, ct);
        var open = plans.Where(p => p.Change is null).ToList();
        if (open.Count > 0) await PrepareAsync(tenantId, sending, open, now, ct);

        // Written before anything is sent: refusals and holds, the control group, and the claims of sends that must be
        // reserved first (a capped person's count; a send to a provider that cannot drop a repeat, which then goes at
        // most once). Any other send is written once, with its outcome: if we stop in between, it is decided and sent
        // again under the same key, which the provider drops.
        foreach (var p in plans) p.ClaimFirst = p.Change!.Record is { Status: DeliveryStatus.Sending } claim && (p.Counts is not null || claim.AtMostOnce);
        var decided = plans.Where(p => p.Change!.Record.Status != DeliveryStatus.Sending || p.ClaimFirst).ToList();
        var first = decided.Select(p => p.Change!).Concat(heldOut).ToList();
        var counts = decided.Where(p => p.Counts is not null).GroupBy(p => p.Row.ProfileId).ToDictionary(g => g.Key, g => g.First().Counts!);
        // Stamped now, not when the chunk began: a claim's age is how long its sends have had.
        var (conflicted, existing, committed) = first.Count == 0 ? ([], [], []) : await store.CommitAsync(partition, first, counts, clock.GetUtcNow(), ct);
        // Someone else wrote a row first (a repeated message): read it again shortly and decide again. A refusal that finds
        // its row already written was recorded by that someone; nothing more to do.
        bool Lost(Plan p) => conflicted.Contains(p.Row.ProfileId) || (p.ClaimFirst && existing.Contains(p.Row.RowKey));
        await AgainAsync(tenantId, plans.Where(Lost).Select(p => p.Row), existing, ct);
        var recorded = decided.Where(p => !Lost(p) && !existing.Contains(p.Row.RowKey)).ToList();
        await RequeueAsync(tenantId, recorded.Where(p => p.Change!.Record.Status == DeliveryStatus.Deferred).Select(p => p.Change!.Record).ToList(), now, ct);
        await events.FailedAsync(tenantId, recorded.Where(p => p.Change!.Record.Status == DeliveryStatus.Failed).Select(p => p.Change!.Record), ct);
        DeliveryMetrics.OutcomeUnknown.Add(recorded.Count(p => p.Change!.Record.Reason == SendOnce.OutcomeUnknown));

        var toSend = plans.Where(p => p.Change!.Record.Status == DeliveryStatus.Sending && !Lost(p)).ToList();
        if (toSend.Count == 0) return;
        // What each send is recorded over: its claim, or the row as read (or not yet written).
        foreach (var p in toSend) p.Sending = p.ClaimFirst ? p.Change!.Record with { ETag = committed[p.Row.RowKey] } : p.Change!.Record;

        // Send, then record what became of each. A cancel or a halt seen at the last moment still stops a decided message.
        await Parallel.ForEachAsync(toSend, new ParallelOptions { MaxDegreeOfParallelism = _settings.SendConcurrency, CancellationToken = ct }, async (p, token) =>
        {
            if (await StoppedAsync(tenantId, p.Sending!, token) is { } stopped) { p.Outcome = stopped; return; }
            if (p.Template!.Channel == ConsentVocabulary.MiniProgramSubscribe && !await UseEntitlementAsync(tenantId, p, token))
            {
                p.Outcome = Suppress(p.Sending!, "no_entitlement", $"no unused subscription for template {p.Template.ProviderTemplate}");
                return;
            }
            var result = await channels.SendAsync(p.Message!, p.Account!, token);
            p.Outcome = Settle(p.Sending!, result, clock.GetUtcNow());
        });
        await faults.AfterSendsAsync(tenantId, toSend.Select(p => p.Sending!).ToList(), ct);
        var settled = toSend.Select(p => p.Outcome!).ToList();
        var (overtaken, found, _) = await store.CommitAsync(partition, settled, null, clock.GetUtcNow(), ct);
        // An outcome another writer got to first is read again (and settled by what it finds); one whose row a repeated
        // message already wrote was recorded there.
        var lost = settled.Where(c => overtaken.Contains(c.Record.ProfileId)).ToList();
        if (lost.Count > 0) log.LogInformation("{Count} delivery outcomes of {Tenant} were overtaken by another writer; reading them again", lost.Count, tenantId);
        await AgainAsync(tenantId, lost.Select(c => c.Record), found, ct);
        var written = settled.Where(c => !overtaken.Contains(c.Record.ProfileId) && !found.Contains(c.Record.RowKey)).ToList();
        await RequeueAsync(tenantId, written.Where(c => c.Record.Status == DeliveryStatus.Deferred).Select(c => c.Record).ToList(), now, ct);
        await events.FailedAsync(tenantId, written.Where(c => c.Record.Status == DeliveryStatus.Failed).Select(c => c.Record), ct);
        DeliveryMetrics.Sent.Add(written.Count(c => c.Record.Status == DeliveryStatus.Sent));
        DeliveryMetrics.OutcomeUnknown.Add(written.Count(c => c.Record.Reason == SendOnce.OutcomeUnknown));
    }

    /// <summary>
    /// Deliveries to decide again shortly, because someone else wrote meanwhile: a row that is there is read; a campaign
    /// message whose row was never written (dropped with another row of the same person) goes back as it came, or it
    /// would be looked for and never found.
    /// </summary>
    private async Task AgainAsync(string tenantId, IEnumerable<DeliveryRecord> rows, HashSet<string> existing, CancellationToken ct)
    {
        var list = rows.DistinctBy(r => r.RowKey).ToList();
        var unwritten = list.Where(r => r.ETag == default && r.Campaign is not null && r.Template is not null && !existing.Contains(r.RowKey)).ToList();
        var again = TimeSpan.FromSeconds(2);
        await queue.EnqueueAsync(tenantId, list.Except(unwritten).Select(r => new DeliveryItem(r.ProfileId, r.Key)), again, ct: ct);
        foreach (var g in unwritten.GroupBy(r => (Campaign: r.Campaign!, Template: r.Template!, r.RequestedAt)))
            await queue.EnqueueAsync(tenantId, g.Select(r => new DeliveryItem(r.ProfileId, r.Key)), again, ct: ct,
                unrecorded: new UnrecordedSends(g.Key.Campaign, g.Key.Template, g.Key.RequestedAt));
    }

    /// <summary>A decided message whose campaign was cancelled, or whose brand halted sending, since it was decided.</summary>
    private async Task<DeliveryChange?> StoppedAsync(string tenantId, DeliveryRecord claimed, CancellationToken ct)
    {
        if (claimed.Campaign is { } cid && await cache.CampaignAsync(tenantId, cid, ct) is null or { Status: CampaignStatus.Cancelled })
            return Final(claimed, DeliveryStatus.Cancelled, "campaign_cancelled", null);
        if ((await cache.SendingAsync(tenantId, ct)).Halted)
            return new DeliveryChange(claimed with
            {
                Status = DeliveryStatus.Deferred, Attempts = claimed.Attempts - 1, NotBefore = clock.GetUtcNow() + _settings.HaltRecheck,
                Reason = DeliveryPolicy.Code(ContactVerdict.Halted), Detail = "sending was halted before this message went",
            });
        return null;
    }

    /// <summary>Decides each delivery: reads the people, their send counts when capped, the templates and accounts.</summary>
    private async Task PrepareAsync(string tenantId, TenantSending sending, List<Plan> plans, DateTimeOffset now, CancellationToken ct)
    {
        var people = new Dictionary<string, ProfileState?>(StringComparer.Ordinal);
        await Parallel.ForEachAsync(plans.Select(p => p.Row.ProfileId).Distinct(), new ParallelOptions { MaxDegreeOfParallelism = 16, CancellationToken = ct }, async (pid, token) =>
        {
            var read = await profiles.ResolveAsync(tenantId, pid, token);
            lock (people) people[pid] = read?.State;
        });

        foreach (var p in plans)
        {
            var row = p.Row;
            if (row.Campaign is { } cid)
            {
                var campaign = await cache.CampaignAsync(tenantId, cid, ct);
                if (campaign is null || campaign.Status == CampaignStatus.Cancelled) { p.Change = Final(row, DeliveryStatus.Cancelled, "campaign_cancelled", null); continue; }
                p.Campaign = campaign;
            }
            var profile = people.GetValueOrDefault(row.ProfileId);
            if (profile is null || profile.ErasureRequestedAt is not null) { p.Change = Suppress(row, "profile_gone", "the person is unknown or being erased"); continue; }
            p.Profile = profile;
            var template = row.Template is null ? null : await cache.TemplateAsync(tenantId, row.Template, ct);
            if (template is null) { p.Change = Final(row, DeliveryStatus.Failed, "unknown_template", $"template '{row.Template}' does not exist"); continue; }
            p.Template = template;
            // A campaign's row is made without its channel: it is the template's, and the channel's counters need it.
            if (row.Channel is null) p.Row = row = row with { Channel = template.Channel };
            var values = p.Campaign?.Definition.Message is { } message
                ? message.Variables.ToDictionary(v => v.Key, v => Templates.Render(v.Value, profile.ProfileId, profile, p.Campaign.Definition.Context))
                : row.Variables.ToDictionary(v => v.Key, v => v.Value);
            if (!MessageTemplates.TryRender(template, values, out var fields, out var link, out var absent))
            { p.Change = Final(row, DeliveryStatus.Failed, "missing_variable", $"variable '{absent}' has no value and no default"); continue; }
            var to = Addresses.Of(template, profile);
            if (to is null) { p.Change = Suppress(row, "no_address", $"no {Addresses.Describe(template)} to send to"); continue; }
            var account = await cache.AccountAsync(tenantId, template, ct);
            if (account is null) { p.Change = Final(row, DeliveryStatus.Failed, "channel_not_configured", $"no {template.Channel} account for this brand"); continue; }
            p.Account = account;
            var marketing = template.Purpose == ConsentVocabulary.Marketing;
            p.Message = new ChannelMessage(tenantId, template.Channel, row.Key, to, template.AppId, template.ProviderTemplate, fields, link, row.RowKey, marketing,
                // Every marketing email says how to leave in one click; the link names this person only.
                marketing && template.Channel == ChannelNames.Email ? unsubscribe.For(tenantId, row.ProfileId, ChannelNames.Email) : null);
        }

        foreach (var p in plans.Where(p => p.Change is null)) p.Rules = SendingFor(sending, p, now);
        var capped = plans.Where(p => p.Change is null && DeliveryPolicy.IsCapped(p.Rules!, p.Profile!.Preferences, p.Template!.Channel)).Select(p => p.Row.ProfileId).ToList();
        var counts = capped.Count == 0 ? new() : await store.CountsAsync(tenantId, capped, ct);

        foreach (var p in plans.Where(p => p.Change is null))
        {
            var t = p.Template!;
            var request = new ContactRequest(t.Purpose, t.ConsentChannel, MessageTemplates.IsWeChat(t.Channel) ? t.ProviderTemplate : null, t.Personalised, t.Topic);
            var stored = counts.GetValueOrDefault(p.Row.ProfileId);
            var decision = DeliveryPolicy.Decide(p.Rules!, p.Profile!.Consent, p.Profile.Preferences, request, stored?.Counts, now, _settings.HaltRecheck,
                entitlementHeld: p.Profile.Consent.HoldsEntitlement(p.Row.Key));
            if (decision.Allowed)
            {
                if (stored is not null)
                {
                    stored.Counts.Record(t.Channel, DeliveryPolicy.ZoneOf(p.Profile.Preferences), now);
                    p.Counts = stored;
                }
                p.Change = new DeliveryChange(p.Row with
                {
                    Status = DeliveryStatus.Sending, Attempts = p.Row.Attempts + 1, NotBefore = null, Reason = null, Detail = null,
                    AtMostOnce = SendOnce.AtMostOnce(p.Account!.Dedupes, t.Channel),
                });
            }
            else if (DeliveryPolicy.Defers(decision))
            {
                p.Change = new DeliveryChange(p.Row with { Status = DeliveryStatus.Deferred, NotBefore = decision.NotBefore, Reason = DeliveryPolicy.Code(decision.Verdict), Detail = decision.Reason },
                    CampaignProgress.DeferredFor(DeliveryPolicy.Code(decision.Verdict)));
                DeliveryMetrics.Deferred.Add(1);
            }
            else p.Change = Suppress(p.Row, DeliveryPolicy.Code(decision.Verdict), decision.Reason);
        }
    }

    /// <summary>
    /// The brand's settings as they hold for this message: a WeCom customer message also has WeCom's own monthly limit
    /// per customer (Delivery:WeComMonthlyLimit; 0: the days of the month in China, WeCom's rule), counted as a cap.
    /// </summary>
    private TenantSending SendingFor(TenantSending sending, Plan p, DateTimeOffset now)
    {
        if (p.Template is not { Channel: ChannelNames.WeCom, ProviderTemplate: Siyu.Channels.WeCom.WeComMessages.Customer } || p.Account?.Provider != ChannelProviders.WeCom)
            return sending;
        var china = now.ToOffset(TimeSpan.FromHours(8));
        var limit = _settings.WeComMonthlyLimit > 0 ? _settings.WeComMonthlyLimit : DateTime.DaysInMonth(china.Year, china.Month);
        return DeliveryPolicy.WithMonthlyLimit(sending, ChannelNames.WeCom, limit);
    }

    /// <summary>A subscribe message uses up one of the person's subscriptions before it goes (once per delivery key, however often it is tried); false: none left.</summary>
    private async Task<bool> UseEntitlementAsync(string tenantId, Plan p, CancellationToken ct)
    {
        var held = false;
        var (result, _) = await profiles.UpdateAsync(tenantId, p.Row.ProfileId, s =>
        {
            var before = s.Consent.HoldsEntitlement(p.Row.Key);
            held = s.Consent.UseEntitlement(p.Template!.ProviderTemplate, p.Row.Key);
            return held && !before;
        }, ct: ct);
        if (result is ProfileUpdate.Busy) throw new InvalidOperationException("the profile is busy; the subscription is used on retry");
        return held;
    }

    private DeliveryChange Settle(DeliveryRecord claimed, SendResult result, DateTimeOffset now)
    {
        switch (result.Outcome)
        {
            case SendOutcome.Accepted:
                return new DeliveryChange(claimed with { Status = DeliveryStatus.Sent, ProviderMessageId = result.ProviderMessageId, SentAt = now, Reason = null, Detail = null },
                    new CampaignProgress { Sent = 1 });
            case SendOutcome.Retry when result.MaybeDelivered && claimed.AtMostOnce:
                return Final(claimed, DeliveryStatus.Failed, SendOnce.OutcomeUnknown,
                    $"the provider may have taken it ({result.Code}: {result.Detail}) and does not dedupe, so it was not sent again");
            case SendOutcome.Retry when claimed.Attempts < _settings.MaxAttempts:
                var wait = result.RetryAfter ?? _settings.RetryDelay * Math.Pow(2, claimed.Attempts - 1);
                return new DeliveryChange(claimed with { Status = DeliveryStatus.Deferred, NotBefore = now + wait, Reason = result.Code, Detail = result.Detail },
                    CampaignProgress.DeferredFor(result.Code));
            case SendOutcome.Retry:
                return Final(claimed, DeliveryStatus.Failed, result.Code, $"gave up after {claimed.Attempts} tries: {result.Detail}");
            default:
                return Final(claimed, DeliveryStatus.Failed, result.Code, result.Detail);
        }
    }

    private static DeliveryChange Suppress(DeliveryRecord row, string reason, string? detail) =>
        new(row with { Status = DeliveryStatus.Suppressed, Reason = reason, Detail = detail, NotBefore = null },
            new CampaignProgress { Suppressed = new(StringComparer.Ordinal) { [reason] = 1 } });

    private static DeliveryChange Final(DeliveryRecord row, string status, string reason, string? detail) =>
        new(row with { Status = status, Reason = reason, Detail = detail, NotBefore = null },
            status == DeliveryStatus.Cancelled ? new CampaignProgress { Cancelled = 1 } : CampaignProgress.FailedFor(reason));

    /// <summary>Held deliveries come back at their time, grouped to the minute so they share messages.</summary>
    private async Task RequeueAsync(string tenantId, IReadOnlyList<DeliveryRecord> held, DateTimeOffset now, CancellationToken ct)
    {
        foreach (var group in held.GroupBy(r => (r.NotBefore ?? now).UtcTicks / TimeSpan.TicksPerMinute))
        {
            var due = group.Max(r => r.NotBefore ?? now);
            await queue.EnqueueAsync(tenantId, group.Select(r => new DeliveryItem(r.ProfileId, r.Key)), due - now, ct: ct);
        }
    }

    private sealed class Plan(DeliveryRecord row)
    {
        public DeliveryRecord Row { get; set; } = row;
        public StoredCampaign? Campaign { get; set; }
        public ProfileState? Profile { get; set; }
        public MessageTemplate? Template { get; set; }
        public ChannelAccount? Account { get; set; }
        public ChannelMessage? Message { get; set; }
        public StoredCounts? Counts { get; set; }
        /// <summary>The brand's sending settings as they hold for this message (a provider's own limits folded in).</summary>
        public TenantSending? Rules { get; set; }
        /// <summary>The decision, as a write.</summary>
        public DeliveryChange? Change { get; set; }
        /// <summary>Claimed before sending (the row is written as "sending" first), rather than written once with the outcome.</summary>
        public bool ClaimFirst { get; set; }
        /// <summary>The delivery as it goes out: its claim, or the row as read (or not yet written).</summary>
        public DeliveryRecord? Sending { get; set; }
        /// <summary>The outcome, as a write.</summary>
        public DeliveryChange? Outcome { get; set; }
    }
}

/// <summary>Where tests stop a delivery round as a crash would. Does nothing in the product.</summary>
public interface IDeliveryFaults
{
    /// <summary>Before a chunk of a partition's deliveries is read.</summary>
    Task BeforeChunkAsync(string tenantId, CancellationToken ct);

    /// <summary>After a chunk's sends went to the provider, before their outcomes are recorded.</summary>
    Task AfterSendsAsync(string tenantId, IReadOnlyList<DeliveryRecord> sent, CancellationToken ct);
}

public sealed class NoDeliveryFaults : IDeliveryFaults
{
    public Task BeforeChunkAsync(string tenantId, CancellationToken ct) => Task.CompletedTask;

    public Task AfterSendsAsync(string tenantId, IReadOnlyList<DeliveryRecord> sent, CancellationToken ct) => Task.CompletedTask;
}

/// <summary>Where a template's channel reaches a person: which of their identities or attributes.</summary>
public static class Addresses
{
    public const string EmailAttribute = "email";
    public const string WeComAttribute = "wecomExternalUserId";
    /// <summary>The member (userid) who looks after the person: where a WeCom app message about them goes.</summary>
    public const string WeComOwnerAttribute = "wecomOwnerUserId";

    public static string? Of(MessageTemplate template, ProfileState profile) => template.Channel switch
    {
        ConsentVocabulary.WeChatOfficialAccount or ConsentVocabulary.MiniProgramSubscribe => Identity(profile, $"openid:{template.AppId}:"),
        "sms" => Identity(profile, "phone:"),
        "push" => Identity(profile, "userId:"),
        "email" => Text(profile, EmailAttribute),
        "wecom" => Text(profile, template.ProviderTemplate == Siyu.Channels.WeCom.WeComMessages.App ? WeComOwnerAttribute : WeComAttribute),
        MessageTemplates.Webhook => profile.ProfileId,
        _ => null,
    };

    public static string Describe(MessageTemplate template) => template.Channel switch
    {
        ConsentVocabulary.WeChatOfficialAccount or ConsentVocabulary.MiniProgramSubscribe => $"openid for app {template.AppId}",
        "sms" => "phone number",
        "push" => "userId",
        "email" => $"'{EmailAttribute}' attribute",
        "wecom" => $"'{(template.ProviderTemplate == Siyu.Channels.WeCom.WeComMessages.App ? WeComOwnerAttribute : WeComAttribute)}' attribute",
        _ => "address",
    };

    private static string? Identity(ProfileState profile, string prefix) =>
        profile.Identities.FirstOrDefault(i => i.StartsWith(prefix, StringComparison.Ordinal)) is { } key ? key[prefix.Length..] : null;

    private static string? Text(ProfileState profile, string attribute) =>
        profile.Attributes.GetValueOrDefault(attribute) is System.Text.Json.Nodes.JsonValue v && v.TryGetValue<string>(out var s) && s.Length > 0 ? s : null;
}

public static class DeliveryMetrics
{
    private static readonly System.Diagnostics.Metrics.Meter Meter = new("Siyu.Delivery");
    public static readonly System.Diagnostics.Metrics.Counter<long> Sent = Meter.CreateCounter<long>("siyu.delivery.sent");
    public static readonly System.Diagnostics.Metrics.Counter<long> Deferred = Meter.CreateCounter<long>("siyu.delivery.deferred");
    public static readonly System.Diagnostics.Metrics.Counter<long> Held = Meter.CreateCounter<long>("siyu.delivery.held");
    /// <summary>Sends that went at most once and whose outcome is unknown (a claim never settled, or a timeout): recorded failed, not sent again.</summary>
    public static readonly System.Diagnostics.Metrics.Counter<long> OutcomeUnknown = Meter.CreateCounter<long>("siyu.delivery.outcome_unknown");
}
