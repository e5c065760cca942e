using System.Net.Http.Json;
using System.Text.Json;
using Siyu.Core.Storage;
using Siyu.FakeProviders;
using Siyu.IntegrationTests.Infrastructure;
using Siyu.Storage.Delivery;
using static Siyu.IntegrationTests.Delivery.SendingBrand;

namespace Siyu.IntegrationTests.Delivery;

/// <summary>
/// A campaign whose app instance is killed between a round's sends and their record, then finished by a fresh instance
/// over the same storage (#14). To a provider that does not dedupe nobody is asked twice: the sends were claimed first,
/// and the claims the kill left are recorded as unknown outcomes. To one that dedupes, the unrecorded sends go again
/// under their keys and the provider drops the repeats.
/// </summary>
public sealed class SendOnceTests
{
    private const int People = 160;
    /// <summary>Delivery rounds in flight per instance: one message (one partition) per round, one round per queue, four queues.</summary>
    private const int RoundsInFlight = 4;

    private static object SmsTo(IEnumerable<string> phones) => new
    {
        name = "kill mid-round",
        audience = new { identities = phones.Select(p => "phone:" + p).ToArray() },
        message = new { template = "sms_offer", variables = new Dictionary<string, string> { ["offer"] = "{{context.offer}}" } },
        context = new { offer = "CNY 20 off" },
    };

    private static DeliveryApp Instance(FakeProviderServer fake, string prefix)
    {
        var app = DeliveryApp.Instance(fake, prefix);
        app.With("Delivery:SendTimeout", "00:00:02")
            .With("Delivery:Partitions", RoundsInFlight.ToString())
            .With("Delivery:MessagesPerRound", "1")
            .With("Delivery:RoundsPerQueue", "1");
        return app;
    }

    /// <summary>How the campaign ended, each recipient's profile and delivery (status, reason), and the sends the kill left unrecorded.</summary>
    private sealed record Outcome(JsonElement Campaign, Dictionary<string, (string ProfileId, string Status, string? Reason)> Deliveries,
        List<DeliveryRecord> Unrecorded);

    /// <summary>Starts a campaign on one instance, kills its worker at its fifth chunk that sends, and finishes on another.</summary>
    private static async Task<Outcome> KilledMidRoundAsync(FakeProviderServer fake, bool dedupes)
    {
        var prefix = SharedAzurite.NewPrefix();
        var first = Instance(fake, prefix);
        await first.InitializeAsync();
        SendingBrand brand;
        List<string> phones;
        string id;
        try
        {
            brand = await SendingBrand.CreateAsync(first);
            fake.RegisterApiKey(brand.SmsKey, dedupes);
            (await brand.Tenant.Admin().PutAsJsonAsync("/api/tenants/current/channels/sms", new { apiKey = brand.SmsKey, sender = "BRAND", dedupes })).EnsureSuccessStatusCode();
            phones = await brand.PeopleAsync(People);
            first.DeliveryFaults.KillAtSends(5);
            id = await brand.StartOkAsync(SmsTo(phones));
            await first.DeliveryFaults.Killed.Task.WaitAsync(TimeSpan.FromSeconds(60));
        }
        finally { await first.DisposeAsync(); }

        var second = Instance(fake, prefix);
        await second.InitializeAsync();
        try
        {
            var resumed = new SendingBrand(brand.Tenant with { App = second }, brand.AppId, brand.SmsKey, fake);
            var done = await resumed.WaitDoneAsync(id, seconds: 90);
            var deliveries = new Dictionary<string, (string, string, string?)>();
            foreach (var phone in phones)
            {
                var d = Assert.Single(await resumed.DeliveriesAsync(phone));
                var pid = await Consent.ConsentApi.ProfileIdOf(resumed.Tenant.Marketer(), "phone:" + phone);
                deliveries[phone] = (pid, d.GetProperty("status").GetString()!, d.GetProperty("reason").GetString());
            }
            return new Outcome(done, deliveries, first.DeliveryFaults.Unrecorded.ToList());
        }
        finally { await second.DisposeAsync(); }
    }

    [Fact]
    public async Task A_provider_that_does_not_dedupe_is_asked_once_per_recipient_when_the_app_is_killed_mid_round()
    {
        await using var fake = await FakeProviderServer.StartAsync();
        var o = await KilledMidRoundAsync(fake, dedupes: false);
        var recipients = o.Deliveries.Count;

        // The kill left sends that went out and were never recorded; each had been claimed first.
        Assert.NotEmpty(o.Unrecorded);
        Assert.All(o.Unrecorded, r => Assert.True(r.AtMostOnce, $"{r.Key} was not claimed to go at most once"));
        // Every recipient was asked once: nothing the kill cut off was sent again.
        Assert.All(o.Deliveries.Keys, p => Assert.Equal(1, fake.RequestsFor("+86" + p)));
        Assert.Equal(0, fake.Repeated);
        Assert.True(fake.Requests <= recipients, $"{fake.Requests} requests for {recipients} recipients");

        // What the kill cut off, and only that, is recorded as an unknown outcome and counted; everyone else was sent to.
        var unknown = o.Deliveries.Values.Where(d => (d.Status, d.Reason) == ("failed", "outcome_unknown")).Select(d => d.ProfileId).ToHashSet();
        Assert.Equal(o.Unrecorded.Select(r => r.ProfileId).ToHashSet(), unknown);
        Assert.Equal(unknown.Count, Progress(o.Campaign, "failed"));
        Assert.Equal(recipients - unknown.Count, Progress(o.Campaign, "sent"));
        Assert.Equal(0, Progress(o.Campaign, "pending"));
        Assert.Equal(recipients - unknown.Count, o.Deliveries.Values.Count(d => d.Status == "sent"));
        // Those were the rounds in flight at the kill: no more partitions than the worker runs at once.
        Assert.InRange(unknown.Select(Ids.ProfileBucket).Distinct().Count(), 1, RoundsInFlight);
    }

    /// <summary>A brand whose SMS account is at a provider that does not dedupe by our key (as Aliyun or Tencent SMS).</summary>
    private static async Task<SendingBrand> NonDedupingBrandAsync(DeliveryApp app, FakeProviderServer fake)
    {
        var brand = await SendingBrand.CreateAsync(app);
        fake.RegisterApiKey(brand.SmsKey, dedupes: false);
        (await brand.Tenant.Admin().PutAsJsonAsync("/api/tenants/current/channels/sms", new { apiKey = brand.SmsKey, dedupes = false })).EnsureSuccessStatusCode();
        return brand;
    }

    [Fact]
    public async Task A_provider_that_does_not_dedupe_and_may_have_taken_a_message_is_not_asked_again()
    {
        await using var fake = await FakeProviderServer.StartAsync();
        var app = Instance(fake, SharedAzurite.NewPrefix());
        await app.InitializeAsync();
        try
        {
            var brand = await NonDedupingBrandAsync(app, fake);
            var people = await brand.PeopleAsync(3);
            // Taken, then no answer within the 1 s timeout; a 503; and a 429, which never carries the message.
            fake.FailNext("+86" + people[0], Fault.AcceptThenHang(TimeSpan.FromSeconds(3)));
            fake.FailNext("+86" + people[1], Fault.Http(503));
            fake.FailNext("+86" + people[2], Fault.TooManyRequests(TimeSpan.FromSeconds(1)));

            var done = await brand.WaitDoneAsync(await brand.StartOkAsync(SmsTo(people)));

            Assert.Equal((2, 1), (Progress(done, "failed"), Progress(done, "sent")));
            foreach (var phone in people[..2])
            {
                var d = Assert.Single(await brand.DeliveriesAsync(phone));
                Assert.Equal(("failed", "outcome_unknown"), (d.GetProperty("status").GetString(), d.GetProperty("reason").GetString()));
                Assert.Equal(1, fake.RequestsFor("+86" + phone));
            }
            Assert.Equal(1, brand.AcceptedFor([people[0]])); // it did go: asking again would have sent it twice
            Assert.Equal(2, fake.RequestsFor("+86" + people[2]));
            Assert.Equal(0, fake.Repeated);
        }
        finally { await app.DisposeAsync(); }
    }

    [Fact]
    public async Task A_provider_receipt_settles_a_send_recorded_with_an_unknown_outcome()
    {
        await using var fake = await FakeProviderServer.StartAsync();
        var app = Instance(fake, SharedAzurite.NewPrefix());
        await app.InitializeAsync();
        try
        {
            var brand = await NonDedupingBrandAsync(app, fake);
            var people = await brand.PeopleAsync(2);
            // Both taken by the provider, their answers lost: each is recorded failed / outcome_unknown.
            foreach (var p in people) fake.FailNext("+86" + p, Fault.AcceptThenHang(TimeSpan.FromSeconds(3)));
            var id = await brand.StartOkAsync(SmsTo(people));
            var done = await brand.WaitDoneAsync(id);
            Assert.Equal((2, 0), (Progress(done, "failed"), Progress(done, "sent")));

            // The provider's receipts say what became of them: one delivered, one refused by the carrier.
            async Task Receipt(string phone, string status)
            {
                var taken = fake.Accepted.Single(m => m.Recipient == "+86" + phone);
                var body = System.Text.Encoding.UTF8.GetBytes(
                    $$"""{"id": "{{taken.ProviderMessageId}}", "reference": "{{taken.Reference}}", "status": "{{status}}", "at": "{{DateTimeOffset.UtcNow:O}}"}""");
                var request = new HttpRequestMessage(HttpMethod.Post, $"/api/delivery/receipts/{brand.Tenant.Id}/sms") { Content = new ByteArrayContent(body) };
                request.Content.Headers.ContentType = new("application/json");
                request.Headers.Add("X-Siyu-Signature", Siyu.Channels.ReceiptSignature.Sign(brand.SmsKey, body));
                Assert.Equal(System.Net.HttpStatusCode.OK, (await app.CreateClient().SendAsync(request)).StatusCode);
            }
            await Receipt(people[0], "delivered");
            await Receipt(people[1], "failed");

            var settled = await brand.CampaignAsync(id);
            Assert.Equal((1, 1, 1), (Progress(settled, "sent"), Progress(settled, "delivered"), Progress(settled, "failed")));
            Assert.Equal("delivered", Assert.Single(await brand.DeliveriesAsync(people[0])).GetProperty("status").GetString());
            var refused = Assert.Single(await brand.DeliveriesAsync(people[1]));
            Assert.Equal("failed", refused.GetProperty("status").GetString());
            Assert.NotEqual("outcome_unknown", refused.GetProperty("reason").GetString());
        }
        finally { await app.DisposeAsync(); }
    }

    [Fact]
    public async Task A_deduping_provider_gets_the_unrecorded_sends_again_under_their_keys_and_drops_the_repeats()
    {
        await using var fake = await FakeProviderServer.StartAsync();
        var o = await KilledMidRoundAsync(fake, dedupes: true);
        var recipients = o.Deliveries.Count;

        Assert.NotEmpty(o.Unrecorded);
        Assert.All(o.Unrecorded, r => Assert.False(r.AtMostOnce));
        // Sent, then recorded once: the sends the kill cut off went again, and the provider dropped the repeats.
        Assert.True(fake.Duplicates >= o.Unrecorded.Count, $"{fake.Duplicates} repeats absorbed for {o.Unrecorded.Count} unrecorded sends");
        Assert.All(o.Deliveries.Keys, p => Assert.Single(fake.Accepted, m => m.Recipient == "+86" + p));
        Assert.Equal(recipients, fake.Accepted.Count);
        Assert.Equal(recipients, Progress(o.Campaign, "sent"));
        Assert.Equal(0, Progress(o.Campaign, "failed"));
        Assert.All(o.Deliveries.Values, d => Assert.Equal("sent", d.Status));
    }
}
