namespace Siyu.FakeProviders;

/// <summary>
/// The fake's own endpoints, for the benchmark and the local run: <c>GET /fake/stats</c>, registering apps and API
/// keys, <c>POST /fake/reset</c>, and a receipt sink (<c>POST /fake/receipts</c>) that keeps what arrives.
/// </summary>
public sealed partial class FakeProviderServer
{
    private void MapAdmin(WebApplication web)
    {
        web.MapGet("/fake/stats", () => Results.Json(Stats()));
        // The local run reads this to trust the fake's self-signed STARTTLS certificate (Channels:SmtpTrustedCertificates).
        web.MapGet("/fake/smtp", () => Results.Json(new { port = SmtpPort, certificateSha256 = SmtpCertificateThumbprint }));
        web.MapPut("/fake/apps/{appId}", (string appId, AppRegistration body) =>
        {
            RegisterApp(appId, body.Secret);
            return Results.NoContent();
        });
        web.MapPut("/fake/api-keys/{key}", (string key, bool? dedupes) =>
        {
            RegisterApiKey(key, dedupes ?? true);
            return Results.NoContent();
        });
        web.MapPost("/fake/reset", () =>
        {
            Reset();
            return Results.NoContent();
        });
        web.MapPost("/fake/receipts", async (HttpContext http) =>
        {
            using var buffer = new MemoryStream();
            await http.Request.Body.CopyToAsync(buffer, http.RequestAborted);
            receivedReceipts.Enqueue(new ReceivedReceipt(buffer.ToArray(), http.Request.Headers["X-Siyu-Signature"].FirstOrDefault()));
            return Results.NoContent();
        });
    }

    /// <summary>The counters of <c>GET /fake/stats</c>.</summary>
    public FakeStats Stats()
    {
        var perRecipient = acceptedByRecipient.ToArray();
        return new(
            Requests,
            Volatile.Read(ref acceptedCount),
            Duplicates,
            Repeated,
            tokenRequests.ToDictionary(p => p.Key, p => p.Value, StringComparer.Ordinal),
            ReceiptsSent,
            Volatile.Read(ref receiptsUndelivered),
            receivedReceipts.Count)
        {
            Recipients = perRecipient.Length,
            MaxPerRecipient = perRecipient.Length == 0 ? 0 : perRecipient.Max(p => p.Value),
            RecipientsMoreThanOnce = perRecipient.Where(p => p.Value > 1).ToDictionary(p => p.Key, p => p.Value, StringComparer.Ordinal),
        };
    }

    public sealed record AppRegistration(string Secret);
}

/// <summary>What the fake has seen: send requests, messages accepted, repeats absorbed, repeats sent again as another
/// message (by a key that does not dedupe), token requests per app, receipts sent (and failed to send), receipts
/// received by its own sink.</summary>
public sealed record FakeStats(
    int Requests, int Accepted, int Duplicates, int Repeated, IReadOnlyDictionary<string, int> TokenRequests,
    int ReceiptsSent, int ReceiptsUndelivered, int ReceiptsReceived)
{
    /// <summary>People (openids, phones, addresses, webhook "to"s) who got at least one unique message.</summary>
    public int Recipients { get; init; }

    /// <summary>The most unique messages any one recipient got: 1 when nobody got two.</summary>
    public int MaxPerRecipient { get; init; }

    /// <summary>Each recipient who got more than one unique message, with how many; empty when nobody got two.</summary>
    public IReadOnlyDictionary<string, int> RecipientsMoreThanOnce { get; init; } = new Dictionary<string, int>();
}
