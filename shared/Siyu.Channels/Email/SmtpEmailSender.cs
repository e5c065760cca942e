using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using MailKit;
using MailKit.Net.Smtp;
using MailKit.Security;
using MimeKit;
using Siyu.Channels.Sending;

namespace Siyu.Channels.Email;

/// <summary>
/// Email over SMTP (MailKit), one connection per message: TLS always (<c>smtps://</c> on connect, <c>smtp://</c> by
/// STARTTLS, which must be offered), then AUTH with the account's username and password, then the message built with
/// MimeKit from the template's <c>subject</c>, <c>html</c> and <c>text</c>. A marketing email's subject starts with
/// 【广告】 (China's rule for commercial email: "广告" or "AD" at the front) and it carries <c>List-Unsubscribe</c> with
/// <c>List-Unsubscribe-Post: List-Unsubscribe=One-Click</c> (RFC 8058) pointing at our signed unsubscribe endpoint.
/// SMTP has no idempotency key: a message whose DATA may have been taken (the connection lost or timed out after
/// it went) is never sent again; it comes back as Retry with MaybeDelivered, for the delivery worker's at-most-once record.
/// </summary>
internal sealed class SmtpEmailSender(ChannelOptions options, SendRateLimiter limiter, SendAttempts attempts, TimeProvider clock) : IChannelSender
{
    public const string AdPrefix = "【广告】";

    public bool Handles(string channel, string? provider) => channel == ChannelNames.Email && provider == ChannelProviders.Smtp;

    public Task<SendResult> SendAsync(ChannelMessage message, ChannelAccount account, CancellationToken ct)
    {
        if (!SmtpEndpoint.TryParse(account.Url, out var endpoint, out var why))
            return Task.FromResult(SendResult.Rejected("invalid_account", why));
        if (string.IsNullOrEmpty(account.KeyId) || string.IsNullOrEmpty(account.ApiKey))
            return Task.FromResult(SendResult.Rejected("missing_credentials", "An SMTP account needs its username and password."));
        if (!MailboxAddress.TryParse(account.Sender, out var from) || string.IsNullOrEmpty(from.Address))
            return Task.FromResult(SendResult.Rejected("invalid_account", "An SMTP account's sender is its From address, e.g. 品牌 <news@brand.cn>."));
        if (!MailboxAddress.TryParse(message.Recipient, out var to) || !to.Address.Contains('@'))
            return Task.FromResult(SendResult.Rejected("invalid_recipient", "Not an email address."));
        if (!TryBuild(message, from, to, out var mime, out var error, out var code))
            return Task.FromResult(SendResult.Rejected(code, error));
        var send = new Send(message, endpoint, account.KeyId, account.ApiKey, mime);
        return attempts.RunAsync(static (s, token) => s.self.AttemptAsync(s.send, token), (self: this, send), idempotent: false, ct);
    }

    /// <summary>The fields an email template fills.</summary>
    public static readonly IReadOnlySet<string> Fields = new HashSet<string>(StringComparer.Ordinal) { "subject", "html", "text" };

    /// <summary>The MIME message: From, To, the subject (with its 广告 prefix when marketing), text and html alternatives,
    /// a Message-Id derived from the delivery key, our reference, and the one-click unsubscribe headers when marketing.</summary>
    public static bool TryBuild(ChannelMessage message, MailboxAddress from, MailboxAddress to, out MimeMessage mime, out string error, out string code)
    {
        mime = new MimeMessage();
        (error, code) = ("", "email_template_fields");
        if (message.Fields.Keys.FirstOrDefault(k => !Fields.Contains(k)) is { } other)
        { error = $"An email template's fields are subject, html and text, not '{other}'."; return false; }
        var subject = message.Fields.GetValueOrDefault("subject")?.Trim();
        var html = message.Fields.GetValueOrDefault("html");
        var text = message.Fields.GetValueOrDefault("text");
        if (string.IsNullOrEmpty(subject)) { error = "An email needs a subject."; return false; }
        if (string.IsNullOrEmpty(html) && string.IsNullOrEmpty(text)) { error = "An email needs an html or a text body."; return false; }
        if (message.Marketing && string.IsNullOrEmpty(message.UnsubscribeUrl))
        { (error, code) = ("A marketing email carries a one-click unsubscribe link, and none was given (Delivery:PublicBaseUrl).", "unsubscribe_not_configured"); return false; }

        mime.From.Add(from);
        mime.To.Add(to);
        mime.Subject = message.Marketing ? WithAdPrefix(subject) : subject;
        mime.MessageId = $"{Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(message.TenantId + "\n" + message.IdempotencyKey)))[..40]}@{Domain(from)}";
        mime.Headers.Add("X-Siyu-Reference", message.Reference);
        if (message.Marketing)
        {
            mime.Headers.Add(HeaderId.ListUnsubscribe, $"<{message.UnsubscribeUrl}>");
            mime.Headers.Add("List-Unsubscribe-Post", "List-Unsubscribe=One-Click");
        }
        var body = new BodyBuilder { TextBody = string.IsNullOrEmpty(text) ? null : text, HtmlBody = string.IsNullOrEmpty(html) ? null : html };
        mime.Body = body.ToMessageBody();
        return true;
    }

    /// <summary>"【广告】" before the subject, unless it already starts with 广告 or AD.</summary>
    public static string WithAdPrefix(string subject)
    {
        var bare = subject.TrimStart('【', '[', '(', '（', ' ');
        return bare.StartsWith("广告", StringComparison.Ordinal) || bare.StartsWith("AD", StringComparison.OrdinalIgnoreCase) && (bare.Length == 2 || !char.IsAsciiLetter(bare[2]))
            ? subject : AdPrefix + subject;
    }

    private static string Domain(MailboxAddress from) => from.Address[(from.Address.LastIndexOf('@') + 1)..] is { Length: > 0 } d ? d : "siyu.local";

    private async Task<Attempt> AttemptAsync(Send send, CancellationToken ct)
    {
        await limiter.AcquireAsync(send.Message.Channel, send.Message.TenantId, ct);
        using var timeout = new CancellationTokenSource(options.Timeout, clock);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(ct, timeout.Token);
        using var client = new SmtpClient { Timeout = (int)Math.Min(int.MaxValue, options.Timeout.TotalMilliseconds) };
        if (options.SmtpTrustedCertificates is { Count: > 0 } trusted)
            client.ServerCertificateValidationCallback = (_, certificate, _, errors) =>
                errors == System.Net.Security.SslPolicyErrors.None
                || certificate is not null && trusted.Contains(Convert.ToHexString(SHA256.HashData(certificate.GetRawCertData())), StringComparer.OrdinalIgnoreCase);
        var data = false;
        try
        {
            await client.ConnectAsync(send.Endpoint.Host, send.Endpoint.Port, send.Endpoint.ImplicitTls ? SecureSocketOptions.SslOnConnect : SecureSocketOptions.StartTls, linked.Token);
            await client.AuthenticateAsync(send.Username, send.Password, linked.Token);
            data = true;
            var answer = await client.SendAsync(send.Mime, linked.Token);
            try { await client.DisconnectAsync(quit: true, linked.Token); } catch (Exception e) when (e is IOException or SmtpProtocolException or OperationCanceledException) { }
            return Attempt.Final(SendResult.Accepted(send.Mime.MessageId));
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            return Attempt.Again("timeout", $"No answer within {options.Timeout.TotalSeconds:0.###} s.", maybeDelivered: data);
        }
        catch (AuthenticationException e)
        {
            return Attempt.Final(SendResult.Rejected("unauthorized", "SMTP AUTH refused: " + e.Message));
        }
        catch (SslHandshakeException e)
        {
            return Attempt.Final(SendResult.Rejected("tls_failed", "TLS with the SMTP server failed: " + e.Message));
        }
        catch (NotSupportedException e) when (!data)
        {
            // STARTTLS not offered: we do not send credentials or mail in the clear.
            return Attempt.Final(SendResult.Rejected("tls_required", e.Message));
        }
        catch (SmtpCommandException e)
        {
            return Interpret(e);
        }
        catch (Exception e) when (e is SocketException or IOException or SmtpProtocolException or TimeoutException)
        {
            // Before the message went, nothing was taken; once it may have, it is not sent again.
            return Attempt.Again(data ? "connection_lost" : "network", e.Message, maybeDelivered: data);
        }
    }

    /// <summary>An SMTP reply code to MAIL, RCPT or DATA: 4xx not now, 5xx never; 550/551/553 to RCPT the address.</summary>
    internal static Attempt Interpret(SmtpCommandException e)
    {
        var status = (int)e.StatusCode;
        var detail = $"SMTP {status}: {e.Message}";
        if (status is 421 or 450 or 451 or 452 or 454)
            return Attempt.Again($"smtp_{status}", detail, maybeDelivered: false, status == 452 ? TimeSpan.FromMinutes(5) : null);
        if (e.ErrorCode == SmtpErrorCode.RecipientNotAccepted && status is 550 or 551 or 553)
            return Attempt.Final(SendResult.Rejected("invalid_recipient", detail));
        if (status is 530 or 535) return Attempt.Final(SendResult.Rejected("unauthorized", detail));
        return status is >= 400 and < 500 ? Attempt.Again($"smtp_{status}", detail, maybeDelivered: false) : Attempt.Final(SendResult.Rejected($"smtp_{status}", detail));
    }

    private sealed record Send(ChannelMessage Message, SmtpEndpoint Endpoint, string Username, string Password, MimeMessage Mime);
}

/// <summary>An SMTP account's server: <c>smtps://host[:465]</c> (TLS on connect) or <c>smtp://host[:587]</c> (STARTTLS).</summary>
public sealed record SmtpEndpoint(string Host, int Port, bool ImplicitTls)
{
    public static bool TryParse(string? url, out SmtpEndpoint endpoint, out string error)
    {
        endpoint = new SmtpEndpoint("", 0, false);
        error = "";
        if (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || uri.Scheme is not ("smtp" or "smtps") || string.IsNullOrEmpty(uri.Host)
            || uri.AbsolutePath is not ("" or "/") || !string.IsNullOrEmpty(uri.Query) || !string.IsNullOrEmpty(uri.UserInfo))
        {
            error = "url: smtps://host[:465] (TLS on connect) or smtp://host[:587] (STARTTLS), without credentials or a path";
            return false;
        }
        var implicitTls = uri.Scheme == "smtps";
        endpoint = new SmtpEndpoint(uri.Host, uri.IsDefaultPort || uri.Port <= 0 ? implicitTls ? 465 : 587 : uri.Port, implicitTls);
        return true;
    }
}
