using System.Buffers;
using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using MimeKit;
using SmtpServer;
using SmtpServer.Authentication;
using SmtpServer.Mail;
using SmtpServer.Protocol;
using SmtpServer.Storage;

namespace Siyu.FakeProviders;

/// <summary>One message the fake SMTP server took, as its MIME said it.</summary>
public sealed record ReceivedEmail(string Username, string From, string To, string Subject, string? Text, string? Html, IReadOnlyDictionary<string, string> Headers);

/// <summary>
/// An SMTP relay as a brand's mail service runs one (SmtpServer): STARTTLS offered with a self-signed certificate
/// (<see cref="SmtpCertificateThumbprint"/>, its SHA-256), AUTH PLAIN/LOGIN required and refused before TLS, only the
/// users registered with <see cref="RegisterSmtpUser"/>. A scripted fault for a recipient refuses it at RCPT (a 5xx:
/// the mailbox does not exist), answers DATA with a 4xx, or takes the message and holds the answer. SMTP has no
/// idempotency key: every message taken counts, and one repeating a Message-Id counts in <see cref="Repeated"/>.
/// </summary>
public sealed partial class FakeProviderServer
{
    private readonly ConcurrentDictionary<string, string> smtpUsers = new(StringComparer.Ordinal);
    private readonly ConcurrentQueue<ReceivedEmail> emails = new();
    private SmtpServer.SmtpServer? smtp;
    private CancellationTokenSource? smtpStop;
    private X509Certificate2? smtpCertificate;

    /// <summary>The SMTP port (0 until <see cref="StartSmtpAsync"/>).</summary>
    public int SmtpPort { get; private set; }

    /// <summary>The SHA-256 thumbprint (hex) of the certificate STARTTLS presents, for Channels:SmtpTrustedCertificates.</summary>
    public string SmtpCertificateThumbprint => smtpCertificate is null ? "" : Convert.ToHexString(SHA256.HashData(smtpCertificate.RawData));

    public IReadOnlyList<ReceivedEmail> Emails => emails.ToArray();

    /// <summary>A username and password the SMTP server accepts.</summary>
    public void RegisterSmtpUser(string username, string password) => smtpUsers[username] = password;

    /// <summary>Starts the SMTP server on 127.0.0.1 (port 0: a free one).</summary>
    public Task StartSmtpAsync(int port = 0)
    {
        if (smtp is not null) return Task.CompletedTask;
        if (port == 0)
        {
            using var probe = new TcpListener(IPAddress.Loopback, 0);
            probe.Start();
            port = ((IPEndPoint)probe.LocalEndpoint).Port;
            probe.Stop();
        }
        smtpCertificate = SelfSigned();
        var options = new SmtpServerOptionsBuilder()
            .ServerName("smtp.fake.local")
            .Endpoint(e => e.Endpoint(new IPEndPoint(IPAddress.Loopback, port)).Certificate(smtpCertificate).AllowUnsecureAuthentication(false).AuthenticationRequired(true))
            .Build();
        var services = new SmtpServer.ComponentModel.ServiceProvider();
        services.Add(new SmtpUsers(this));
        services.Add(new DelegatingMailboxFilter((_, _) => true, (_, to, _) => RecipientAccepted(to.AsAddress())));
        services.Add(new SmtpStore(this));
        smtp = new SmtpServer.SmtpServer(options, services);
        smtpStop = new CancellationTokenSource();
        _ = smtp.StartAsync(smtpStop.Token);
        SmtpPort = port;
        return Task.CompletedTask;
    }

    private async ValueTask StopSmtpAsync()
    {
        if (smtp is null) return;
        smtpStop!.Cancel();
        smtp.Shutdown();
        try { await smtp.ShutdownTask.WaitAsync(TimeSpan.FromSeconds(5)); } catch (Exception e) when (e is TimeoutException or OperationCanceledException) { }
        smtpCertificate?.Dispose();
    }

    private static X509Certificate2 SelfSigned()
    {
        using var key = RSA.Create(2048);
        var request = new CertificateRequest("CN=smtp.fake.local", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        var san = new SubjectAlternativeNameBuilder();
        san.AddIpAddress(IPAddress.Loopback);
        san.AddDnsName("localhost");
        request.CertificateExtensions.Add(san.Build());
        using var made = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(30));
        return X509CertificateLoader.LoadPkcs12(made.Export(X509ContentType.Pfx), null);
    }

    /// <summary>RCPT: a recipient whose scripted fault is a 5xx does not exist here.</summary>
    private bool RecipientAccepted(string address)
    {
        BeginSendAsync(address, CancellationToken.None).GetAwaiter().GetResult();
        if (faults.TryGetValue(address, out var queue) && queue.TryPeek(out var fault) && fault is { Kind: FaultKind.HttpStatus, Status: >= 500 })
        {
            queue.TryDequeue(out _);
            return false;
        }
        return true;
    }

    private async Task<SmtpResponse> SaveAsync(ISessionContext context, ReadOnlySequence<byte> buffer, CancellationToken ct)
    {
        using var stream = new MemoryStream(buffer.ToArray());
        var mime = await MimeMessage.LoadAsync(stream, ct);
        var to = mime.To.Mailboxes.FirstOrDefault()?.Address ?? "";
        var fault = TakeFault(to);
        if (fault is { Kind: FaultKind.HttpStatus, Status: >= 400 and < 500 }) return new SmtpResponse((SmtpReplyCode)fault.Status, fault.Message ?? "try again later");
        var headers = mime.Headers.GroupBy(h => h.Field, StringComparer.OrdinalIgnoreCase).ToDictionary(g => g.Key, g => g.Last().Value, StringComparer.OrdinalIgnoreCase);
        var email = new ReceivedEmail(context.Authentication.User ?? "", mime.From.Mailboxes.FirstOrDefault()?.ToString() ?? "", to, mime.Subject ?? "", mime.TextBody, mime.HtmlBody, headers);
        emails.Enqueue(email);
        var fields = new Dictionary<string, string> { ["subject"] = email.Subject };
        if (email.Text is not null) fields["text"] = email.Text;
        if (email.Html is not null) fields["html"] = email.Html;
        Take("smtp\n" + mime.MessageId, _ => new AcceptedMessage("email", null, to, "email", null, mime.MessageId ?? "", fields, null,
            headers.GetValueOrDefault("X-Siyu-Reference"), email.From, DateTimeOffset.UtcNow), dedupes: false);
        if (fault?.Kind == FaultKind.AcceptThenHang) await Task.Delay(fault.Delay ?? TimeSpan.FromSeconds(30), ct).ContinueWith(_ => { }, CancellationToken.None);
        return SmtpResponse.Ok;
    }

    private sealed class SmtpUsers(FakeProviderServer fake) : IUserAuthenticator
    {
        public Task<bool> AuthenticateAsync(ISessionContext context, string user, string password, CancellationToken cancellationToken) =>
            Task.FromResult(fake.smtpUsers.TryGetValue(user, out var known) && CryptographicOperations.FixedTimeEquals(
                System.Text.Encoding.UTF8.GetBytes(known), System.Text.Encoding.UTF8.GetBytes(password)));
    }

    private sealed class SmtpStore(FakeProviderServer fake) : MessageStore
    {
        public override Task<SmtpResponse> SaveAsync(ISessionContext context, IMessageTransaction transaction, ReadOnlySequence<byte> buffer, CancellationToken cancellationToken) =>
            fake.SaveAsync(context, buffer, cancellationToken);
    }
}
