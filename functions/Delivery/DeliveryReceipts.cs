using System.Text.Json.Nodes;
using Azure;
using Siyu.Core.Delivery;
using Siyu.Core.Events;
using Siyu.Functions.Ingestion;
using Siyu.Storage.Delivery;

namespace Siyu.Functions.Delivery;

/// <summary>
/// Turns what happened to a message into profile events, so journeys can wait on them: <c>message.delivered</c> and
/// <c>message.failed</c>, with the delivery's key, channel, template, journey or campaign, and reason. Their ids derive
/// from the delivery and outcome, so a repeat is stored once.
/// </summary>
public sealed class DeliveryEvents(IngestQueue ingest, TimeProvider clock)
{
    public const string Delivered = "message.delivered";
    public const string Failed = "message.failed";

    public Task FailedAsync(string tenantId, IEnumerable<DeliveryRecord> failed, CancellationToken ct) => EmitAsync(tenantId, failed, Failed, ct);

    public Task DeliveredAsync(string tenantId, IEnumerable<DeliveryRecord> delivered, CancellationToken ct) => EmitAsync(tenantId, delivered, Delivered, ct);

    private async Task EmitAsync(string tenantId, IEnumerable<DeliveryRecord> records, string name, CancellationToken ct)
    {
        var now = clock.GetUtcNow();
        var events = records.Select(r => new IncomingEvent
        {
            MessageId = $"delivery:{r.Key}:{name}",
            Type = EventType.Track,
            Name = name,
            Identities = [],
            ProfileId = r.ProfileId,
            Properties = Properties(r),
            Timestamp = now,
            ReceivedAt = now,
            Source = "delivery",
        }).ToList();
        if (events.Count > 0) await ingest.EnqueueAsync(tenantId, events, ct);
    }

    private static JsonObject Properties(DeliveryRecord r)
    {
        var p = new JsonObject { ["deliveryKey"] = r.Key, ["channel"] = r.Channel, ["template"] = r.Template };
        if (r.Journey is not null) p["journey"] = r.Journey;
        if (r.Campaign is not null) p["campaign"] = r.Campaign;
        if (r.Reason is not null) p["reason"] = r.Reason;
        return p;
    }
}

/// <summary>
/// Delivery receipts: a provider's callback (by our reference) or WeChat's own pushes (<c>TEMPLATESENDJOBFINISH</c>,
/// subscribe-message sent events, by the message id WeChat gave us). A receipt moves a sent delivery to delivered or
/// failed, with the counters, and becomes a profile event; it also settles a send recorded failed with an unknown
/// outcome (see <see cref="SendOnce"/>). A receipt for a delivery whose send is still being recorded is looked at
/// again shortly; a repeated receipt changes nothing.
/// </summary>
public sealed class DeliveryReceipts(DeliveryStore store, DeliveryEvents events, TimeProvider clock, ILogger<DeliveryReceipts> log)
{
    public enum Result { Applied, Unchanged, NotFound, NotYet }

    /// <summary>Applies one receipt to one delivery. <paramref name="delivered"/> false is a failure with <paramref name="reason"/>.</summary>
    public async Task<Result> ApplyAsync(string tenantId, string profileId, string key, bool delivered, string? reason, string? detail, CancellationToken ct)
    {
        for (var attempt = 0; attempt < 10; attempt++)
        {
            var row = await store.GetAsync(tenantId, profileId, key, ct);
            if (row is null && attempt >= 5) return Result.NotFound;
            if (row is null || row.Status is DeliveryStatus.Sending or DeliveryStatus.Deferred or DeliveryStatus.Queued or DeliveryStatus.Requested)
            {
                // The provider sent the receipt before we recorded its acceptance (a campaign message's row is written
                // with its outcome): that record is a moment away.
                if (attempt >= 5) return Result.NotYet;
                await Task.Delay(TimeSpan.FromMilliseconds(200 * (attempt + 1)), ct);
                continue;
            }
            // A send that went at most once and whose answer was lost is recorded failed / outcome_unknown: the provider's
            // receipt is the answer. Delivered, it counts as sent and delivered after all; failed, it already counts so.
            var unknown = row is { Status: DeliveryStatus.Failed, Reason: SendOnce.OutcomeUnknown };
            if (row.Status != DeliveryStatus.Sent && !unknown) return Result.Unchanged;
            if (unknown && !delivered)
            {
                // The failure is counted already, as outcome_unknown: it moves to the provider's reason.
                var why = reason ?? "failed";
                var settled = new DeliveryChange(row with { Reason = why, Detail = detail }, why == SendOnce.OutcomeUnknown ? new CampaignProgress()
                    : new CampaignProgress { FailedBy = new(StringComparer.Ordinal) { [SendOnce.OutcomeUnknown] = -1, [why] = 1 } });
                var (lost, _, _) = await store.CommitAsync(row.Partition, [settled], null, clock.GetUtcNow(), ct);
                if (lost.Count > 0) continue;
                return Result.Applied; // its message.failed went out when it was recorded unknown
            }
            var next = delivered
                ? new DeliveryChange(row with { Status = DeliveryStatus.Delivered, Reason = null, Detail = null },
                    unknown ? new CampaignProgress { Failed = -1, FailedBy = new(StringComparer.Ordinal) { [SendOnce.OutcomeUnknown] = -1 }, Sent = 1, Delivered = 1 } : new CampaignProgress { Delivered = 1 })
                : new DeliveryChange(row with { Status = DeliveryStatus.Failed, Reason = reason ?? "failed", Detail = detail }, new CampaignProgress { Sent = -1, Failed = 1, FailedBy = new(StringComparer.Ordinal) { [reason ?? "failed"] = 1 } });
            var (conflicted, _, _) = await store.CommitAsync(row.Partition, [next], null, clock.GetUtcNow(), ct);
            if (conflicted.Count > 0) continue;
            if (delivered) await events.DeliveredAsync(tenantId, [next.Record], ct);
            else await events.FailedAsync(tenantId, [next.Record], ct);
            return Result.Applied;
        }
        return Result.NotYet;
    }

    /// <summary>WeChat's receipts, as ingestion stores them: applied to the person's delivery with that WeChat message id.</summary>
    public async Task FromEventsAsync(string tenantId, IEnumerable<(string ProfileId, IncomingEvent Event)> stored, CancellationToken ct)
    {
        foreach (var (pid, e) in stored)
        {
            var receipts = WeChatReceipts(e).ToList();
            if (receipts.Count == 0) continue;
            var deliveries = await store.ForProfileAsync(tenantId, pid, ct);
            foreach (var (msgId, ok, reason) in receipts)
            {
                var delivery = deliveries.FirstOrDefault(d => d.ProviderMessageId == msgId);
                if (delivery is null) { log.LogInformation("WeChat receipt for message {MsgId} matches no delivery of {Profile}", msgId, pid); continue; }
                await ApplyAsync(tenantId, pid, delivery.Key, ok, reason, null, ct);
            }
        }
    }

    /// <summary>(WeChat msgid, delivered?, reason) of a template-send or subscribe-send receipt event.</summary>
    public static IEnumerable<(string MsgId, bool Delivered, string? Reason)> WeChatReceipts(IncomingEvent e)
    {
        if (!e.Source.StartsWith("wechat:", StringComparison.Ordinal)) yield break;
        if (e.Name == "wechat.template_send_finished" && Text(e.Properties?["msgId"]) is { } id)
        {
            // Status is "success", "failed:user block" or "failed: system failed".
            var status = Text(e.Properties!["status"]) ?? "";
            var ok = status == "success";
            yield return (id, ok, ok ? null : "wechat_" + new string(status.Replace("failed", "").Where(char.IsLetter).ToArray()).ToLowerInvariant() switch
            {
                "userblock" => "user_block",
                "systemfailed" => "system_failed",
                var other => other.Length == 0 ? "failed" : other,
            });
        }
        if (e.Name == "wechat.subscribe_msg_sent" && e.Properties?["items"] is JsonArray items)
        {
            foreach (var item in items.OfType<JsonObject>())
            {
                if (Text(item["msgId"]) is not { } msgId) continue;
                var code = Text(item["errorCode"]) ?? "0";
                yield return (msgId, code == "0", code == "0" ? null : $"wechat_{code}");
            }
        }
    }

    private static string? Text(JsonNode? node) => node is JsonValue v
        ? v.TryGetValue<string>(out var s) ? s : v.TryGetValue<long>(out var n) ? n.ToString(System.Globalization.CultureInfo.InvariantCulture) : null
        : null;
}
