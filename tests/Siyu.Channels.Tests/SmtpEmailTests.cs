using MimeKit;
using Siyu.Channels.Email;
using Siyu.FakeProviders;

namespace Siyu.Channels.Tests;

/// <summary>Email over SMTP (MailKit) against the fake's SMTP server: STARTTLS with its certificate, AUTH, then the message.</summary>
public sealed class SmtpEmailTests
{
    private static ChannelMessage Email(string key, string to = "jing@customer.example", bool marketing = true, string? unsubscribe = "https://siyu.example/api/unsubscribe/t1/p1/email?t=abc") =>
        new(Harness.Tenant, ChannelNames.Email, key, to, null, "spring_sale",
            new Dictionary<string, string> { ["subject"] = "春季上新", ["html"] = "<p>静静, 满100减20</p>", ["text"] = "静静, 满100减20" }, null, "p1~d~" + key,
            marketing, marketing ? unsubscribe : null);

    [Fact]
    public async Task A_marketing_email_goes_over_STARTTLS_and_AUTH_marked_as_an_ad_with_its_one_click_unsubscribe()
    {
        await using var h = await Harness.StartAsync(smtp: true);

        var result = await h.Senders.SendAsync(Email("d~e1"), h.SmtpAccount, default);

        Assert.True(result.Outcome == SendOutcome.Accepted, result.ToString());
        var mail = Assert.Single(h.Fake.Emails);
        Assert.Equal((Harness.SmtpUser, "jing@customer.example", "【广告】春季上新"), (mail.Username, mail.To, mail.Subject));
        Assert.Contains("news@brand.example", mail.From);
        Assert.Equal(("静静, 满100减20", "<p>静静, 满100减20</p>"), (mail.Text?.Trim(), mail.Html?.Trim()));
        Assert.Equal("<https://siyu.example/api/unsubscribe/t1/p1/email?t=abc>", mail.Headers["List-Unsubscribe"]);
        Assert.Equal("List-Unsubscribe=One-Click", mail.Headers["List-Unsubscribe-Post"]);
        Assert.Equal("p1~d~d~e1", mail.Headers["X-Siyu-Reference"]);
        Assert.Equal(Assert.Single(h.Fake.Accepted).ProviderMessageId, result.ProviderMessageId);
    }

    [Fact]
    public async Task A_service_email_has_neither_the_ad_prefix_nor_an_unsubscribe_header()
    {
        await using var h = await Harness.StartAsync(smtp: true);

        Assert.Equal(SendOutcome.Accepted, (await h.Senders.SendAsync(Email("d~e2", marketing: false), h.SmtpAccount, default)).Outcome);

        var mail = Assert.Single(h.Fake.Emails);
        Assert.Equal("春季上新", mail.Subject);
        Assert.False(mail.Headers.ContainsKey("List-Unsubscribe"));
    }

    [Theory]
    [InlineData("春季上新", "【广告】春季上新")]
    [InlineData("广告：春季上新", "广告：春季上新")]
    [InlineData("【广告】春季上新", "【广告】春季上新")]
    [InlineData("AD Spring sale", "AD Spring sale")]
    [InlineData("[AD] Spring sale", "[AD] Spring sale")]
    [InlineData("Adventure awaits", "【广告】Adventure awaits")]
    public void The_ad_prefix_is_added_once(string subject, string sent) => Assert.Equal(sent, SmtpEmailSender.WithAdPrefix(subject));

    [Fact]
    public async Task A_wrong_password_is_unauthorized_and_an_unknown_mailbox_is_an_invalid_recipient()
    {
        await using var h = await Harness.StartAsync(smtp: true);
        h.Fake.FailNext("nobody@customer.example", Fault.Http(550));

        var wrong = await h.Senders.SendAsync(Email("d~e3"), h.SmtpAccount with { ApiKey = "not-the-password" }, default);
        var nobody = await h.Senders.SendAsync(Email("d~e4", to: "nobody@customer.example"), h.SmtpAccount, default);

        Assert.Equal((SendOutcome.Rejected, "unauthorized"), (wrong.Outcome, wrong.Code));
        Assert.Equal((SendOutcome.Rejected, "invalid_recipient"), (nobody.Outcome, nobody.Code));
        Assert.Empty(h.Fake.Emails);
    }

    [Fact]
    public async Task A_server_whose_certificate_is_not_trusted_gets_neither_the_password_nor_the_mail()
    {
        await using var h = await Harness.StartAsync(smtp: true, settings: new Dictionary<string, string?> { ["Channels:SmtpTrustedCertificates:0"] = new string('0', 64) });

        var result = await h.Senders.SendAsync(Email("d~e5"), h.SmtpAccount, default);

        Assert.Equal((SendOutcome.Rejected, "tls_failed"), (result.Outcome, result.Code));
        Assert.Empty(h.Fake.Emails);
    }

    [Fact]
    public async Task A_4xx_to_DATA_is_a_retry_that_never_went_and_a_lost_answer_is_not_sent_again()
    {
        await using var h = await Harness.StartAsync(smtp: true);
        for (var i = 0; i < 3; i++) h.Fake.FailNext("busy@customer.example", Fault.Http(451, message: "try later"));
        h.Fake.FailNext("slow@customer.example", Fault.AcceptThenHang(TimeSpan.FromSeconds(10)));

        var busy = await h.Senders.SendAsync(Email("d~e6", to: "busy@customer.example"), h.SmtpAccount, default);
        var slow = await h.Senders.SendAsync(Email("d~e7", to: "slow@customer.example"), h.SmtpAccount, default);

        Assert.Equal((SendOutcome.Retry, false), (busy.Outcome, busy.MaybeDelivered));
        Assert.StartsWith("smtp_451", busy.Code);
        Assert.Equal((SendOutcome.Retry, true), (slow.Outcome, slow.MaybeDelivered));
        // The busy one was attempted again within the send (a 4xx to DATA never went), all three times refused; the slow
        // one was taken once and not sent again.
        Assert.Equal(3, h.Fake.RequestsFor("busy@customer.example"));
        Assert.DoesNotContain(h.Fake.Emails, m => m.To == "busy@customer.example");
        Assert.Single(h.Fake.Emails, m => m.To == "slow@customer.example");
        Assert.Equal(1, h.Fake.RequestsFor("slow@customer.example"));
    }

    [Fact]
    public async Task An_email_that_cannot_be_built_or_an_account_that_cannot_send_sends_nothing()
    {
        await using var h = await Harness.StartAsync(smtp: true);
        var noUnsubscribe = Email("d~e8") with { UnsubscribeUrl = null };
        var noSubject = Email("d~e9") with { Fields = new Dictionary<string, string> { ["text"] = "hi" } };
        var stray = Email("d~e10") with { Fields = new Dictionary<string, string> { ["subject"] = "s", ["text"] = "t", ["code"] = "1" } };

        Assert.Equal("unsubscribe_not_configured", (await h.Senders.SendAsync(noUnsubscribe, h.SmtpAccount, default)).Code);
        Assert.Equal("email_template_fields", (await h.Senders.SendAsync(noSubject, h.SmtpAccount, default)).Code);
        Assert.Equal("email_template_fields", (await h.Senders.SendAsync(stray, h.SmtpAccount, default)).Code);
        Assert.Equal("invalid_recipient", (await h.Senders.SendAsync(Email("d~e11", to: "not-an-address"), h.SmtpAccount, default)).Code);
        Assert.Equal("invalid_account", (await h.Senders.SendAsync(Email("d~e12"), h.SmtpAccount with { Url = "https://mail.example" }, default)).Code);
        Assert.Equal("missing_credentials", (await h.Senders.SendAsync(Email("d~e13"), h.SmtpAccount with { KeyId = null }, default)).Code);
        Assert.Empty(h.Fake.Emails);
    }

    [Theory]
    [InlineData("smtps://smtp.exmail.qq.com", "smtp.exmail.qq.com", 465, true)]
    [InlineData("smtp://smtp.exmail.qq.com", "smtp.exmail.qq.com", 587, false)]
    [InlineData("smtp://127.0.0.1:2525", "127.0.0.1", 2525, false)]
    public void Server_urls_name_the_host_port_and_kind_of_TLS(string url, string host, int port, bool implicitTls)
    {
        Assert.True(SmtpEndpoint.TryParse(url, out var endpoint, out _));
        Assert.Equal(new SmtpEndpoint(host, port, implicitTls), endpoint);
    }

    [Theory]
    [InlineData("https://smtp.example")]
    [InlineData("smtp://user:pass@smtp.example")]
    [InlineData("smtp://smtp.example/path")]
    [InlineData("smtp:relative")]
    [InlineData(null)]
    public void Other_urls_are_refused(string? url) => Assert.False(SmtpEndpoint.TryParse(url, out _, out _));

    [Fact]
    public void The_Message_Id_comes_from_the_delivery_key_so_a_resend_would_carry_the_same_one()
    {
        var from = MailboxAddress.Parse("news@brand.example");
        var to = MailboxAddress.Parse("jing@customer.example");
        Assert.True(SmtpEmailSender.TryBuild(Email("d~e14"), from, to, out var first, out _, out _));
        Assert.True(SmtpEmailSender.TryBuild(Email("d~e14"), from, to, out var again, out _, out _));
        Assert.True(SmtpEmailSender.TryBuild(Email("d~e15"), from, to, out var other, out _, out _));

        Assert.Equal(first.MessageId, again.MessageId);
        Assert.NotEqual(first.MessageId, other.MessageId);
        Assert.EndsWith("@brand.example", first.MessageId);
    }
}
