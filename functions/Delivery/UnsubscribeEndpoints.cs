using System.Text.Json.Nodes;
using Microsoft.Extensions.Options;
using Siyu.Channels;
using Siyu.Core.Consent;
using Siyu.Core.Delivery;
using Siyu.Core.Events;
using Siyu.Core.Storage;
using Siyu.Core.Tenants;
using Siyu.Functions.Api;
using Siyu.Functions.Ingestion;
using Siyu.Functions.Tenants;
using Siyu.Storage.Profiles;

namespace Siyu.Functions.Delivery;

/// <summary>
/// The one-click unsubscribe links a marketing email carries (<c>List-Unsubscribe</c> with <c>List-Unsubscribe-Post:
/// List-Unsubscribe=One-Click</c>, RFC 8058), signed per person (<see cref="UnsubscribeToken"/>, keyed from
/// <c>Secrets:EncryptionKey</c>). <see cref="For"/> builds one from <c>Delivery:PublicBaseUrl</c>.
/// </summary>
public sealed class UnsubscribeLinks(IOptions<DeliverySettings> settings, IConfiguration config)
{
    // Without a configured secret (a local emulator) a fixed development key signs the links, and they are only as good as that.
    private readonly byte[] key = UnsubscribeToken.DeriveKey(config["Secrets:EncryptionKey"] is { Length: > 0 } secret
        ? Convert.FromBase64String(secret) : System.Text.Encoding.UTF8.GetBytes("siyu-development-only"));

    /// <summary>The person's unsubscribe link for a channel, or null when the app's public address is not configured.</summary>
    public string? For(string tenantId, string profileId, string channel) =>
        settings.Value.PublicBaseUrl is { Length: > 0 } root
            ? $"{root.TrimEnd('/')}/api/unsubscribe/{tenantId}/{profileId}/{channel}?t={UnsubscribeToken.Compute(key, tenantId, profileId, channel)}"
            : null;

    public bool Matches(string tenantId, string profileId, string channel, string? token) => UnsubscribeToken.Matches(key, tenantId, profileId, channel, token);
}

/// <summary>
/// GET shows a page with one button (a mail client's link scanner must not unsubscribe anyone); POST, from that
/// button or from the mail client's one-click, withdraws the person's <c>marketing</c> consent on that channel in the
/// ledger (source <c>unsubscribe_link</c>), through the ingest queue like every consent. Public: the link's token is
/// the authentication, and it names one person of one tenant on one channel.
/// </summary>
public static class UnsubscribeEndpoints
{
    private const string Route = "/api/unsubscribe/{tenant}/{profile}/{channel}";

    public static void MapUnsubscribe(this IEndpointRouteBuilder app)
    {
        app.MapGet(Route, PageAsync)
            .AllowPublic().WithTags("Consent")
            .WithName("UnsubscribePage")
            .WithSummary("The page of a marketing email's unsubscribe link: one button that unsubscribes (nothing changes on GET)")
            .Produces(StatusCodes.Status200OK, contentType: "text/html")
            .ProducesProblem(StatusCodes.Status404NotFound);
        app.MapPost(Route, UnsubscribeAsync)
            .AllowPublic().WithTags("Consent")
            .WithName("Unsubscribe")
            .WithSummary("One-click unsubscribe (RFC 8058 List-Unsubscribe-Post, or the page's button): withdraws the person's marketing consent on the channel")
            .Produces(StatusCodes.Status200OK, contentType: "text/html")
            .ProducesProblem(StatusCodes.Status404NotFound);
    }

    private static async Task<IResult?> CheckAsync(string tenant, string profile, string channel, string? token, UnsubscribeLinks links, ProfileStore profiles, CancellationToken ct)
    {
        // Every mismatch is the same 404: a link reveals nothing about which part was wrong.
        var notFound = Problems.NotFound("unsubscribe_link_not_found", "this unsubscribe link is not valid");
        if (!TenantRules.IsValidTenantId(tenant) || !Ids.IsProfileId(profile) || channel != ChannelNames.Email || !links.Matches(tenant, profile, channel, token)) return notFound;
        var read = await profiles.ReadAsync(tenant, profile, ct);
        return read is null || read.Value.State.ErasureRequestedAt is not null ? notFound : null;
    }

    private static async Task<IResult> PageAsync(string tenant, string profile, string channel, string? t, UnsubscribeLinks links, ProfileStore profiles, CancellationToken ct)
    {
        if (await CheckAsync(tenant, profile, channel, t, links, profiles, ct) is { } problem) return problem;
        return Results.Content($$"""
            <!doctype html><html lang="zh-CN"><meta charset="utf-8"><meta name="viewport" content="width=device-width">
            <title>退订营销邮件 / Unsubscribe</title>
            <form method="post"><input type="hidden" name="List-Unsubscribe" value="One-Click">
            <p>不再接收我们的营销邮件？ Stop receiving our marketing email?</p>
            <button type="submit">退订 / Unsubscribe</button></form></html>
            """, "text/html; charset=utf-8");
    }

    private static async Task<IResult> UnsubscribeAsync(string tenant, string profile, string channel, string? t, HttpContext http, UnsubscribeLinks links, ProfileStore profiles,
        IngestQueue ingest, TimeProvider clock, CancellationToken ct)
    {
        if (await CheckAsync(tenant, profile, channel, t, links, profiles, ct) is { } problem) return problem;
        var oneClick = http.Request.HasFormContentType && (await http.Request.ReadFormAsync(ct))["List-Unsubscribe"] == "One-Click";
        var now = clock.GetUtcNow();
        await ingest.EnqueueAsync(tenant, [new IncomingEvent
        {
            // Clicked twice in the same minute, it is recorded once.
            MessageId = $"unsubscribe:{profile}:{channel}:{now.UtcTicks / TimeSpan.TicksPerMinute}",
            Type = EventType.Consent,
            Name = ConsentFacts.EventName,
            Identities = [],
            ProfileId = profile,
            Properties = new JsonObject
            {
                ["purpose"] = ConsentVocabulary.Marketing, ["channel"] = channel, ["status"] = "withdrawn", ["source"] = "unsubscribe_link",
                ["evidence"] = oneClick ? "one-click unsubscribe (List-Unsubscribe-Post) from a marketing email" : "unsubscribe link of a marketing email",
            },
            Timestamp = now,
            ReceivedAt = now,
            Source = "unsubscribe",
        }], ct);
        return Results.Content("""
            <!doctype html><html lang="zh-CN"><meta charset="utf-8"><title>已退订 / Unsubscribed</title>
            <p>您已退订营销邮件。 You will receive no more marketing email from us.</p></html>
            """, "text/html; charset=utf-8");
    }
}
