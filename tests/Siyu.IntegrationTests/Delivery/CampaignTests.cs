using System.Net;
using System.Net.Http.Json;
using Siyu.FakeProviders;
using Siyu.IntegrationTests.Infrastructure;
using static Siyu.IntegrationTests.Delivery.SendingBrand;

namespace Siyu.IntegrationTests.Delivery;

/// <summary>
/// Campaigns through the delivery policy to a fake provider over HTTP: who is sent to, who is refused and why, once
/// each, through provider errors, a stopped fan-out, a halt and a cancel.
/// </summary>
public sealed class CampaignTests(DeliveryApp app) : IClassFixture<DeliveryApp>
{
    private static object SmsTo(IEnumerable<string> phones, string name = "offer", int holdout = 0) => new
    {
        name,
        audience = new { identities = phones.Select(p => "phone:" + p).ToArray() },
        message = new { template = "sms_offer", variables = new Dictionary<string, string> { ["name"] = "{{attributes.name}}", ["offer"] = "{{context.offer}}" } },
        context = new { offer = "CNY 20 off" },
        holdoutPercent = holdout,
    };

    [Fact]
    public async Task A_list_campaign_sends_once_to_those_who_consented_and_records_every_refusal()
    {
        var brand = await SendingBrand.CreateAsync(app);
        var granted = await brand.PeopleAsync(30);
        var withdrawn = await brand.PeopleAsync(5);
        await brand.ConsentAsync(withdrawn, "withdrawn");
        var silent = await brand.PeopleAsync(5, consent: "none");
        var unknown = new[] { "13000000001", "13000000002" };

        var body = SmsTo(granted.Concat(withdrawn).Concat(silent).Concat(unknown));
        var id = await brand.StartOkAsync(body, key: "double-11-sms");
        var done = await brand.WaitDoneAsync(id);

        Assert.Equal("done", done.GetProperty("status").GetString());
        Assert.Equal(40, Progress(done, "targeted"));
        Assert.Equal(30, Progress(done, "sent"));
        Assert.Equal(5, Suppressed(done, "withdrawn"));
        Assert.Equal(5, Suppressed(done, "no_consent"));
        Assert.Equal(2, Progress(done, "notFound"));
        Assert.Equal(0, Progress(done, "pending"));
        // The provider's own count: one message per consenting person, rendered from their profile and the campaign.
        Assert.Equal(30, brand.AcceptedFor(granted));
        Assert.Equal(0, brand.AcceptedFor(withdrawn.Concat(silent)));
        var one = app.Fake.Accepted.First(m => m.Recipient == "+86" + granted[0]);
        Assert.Equal($"N{granted[0][^4..]}, CNY 20 off is yours 回T退订", one.Fields["text"]);
        Assert.Equal("SMS_1001", one.Template);

        var refused = (await brand.DeliveriesAsync(withdrawn[0])).Single();
        Assert.Equal("suppressed", refused.GetProperty("status").GetString());
        Assert.Equal("withdrawn", refused.GetProperty("reason").GetString());

        // The same start again is the same campaign; the same key with another body is refused.
        var again = await brand.StartAsync(body, key: "double-11-sms");
        Assert.Equal(HttpStatusCode.OK, again.StatusCode);
        Assert.Equal(id, (await again.Json()).GetProperty("id").GetString());
        await (await brand.StartAsync(SmsTo(granted, "another"), key: "double-11-sms")).AssertProblem(HttpStatusCode.Conflict, "idempotency_key_reused");
        await Task.Delay(500);
        Assert.Equal(30, brand.AcceptedFor(granted));
    }

    [Fact]
    public async Task Provider_errors_are_retried_under_one_key_and_definite_rejections_are_not()
    {
        var brand = await SendingBrand.CreateAsync(app);
        var people = await brand.PeopleAsync(4);
        app.Fake.FailNext("+86" + people[0], Fault.Http(500), Fault.Http(500));
        app.Fake.FailNext("+86" + people[1], Fault.AcceptThenHang(TimeSpan.FromSeconds(3)));
        app.Fake.FailNext("+86" + people[2], Fault.Http(422, "invalid_number", "not a mobile number"));

        var id = await brand.StartOkAsync(SmsTo(people));
        var done = await brand.WaitDoneAsync(id);

        Assert.Equal(3, Progress(done, "sent"));
        Assert.Equal(1, Progress(done, "failed"));
        // 500 then 200: one message. Accepted, then no answer: the retry under the same key is absorbed, one message.
        Assert.Equal(1, brand.AcceptedFor([people[0]]));
        Assert.Equal(1, brand.AcceptedFor([people[1]]));
        Assert.True(app.Fake.Duplicates >= 1);
        // A definite rejection is asked once and recorded with the provider's code.
        Assert.Equal(0, brand.AcceptedFor([people[2]]));
        Assert.Equal(1, app.Fake.RequestsFor("+86" + people[2]));
        var failed = (await brand.DeliveriesAsync(people[2])).Single();
        Assert.Equal("failed", failed.GetProperty("status").GetString());
        Assert.Contains("invalid_number", failed.GetProperty("reason").GetString());
    }

    [Fact]
    public async Task WeChat_template_messages_carry_the_key_and_survive_an_expired_token()
    {
        var brand = await SendingBrand.CreateAsync(app);
        var people = await brand.PeopleAsync(60);
        var body = new
        {
            name = "wx",
            audience = new { identities = people.Select(p => "phone:" + p).ToArray() },
            message = new { template = "wx_offer", variables = new Dictionary<string, string> { ["offer"] = "TEA10" } },
        };
        var first = await brand.StartOkAsync(body);
        await brand.WaitDoneAsync(first);
        Assert.Equal(1, app.Fake.TokenRequests(brand.AppId));

        app.Fake.ExpireTokens();
        var second = await brand.StartOkAsync(body);
        var done = await brand.WaitDoneAsync(second);
        Assert.Equal(60, Progress(done, "sent"));
        Assert.Equal(0, Progress(done, "failed"));
        Assert.Equal(2, app.Fake.TokenRequests(brand.AppId));
        var message = app.Fake.Accepted.First(m => m.Recipient == "o" + people[0] && m.Template == "TPL_offer");
        Assert.Equal("https://shop.example/o/TEA10", message.Link);
        Assert.Equal("Hello Friend", message.Fields["first"]); // name is not supplied by this campaign: its default
        Assert.NotNull(message.IdempotencyKey);
    }

    [Fact]
    public async Task A_halt_holds_everything_consent_is_checked_at_send_time_and_resume_goes_on()
    {
        var brand = await SendingBrand.CreateAsync(app);
        var people = await brand.PeopleAsync(40);
        var admin = brand.Tenant.Admin();
        Assert.True((await admin.PostAsync("/api/tenants/current/sending:halt", null)).IsSuccessStatusCode);

        var id = await brand.StartOkAsync(SmsTo(people));
        await Eventually.Get(() => brand.CampaignAsync(id), c => Progress(c, "targeted") == 40, what: "fan-out while halted");
        await Task.Delay(1500);
        Assert.Equal(0, brand.AcceptedFor(people));
        Assert.True((await (await admin.GetAsync("/api/tenants/current/sending")).Json()).GetProperty("halted").GetBoolean());

        // Consent withdrawn after the fan-out, before the send.
        await brand.ConsentAsync(people.Take(4), "withdrawn");
        Assert.True((await admin.PostAsync("/api/tenants/current/sending:resume", null)).IsSuccessStatusCode);
        var done = await brand.WaitDoneAsync(id);
        Assert.Equal(36, Progress(done, "sent"));
        Assert.Equal(4, Suppressed(done, "withdrawn"));
        Assert.Equal(36, brand.AcceptedFor(people));
    }

    [Fact]
    public async Task A_campaign_whose_end_is_recorded_cannot_be_cancelled()
    {
        var brand = await SendingBrand.CreateAsync(app);
        var people = await brand.PeopleAsync(3);
        var id = await brand.StartOkAsync(SmsTo(people));
        await Eventually.Get(() => brand.CampaignAsync(id), c => c.TryGetProperty("finishedAt", out var f) && f.ValueKind == System.Text.Json.JsonValueKind.String,
            what: "the orchestration's record of the end");

        await (await brand.Tenant.Marketer().PostAsync($"/api/campaigns/{id}/cancel", null)).AssertProblem(HttpStatusCode.Conflict, "campaign_done");
        Assert.Equal("done", (await brand.CampaignAsync(id)).GetProperty("status").GetString());
    }

    [Fact]
    public async Task Cancel_stops_queued_sends_and_counts_them()
    {
        var brand = await SendingBrand.CreateAsync(app);
        var people = await brand.PeopleAsync(50);
        var marketer = brand.Tenant.Marketer();
        Assert.True((await brand.Tenant.Admin().PostAsync("/api/tenants/current/sending:halt", null)).IsSuccessStatusCode);
        var id = await brand.StartOkAsync(SmsTo(people));
        await Eventually.Get(() => brand.CampaignAsync(id), c => Progress(c, "targeted") == 50, what: "fan-out");

        var cancel = await marketer.PostAsync($"/api/campaigns/{id}/cancel", null);
        Assert.Equal(HttpStatusCode.OK, cancel.StatusCode);
        // The answer is the campaign as marked, and says where its time went; the counts settle after.
        var answer = await cancel.Json();
        Assert.Equal((id, "cancelled"), (answer.GetProperty("id").GetString(), answer.GetProperty("status").GetString()));
        Assert.True(answer.GetProperty("cancelledAt").GetDateTimeOffset() > DateTimeOffset.UtcNow.AddMinutes(-1));
        var timing = string.Join(", ", cancel.Headers.GetValues("Server-Timing"));
        foreach (var step in new[] { "mark;dur=", "audit;dur=" }) Assert.Contains(step, timing);
        // A second cancel finds it cancelled and changes nothing.
        Assert.Equal("cancelled", (await (await marketer.PostAsync($"/api/campaigns/{id}/cancel", null)).Json()).GetProperty("status").GetString());
        Assert.True((await brand.Tenant.Admin().PostAsync("/api/tenants/current/sending:resume", null)).IsSuccessStatusCode);
        var done = await brand.WaitDoneAsync(id);
        Assert.Equal("cancelled", done.GetProperty("status").GetString());
        Assert.Equal(50, Progress(done, "cancelled"));
        Assert.Equal(0, Progress(done, "sent"));
        Assert.Equal(0, brand.AcceptedFor(people));
        await (await marketer.PostAsync("/api/campaigns/nope/cancel", null)).AssertProblem(HttpStatusCode.NotFound, "campaign_not_found");
    }

    [Fact]
    public async Task A_cancel_stops_messages_already_decided_before_they_go()
    {
        var brand = await SendingBrand.CreateAsync(app);
        var people = await brand.PeopleAsync(120);
        var marketer = brand.Tenant.Marketer();
        // People of one partition are decided together and then sent one at a time (the fixture's send concurrency),
        // here at 0.6 s per provider call (under the 1 s timeout): most of them wait, decided, while the first goes out.
        var partition = new List<string>();
        foreach (var phone in people)
            partition.Add($"{Siyu.Core.Storage.Ids.ProfileBucket(await Consent.ConsentApi.ProfileIdOf(marketer, "phone:" + phone))}|{phone}");
        var group = partition.GroupBy(x => x[..x.IndexOf('|')]).MaxBy(g => g.Count())!.Select(x => x[(x.IndexOf('|') + 1)..]).ToList();
        Assert.True(group.Count >= 3, $"the largest partition of 120 people has {group.Count}");
        app.Fake.SetLatency(TimeSpan.FromMilliseconds(600));
        try
        {
            var id = await brand.StartOkAsync(SmsTo(group));
            await Eventually.Get(() => Task.FromResult(brand.AcceptedFor(group)), n => n >= 1, TimeSpan.FromSeconds(30), "the first send");
            Assert.Equal(HttpStatusCode.OK, (await marketer.PostAsync($"/api/campaigns/{id}/cancel", null)).StatusCode);
            var sentWhenAnswered = brand.AcceptedFor(group);
            var done = await brand.WaitDoneAsync(id);

            var sent = Progress(done, "sent");
            Assert.Equal("cancelled", done.GetProperty("status").GetString());
            // However long the cancel took to answer (the machine may be busy), no send starts after it answered:
            // only the one then going out may still arrive.
            Assert.True(sent <= sentWhenAnswered + 1, $"{sent} of {group.Count} sent, {sentWhenAnswered} when the cancel answered");
            Assert.True(sent < group.Count, "the cancel stopped nobody");
            Assert.Equal(group.Count - sent, Progress(done, "cancelled"));
            Assert.Equal(0, Progress(done, "pending"));
            Assert.Equal(sent, brand.AcceptedFor(group));
        }
        finally { app.Fake.SetLatency(TimeSpan.Zero); }
    }

    [Fact]
    public async Task A_repeated_delivery_message_sends_nobody_twice_and_counts_everyone_once()
    {
        var brand = await SendingBrand.CreateAsync(app);
        var people = await brand.PeopleAsync(20);
        var marketer = brand.Tenant.Marketer();
        Assert.True((await brand.Tenant.Admin().PostAsync("/api/tenants/current/sending:halt", null)).IsSuccessStatusCode);
        var id = await brand.StartOkAsync(SmsTo(people));
        await Eventually.Get(() => brand.CampaignAsync(id), c => Progress(c, "targeted") == 20, what: "fan-out while halted");

        // The same sends again, as a second copy of the fan-out's message would be: no row is written for either yet.
        var items = new List<Siyu.Functions.Delivery.DeliveryItem>();
        foreach (var phone in people)
        {
            var pid = await Consent.ConsentApi.ProfileIdOf(marketer, "phone:" + phone);
            items.Add(new(pid, Siyu.Storage.Delivery.DeliveryStore.CampaignKey(id, pid)));
        }
        await app.Service<Siyu.Functions.Delivery.DeliveryQueue>().EnqueueAsync(brand.Tenant.Id, items,
            unrecorded: new Siyu.Functions.Delivery.UnrecordedSends(id, "sms_offer", DateTimeOffset.UtcNow));
        Assert.True((await brand.Tenant.Admin().PostAsync("/api/tenants/current/sending:resume", null)).IsSuccessStatusCode);

        await brand.WaitDoneAsync(id);
        await Task.Delay(3000); // whichever copy comes second finds the rows written, or reads them again after a conflict
        var done = await brand.CampaignAsync(id);
        Assert.Equal(20, Progress(done, "targeted"));
        Assert.Equal(20, Progress(done, "sent"));
        Assert.Equal(0, Progress(done, "failed"));
        Assert.Equal(0, Progress(done, "pending"));
        Assert.Equal(20, brand.AcceptedFor(people));
        foreach (var phone in people.Take(3)) Assert.Equal("sent", Assert.Single(await brand.DeliveriesAsync(phone)).GetProperty("status").GetString());
    }

    [Fact]
    public async Task A_fan_out_stopped_mid_page_resumes_and_targets_everyone_once()
    {
        var brand = await SendingBrand.CreateAsync(app);
        var people = await brand.PeopleAsync(1200);
        // The list is one chunk, so one page: it is handed on, then the fan-out stops before letting go of it, as a crash would,
        // and the part comes back and hands the same page on again.
        var response = await brand.StartAsync(SmsTo(people), key: "crash-" + Guid.NewGuid());
        var id = (await response.Json()).GetProperty("id").GetString()!;
        app.Faults.CrashAfterFirstPage(id);
        var done = await brand.WaitDoneAsync(id, seconds: 120);
        Assert.Equal(1200, Progress(done, "targeted"));
        Assert.Equal(1200, Progress(done, "sent"));
        Assert.Equal(1200, brand.AcceptedFor(people));
        Assert.Equal(1200, app.Fake.Accepted.Where(m => m.Template == "SMS_1001").Select(m => m.Recipient).Intersect(people.Select(p => "+86" + p)).Count());
    }

    [Fact]
    public async Task Caps_quiet_hours_and_holdout_are_applied_per_person()
    {
        var brand = await SendingBrand.CreateAsync(app);
        var people = await brand.PeopleAsync(40);
        var admin = brand.Tenant.Admin();
        Assert.True((await admin.PutAsJsonAsync("/api/tenants/current/sending/caps", new Dictionary<string, object> { ["sms"] = new { perDay = 1 } })).IsSuccessStatusCode);
        // One person in their quiet hours right now, wherever the clock is.
        var quiet = people[0];
        var pid = await Consent.ConsentApi.ProfileIdOf(brand.Tenant.Marketer(), "phone:" + quiet);
        var local = TimeZoneInfo.ConvertTime(DateTimeOffset.UtcNow, TimeZoneInfo.FindSystemTimeZoneById("Asia/Shanghai"));
        var start = local.AddMinutes(-30).ToString("HH:mm");
        var end = local.AddHours(2).ToString("HH:mm");
        Assert.True((await brand.Tenant.Ingest().PutAsJsonAsync($"/api/profiles/{pid}/preferences", new { quietHours = new { start, end }, timeZone = "Asia/Shanghai" })).IsSuccessStatusCode);
        await Eventually.Get(async () => (await brand.Tenant.Marketer().GetAsync($"/api/profiles/{pid}/preferences")).StatusCode, s => s == HttpStatusCode.OK, what: "preferences");

        var first = await brand.StartOkAsync(SmsTo(people, holdout: 25));
        var progress = await Eventually.Get(() => brand.CampaignAsync(first), c => Progress(c, "pending") <= 1 && Progress(c, "targeted") == 40, what: "first campaign settled");
        // Who is held out is a hash of campaign and person, so the control group is known exactly, not just roughly a quarter.
        var ids = new List<string>();
        foreach (var phone in people) ids.Add(await Consent.ConsentApi.ProfileIdOf(brand.Tenant.Marketer(), "phone:" + phone));
        var heldOut = ids.Count(p => Siyu.Core.Delivery.CampaignRules.IsHeldOut(first, p, 25));
        Assert.Equal(heldOut, Progress(progress, "holdout"));
        var quietDelivery = (await brand.DeliveriesAsync(quiet)).Single();
        if (quietDelivery.GetProperty("status").GetString() != "holdout")
        {
            Assert.Equal("deferred", quietDelivery.GetProperty("status").GetString());
            Assert.Equal("quiet_hours", quietDelivery.GetProperty("reason").GetString());
        }
        var sentFirst = Progress(progress, "sent");
        Assert.Equal(40 - Progress(progress, "holdout") - Progress(progress, "pending"), sentFirst);

        // A second campaign today: everyone sent to once already is at their cap.
        var second = await brand.StartOkAsync(SmsTo(people, "again"));
        var settled = await Eventually.Get(() => brand.CampaignAsync(second), c => Progress(c, "pending") <= 1 && Progress(c, "targeted") == 40, what: "second campaign settled");
        Assert.Equal(sentFirst, Suppressed(settled, "cap_reached"));
    }

    [Fact]
    public async Task Bad_campaigns_are_refused_with_every_problem()
    {
        var brand = await SendingBrand.CreateAsync(app);
        var marketer = brand.Tenant.Marketer();
        var response = await brand.StartAsync(new
        {
            name = "bad",
            audience = new { segment = "nobody" },
            message = new { template = "sms_offer", variables = new Dictionary<string, string> { ["colour"] = "red" } },
        });
        await response.AssertProblem(HttpStatusCode.BadRequest, "invalid_campaign");
        var errors = (await response.Json()).ErrorTexts();
        Assert.Contains(errors, e => e.StartsWith("audience.segment") && e.Contains("nobody"));
        Assert.Contains(errors, e => e.Contains("'offer'") && e.Contains("no default"));
        Assert.Contains(errors, e => e.Contains("no variable 'colour'"));
        await (await marketer.PostRaw("/api/campaigns", "{\"name\": ")).AssertProblem(HttpStatusCode.BadRequest, "invalid_json");
        await (await brand.StartAsync(new { name = "x", audience = new { segment = "s" }, journey = "nope" })).AssertProblem(HttpStatusCode.BadRequest, "invalid_campaign");
        await (await brand.Tenant.Ingest().PostAsJsonAsync("/api/campaigns", new { name = "x" })).AssertProblem(HttpStatusCode.Forbidden, "wrong_role");
        // Another brand cannot see this one's campaigns.
        var id = await brand.StartOkAsync(SmsTo(["13000000009"]));
        var other = await app.NewTenantAsync();
        await (await other.Marketer().GetAsync($"/api/campaigns/{id}")).AssertProblem(HttpStatusCode.NotFound, "campaign_not_found");
        // A template that does not hold together.
        var bad = await marketer.PutAsync("/api/templates/broken", new StringContent("""{"channel": "fax", "fields": {"a": "{{ghost}}"}}""", System.Text.Encoding.UTF8, "application/json"));
        await bad.AssertProblem(HttpStatusCode.BadRequest, "invalid_template");
    }
}
