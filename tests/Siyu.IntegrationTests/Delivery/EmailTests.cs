using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Siyu.IntegrationTests.Consent;
using Siyu.IntegrationTests.Infrastructure;
using Siyu.IntegrationTests.Journeys;
using static Siyu.IntegrationTests.Delivery.SendingBrand;

namespace Siyu.IntegrationTests.Delivery;

/// <summary>
/// A brand whose email goes out through its own SMTP server (the fake's: STARTTLS, AUTH): campaigns and journeys send
/// marketing email marked as an ad with a one-click unsubscribe link, and that link withdraws the person's marketing
/// email consent in the ledger.
/// </summary>
public sealed class EmailTests(DeliveryApp app) : IClassFixture<DeliveryApp>
{
    private sealed record EmailBrand(TestTenant Tenant, string Username, string Password, SendingBrand Brand);

    private async Task<EmailBrand> BrandAsync()
    {
        var brand = await SendingBrand.CreateAsync(app);
        var username = "mailer-" + Guid.NewGuid().ToString("N")[..8] + "@brand.example";
        var password = "pw-" + Guid.NewGuid().ToString("N");
        app.Fake.RegisterSmtpUser(username, password);
        var put = await brand.Tenant.Admin().PutAsJsonAsync("/api/tenants/current/channels/email",
            new { provider = "smtp", url = $"smtp://127.0.0.1:{app.Fake.SmtpPort}", username, apiKey = password, sender = "思域商城 <news@brand.example>" });
        Assert.True(put.IsSuccessStatusCode, await put.Content.ReadAsStringAsync());
        await brand.Tenant.PutTemplate("spring_mail", """
            {"channel": "email", "providerTemplate": "spring_sale", "topic": "offers",
             "fields": {"subject": "{{name}}, 春季上新", "html": "<p>{{offer}}</p>", "text": "{{offer}}"},
             "variables": {"name": {"default": "会员"}, "offer": {}}}
            """);
        return new EmailBrand(brand.Tenant, username, password, brand);
    }

    private static string Address(string tag) => $"{tag}-{Guid.NewGuid():N}@customer.example";

    /// <summary>People with an email attribute and the given marketing email consent.</summary>
    private static async Task<List<string>> PeopleAsync(TestTenant tenant, int count, string consent = "granted")
    {
        var emails = Enumerable.Range(0, count).Select(i => Address("p" + i)).ToList();
        var events = emails.Select(e => new { messageId = "id-" + e, type = "identify", identities = new { userId = "u-" + e }, traits = new { name = "静静" + e[1], email = e } });
        Assert.Equal(HttpStatusCode.Accepted, (await tenant.Ingest().PostEvents(events.ToArray())).StatusCode);
        var decisions = emails.Select(e => new
        {
            identities = new { userId = "u-" + e }, purpose = "marketing", channel = "email", status = consent, source = "signup_form",
            evidence = "newsletter box ticked", occurredAt = DateTimeOffset.UtcNow.AddSeconds(-1).ToString("O"),
        }).ToArray();
        Assert.Equal(HttpStatusCode.Accepted, (await ConsentApi.PostConsents(tenant.Ingest(), decisions)).StatusCode);
        foreach (var e in emails)
        {
            var pid = await tenant.Marketer().ProfileIdOf("userId:u-" + e);
            await Eventually.Get(() => tenant.Marketer().Consents(pid), c => c.Current("marketing", "email") == consent, what: $"{e} {consent}");
        }
        return emails;
    }

    private static object Offer(IEnumerable<string> emails, string name = "spring") => new
    {
        name,
        audience = new { identities = emails.Select(e => "userId:u-" + e).ToArray() },
        message = new { template = "spring_mail", variables = new Dictionary<string, string> { ["name"] = "{{attributes.name}}", ["offer"] = "{{context.offer}}" } },
        context = new { offer = "满100减20" },
    };

    private static string PathOf(string listUnsubscribe) => new Uri(listUnsubscribe.Trim('<', '>')).PathAndQuery;

    [Fact]
    public async Task The_account_is_stored_without_showing_its_password()
    {
        var b = await BrandAsync();

        var listed = await (await b.Tenant.Admin().GetAsync("/api/tenants/current/channels")).Json();
        var email = listed.EnumerateArray().Single(c => c.GetProperty("channel").GetString() == "email");
        Assert.Equal(("smtp", b.Username, false, true), (email.GetProperty("provider").GetString(), email.GetProperty("username").GetString(),
            email.GetProperty("dedupes").GetBoolean(), email.GetProperty("hasApiKey").GetBoolean()));
        Assert.DoesNotContain(b.Password, listed.GetRawText());
    }

    [Theory]
    [InlineData("""{"provider": "smtp", "url": "https://mail.example", "username": "u", "apiKey": "p", "sender": "a@b.example"}""", "url")]
    [InlineData("""{"provider": "smtp", "url": "smtps://mail.example", "apiKey": "p", "sender": "a@b.example"}""", "username")]
    [InlineData("""{"provider": "smtp", "url": "smtps://mail.example", "username": "u", "sender": "a@b.example"}""", "apiKey")]
    [InlineData("""{"provider": "smtp", "url": "smtps://mail.example", "username": "u", "apiKey": "p", "sender": "not an address"}""", "sender")]
    [InlineData("""{"provider": "smtp", "url": "smtps://mail.example", "username": "u", "apiKey": "p", "sender": "a@b.example", "dedupes": true}""", "dedupes")]
    [InlineData("""{"url": "smtps://mail.example", "username": "u", "apiKey": "p", "sender": "a@b.example"}""", "username")]
    public async Task An_smtp_account_without_what_it_needs_is_refused(string body, string field)
    {
        var tenant = await app.NewTenantAsync();

        var put = await tenant.Admin().PutAsync("/api/tenants/current/channels/email", new StringContent(body, Encoding.UTF8, "application/json"));

        await put.AssertProblem(HttpStatusCode.BadRequest, "invalid_channel");
        Assert.Contains(field, await put.Content.ReadAsStringAsync());
        var sms = await tenant.Admin().PutAsync("/api/tenants/current/channels/sms", new StringContent(body, Encoding.UTF8, "application/json"));
        await sms.AssertProblem(HttpStatusCode.BadRequest, "invalid_channel");
    }

    [Fact]
    public async Task A_campaign_mails_each_person_once_as_an_ad_and_its_one_click_link_withdraws_their_email_consent()
    {
        var b = await BrandAsync();
        var people = await PeopleAsync(b.Tenant, 3);
        var withdrawn = await PeopleAsync(b.Tenant, 1, "withdrawn");

        var first = await b.Brand.WaitDoneAsync(await b.Brand.StartOkAsync(Offer(people.Concat(withdrawn))));

        Assert.Equal((3L, 1L), (Progress(first, "sent"), Suppressed(first, "withdrawn")));
        var mails = app.Fake.Emails.Where(m => people.Contains(m.To)).ToList();
        Assert.Equal(people.Order(), mails.Select(m => m.To).Order());
        Assert.DoesNotContain(app.Fake.Emails, m => m.To == withdrawn[0]);
        var mail = mails.Single(m => m.To == people[0]);
        Assert.Equal(($"【广告】静静{people[0][1]}, 春季上新", b.Username), (mail.Subject, mail.Username));
        Assert.Equal("满100减20", mail.Text?.Trim());
        Assert.Equal("List-Unsubscribe=One-Click", mail.Headers["List-Unsubscribe-Post"]);
        var link = mail.Headers["List-Unsubscribe"];
        Assert.StartsWith($"<{DeliveryApp.PublicBaseUrl}/api/unsubscribe/{b.Tenant.Id}/", link);

        // A mail client's link scanner opens the page: nothing changes. The one-click POST withdraws.
        var client = app.CreateClient();
        var page = await client.GetAsync(PathOf(link));
        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        Assert.Contains("<form method=\"post\"", await page.Content.ReadAsStringAsync());
        var pid = await b.Tenant.Marketer().ProfileIdOf("userId:u-" + people[0]);
        Assert.Equal("granted", (await b.Tenant.Marketer().Consents(pid)).Current("marketing", "email"));
        var click = await client.PostAsync(PathOf(link), new FormUrlEncodedContent([new("List-Unsubscribe", "One-Click")]));
        Assert.Equal(HttpStatusCode.OK, click.StatusCode);

        // The projection and the ledger row are written one after the other: wait for both.
        var consents = await Eventually.Get(() => b.Tenant.Marketer().Consents(pid), c => c.Current("marketing", "email") == "withdrawn"
            && c.GetProperty("history").EnumerateArray().Any(h => h.GetProperty("status").GetString() == "withdrawn"), what: "unsubscribed");
        var entry = consents.GetProperty("history").EnumerateArray().Last(h => h.GetProperty("status").GetString() == "withdrawn");
        Assert.Equal("unsubscribe_link", entry.GetProperty("source").GetString());
        Assert.Contains("one-click", entry.GetProperty("evidence").GetString());

        var second = await b.Brand.WaitDoneAsync(await b.Brand.StartOkAsync(Offer(people, "spring-2")));
        Assert.Equal((2L, 1L), (Progress(second, "sent"), Suppressed(second, "withdrawn")));
        Assert.Single(app.Fake.Emails, m => m.To == people[0]);
    }

    [Fact]
    public async Task An_unsubscribe_link_with_a_wrong_token_or_for_someone_else_or_another_tenant_changes_nothing()
    {
        var b = await BrandAsync();
        var people = await PeopleAsync(b.Tenant, 2);
        await b.Brand.WaitDoneAsync(await b.Brand.StartOkAsync(Offer(people)));
        var path = PathOf(app.Fake.Emails.Single(m => m.To == people[0]).Headers["List-Unsubscribe"]);
        var other = await b.Tenant.Marketer().ProfileIdOf("userId:u-" + people[1]);
        var mine = await b.Tenant.Marketer().ProfileIdOf("userId:u-" + people[0]);
        var stranger = await app.NewTenantAsync();
        var client = app.CreateClient();
        Task<HttpResponseMessage> Click(string p) => client.PostAsync(p, new FormUrlEncodedContent([new("List-Unsubscribe", "One-Click")]));

        await (await Click(path[..^4] + "AAAA")).AssertProblem(HttpStatusCode.NotFound, "unsubscribe_link_not_found");
        await (await Click(path.Replace(mine, other))).AssertProblem(HttpStatusCode.NotFound, "unsubscribe_link_not_found");
        await (await Click(path.Replace(b.Tenant.Id, stranger.Id))).AssertProblem(HttpStatusCode.NotFound, "unsubscribe_link_not_found");
        await (await Click(path.Replace("/email?", "/sms?"))).AssertProblem(HttpStatusCode.NotFound, "unsubscribe_link_not_found");
        await (await Click(path.Split('?')[0])).AssertProblem(HttpStatusCode.NotFound, "unsubscribe_link_not_found");

        foreach (var pid in new[] { mine, other })
            Assert.Equal("granted", (await b.Tenant.Marketer().Consents(pid)).Current("marketing", "email"));
    }

    [Fact]
    public async Task A_journey_mails_when_its_event_arrives()
    {
        var b = await BrandAsync();
        var people = await PeopleAsync(b.Tenant, 1);
        await b.Tenant.PublishAsync("mail_welcome", """
            {
              "name": "Welcome by email",
              "entry": { "on": "event", "event": "member_joined", "reentry": "once" },
              "start": "welcome",
              "nodes": {
                "welcome": { "type": "send", "channel": "email", "template": "spring_mail",
                             "variables": { "name": "{{attributes.name}}", "offer": "入会礼" }, "next": "done" },
                "done": { "type": "exit" }
              }
            }
            """);

        Assert.Equal(HttpStatusCode.Accepted, (await b.Tenant.Ingest().PostEvents(
            new { type = "track", messageId = "joined-" + people[0], @event = "member_joined", identities = new { userId = "u-" + people[0] } })).StatusCode);

        var mail = await Eventually.Get(() => Task.FromResult(app.Fake.Emails.FirstOrDefault(m => m.To == people[0])), m => m is not null, what: "the journey's email");
        Assert.Equal("入会礼", mail!.Text?.Trim());
        Assert.StartsWith("【广告】", mail.Subject);
        Assert.True(mail.Headers.ContainsKey("List-Unsubscribe"));
    }
}
