using System.Net;
using System.Text.Json;
using Siyu.Core.Journeys;
using Siyu.Functions.Journeys;
using Siyu.IntegrationTests.Consent;
using Siyu.IntegrationTests.Infrastructure;

namespace Siyu.IntegrationTests.Journeys;

/// <summary>
/// The cart recovery journey, end to end from ingested events, on Azurite, with the clock moved instead of waited:
/// paying in time takes "arrived", not paying takes the timeout, the split follows its weights and sticks, goal
/// conversions are counted per branch, "once" keeps a second cart out.
/// </summary>
public sealed class CartRecoveryTests(ClockedApp app) : IClassFixture<ClockedApp>
{
    private const int People = 1000;

    private static object Event(string id, string name, string phone, DateTimeOffset at, object? properties = null) =>
        new { messageId = id, type = "track", @event = name, identities = new { phone }, timestamp = at.ToString("O"), properties };

    private static async Task PostAll(TestTenant tenant, IEnumerable<object> events)
    {
        foreach (var chunk in events.Chunk(500))
        {
            var response = await tenant.Ingest().PostEvents(chunk);
            var body = await response.Content.ReadAsStringAsync();
            Assert.True(response.StatusCode == HttpStatusCode.Accepted, body[..Math.Min(body.Length, 500)]);
        }
    }

    [Fact]
    public async Task Cart_recovery_runs_end_to_end_from_ingested_events()
    {
        var tenant = await app.NewTenantAsync();
        await tenant.PublishAsync("cart", JourneyApi.CartRecovery);
        var phones = Enumerable.Range(0, People).Select(_ => ConsentApi.NewPhone()).ToList();
        var start = app.Clock.GetUtcNow();

        // Everyone adds to cart: everyone enters and waits for payment.
        await PostAll(tenant, phones.Select((p, i) => Event($"cart-{p}", "add_to_cart", p, start, new { product = "奶粉 " + i })));
        await tenant.WaitForStats("cart", s => s.NodeCurrent("wait_pay") == People, "everyone waiting for payment");

        // The first 100 pay within the two hours: they take "arrived" and get no reminder.
        await app.AdvanceAsync(TimeSpan.FromMinutes(30));
        var payNow = phones.Take(100).ToList();
        await PostAll(tenant, payNow.Select(p => Event($"pay-{p}", "order_paid", p, app.Clock.GetUtcNow())));
        await tenant.WaitForStats("cart", s => s.NodeLeft("wait_pay", "arrived") == 100, "100 paid in time");

        // A second cart event for someone already in: "once" keeps them out.
        await PostAll(tenant, [Event($"cart2-{phones[500]}", "add_to_cart", phones[500], app.Clock.GetUtcNow())]);

        // Two hours pass: the other 900 time out and are reminded, once each.
        await app.AdvanceAsync(TimeSpan.FromMinutes(91));
        var afterReminders = await tenant.WaitForStats("cart", s => s.NodeCurrent("wait_day") == 900, "900 reminded and waiting a day");
        Assert.Equal(900, afterReminders.NodeLeft("wait_pay", "timedOut"));
        Assert.Equal(900, afterReminders.NodeLeft("remind", "next"));

        // 50 pay during the day; then the day passes for the other 850, who are split.
        var payLater = phones.Skip(100).Take(50).ToList();
        await PostAll(tenant, payLater.Select(p => Event($"pay-{p}", "order_paid", p, app.Clock.GetUtcNow())));
        await tenant.WaitForStats("cart", s => s.NodeLeft("wait_day", "arrived") == 50, "50 paid during the day");
        await app.AdvanceAsync(TimeSpan.FromDays(1));
        var split = await tenant.WaitForStats("cart", s => s.GetProperty("completed").GetInt64() == People, "every run ended");

        Assert.Equal(People, split.GetProperty("entered").GetInt64());
        Assert.Equal(0, split.GetProperty("active").GetInt64());
        Assert.Equal(0, split.GetProperty("exited").GetInt64());
        var coupon = split.NodeLeft("split", "coupon");
        var control = split.NodeLeft("split", "control");
        Assert.Equal(850, coupon + control);
        // 50/50 over 850 people: the standard deviation is about 15, so ±60 is four of them.
        Assert.InRange(coupon, 425 - 60, 425 + 60);
        Assert.Equal(coupon, split.NodeLeft("coupon", "next"));

        // Who went where: sticky, i.e. exactly what the person's own hash says, and recorded on their run.
        var ids = new string[People];
        await Parallel.ForEachAsync(Enumerable.Range(0, People), new ParallelOptions { MaxDegreeOfParallelism = 16 }, async (i, _) =>
            ids[i] = (await tenant.Marketer().FindProfile($"phone:{phones[i]}"))!.Value.GetProperty("id").GetString()!);
        var splitNode = new SplitNode("split", [new SplitBranch("coupon", 50, "coupon", false), new SplitBranch("control", 50, null, true)]);
        var branchOf = Enumerable.Range(150, People - 150).ToDictionary(i => i, i => JourneyInterpreter.Pick(splitNode, "cart", ids[i]).Name);
        Assert.Equal(coupon, branchOf.Values.Count(b => b == "coupon"));
        var sample = branchOf.Keys.First(i => branchOf[i] == "coupon");
        var runs = await tenant.Runs(ids[sample]);
        var run = runs.GetProperty("journeys").EnumerateArray().Single();
        Assert.Equal("coupon", run.GetProperty("splits").GetProperty("split").GetString());
        Assert.Equal(["wait_pay", "remind", "wait_day", "split", "coupon", "done"],
            run.GetProperty("path").EnumerateArray().Select(p => p.GetProperty("node").GetString()));
        Assert.Equal(["timedOut", "next", "timedOut", "coupon", "next", "end"],
            run.GetProperty("path").EnumerateArray().Select(p => p.GetProperty("branch").GetString()));
        // The reminder, then the coupon: two delivery requests, with the cart's product filled in.
        var sends = runs.GetProperty("deliveries").EnumerateArray().ToList();
        Assert.Equal(["cart_reminder", "half_price_coupon"], sends.Select(d => d.GetProperty("template").GetString()));
        Assert.Equal("奶粉 " + sample, sends[0].GetProperty("variables").GetProperty("product").GetString());

        // The person who paid in time went straight to "paid", with no send.
        var early = await tenant.Runs(ids[0]);
        Assert.Equal(["wait_pay", "paid"], early.GetProperty("journeys")[0].GetProperty("path").EnumerateArray().Select(p => p.GetProperty("node").GetString()));
        Assert.Equal(0, early.GetProperty("deliveries").GetArrayLength());
        // The second cart event made no second run.
        Assert.Equal(1, (await tenant.Runs(ids[500])).GetProperty("journeys").GetArrayLength());

        // After the split, 60 of the coupon group and 40 of the control group pay: conversions per branch.
        var couponPayers = branchOf.Where(b => b.Value == "coupon").Take(60).Select(b => phones[b.Key]);
        var controlPayers = branchOf.Where(b => b.Value == "control").Take(40).Select(b => phones[b.Key]);
        await PostAll(tenant, couponPayers.Concat(controlPayers).Select(p => Event($"pay-{p}", "order_paid", p, app.Clock.GetUtcNow())));
        var final = await tenant.WaitForStats("cart", s => s.GetProperty("converted").GetInt64() == 250, "250 conversions (100 + 50 + 60 + 40)");
        var branches = final.GetProperty("splits")[0].GetProperty("branches").EnumerateArray().ToDictionary(b => b.GetProperty("name").GetString()!);
        Assert.Equal(60, branches["coupon"].GetProperty("converted").GetInt64());
        Assert.Equal(40, branches["control"].GetProperty("converted").GetInt64());
        Assert.True(branches["control"].GetProperty("control").GetBoolean());
        Assert.Equal(Math.Round(60.0 / coupon, 4), branches["coupon"].GetProperty("conversionRate").GetDouble());
        Assert.Equal(People, final.GetProperty("entered").GetInt64());
        // A repeat of the same payments counts nothing twice.
        await PostAll(tenant, couponPayers.Select(p => Event($"pay-{p}", "order_paid", p, app.Clock.GetUtcNow())));
        await Task.Delay(1500);
        Assert.Equal(250, (await tenant.Stats("cart")).GetProperty("converted").GetInt64());
    }
}
