using System.Text.Json;

namespace Siyu.Channels.Tests;

/// <summary><c>GET /fake/stats</c> counts unique messages per recipient, so "nobody got two" can be read off the local run's fake.</summary>
public sealed class FakeStatsTests
{
    [Fact]
    public async Task Stats_count_unique_messages_per_recipient_and_name_everyone_who_got_more_than_one()
    {
        await using var h = await Harness.StartAsync();
        var twice = "+8613800138000";
        var once = "+8613900139000";
        await h.Senders.SendAsync(Harness.Provider(ChannelNames.Sms, "d~a1", twice), Harness.ProviderAccount, default);
        await h.Senders.SendAsync(Harness.Provider(ChannelNames.Sms, "d~a2", twice), Harness.ProviderAccount, default);
        await h.Senders.SendAsync(Harness.Provider(ChannelNames.Sms, "d~b1", once), Harness.ProviderAccount, default);
        // A repeat under the same key is absorbed by the provider: not a second message.
        await h.Senders.SendAsync(Harness.Provider(ChannelNames.Sms, "d~b1", once), Harness.ProviderAccount, default);
        await h.Senders.SendAsync(Harness.Template("d~c1", openid: "oOnce"), Harness.WeChatAccount, default);

        using var http = new HttpClient();
        var stats = JsonDocument.Parse(await http.GetStringAsync(new Uri(h.Fake.BaseUrl, "fake/stats"))).RootElement;

        Assert.Equal(4, stats.GetProperty("accepted").GetInt32());
        Assert.Equal(3, stats.GetProperty("recipients").GetInt32());
        Assert.Equal(2, stats.GetProperty("maxPerRecipient").GetInt32());
        var more = stats.GetProperty("recipientsMoreThanOnce").EnumerateObject().Select(p => (p.Name, p.Value.GetInt32())).ToList();
        Assert.Equal([(twice, 2)], more);
        Assert.Equal((2, 1, 1), (h.Fake.AcceptedFor(twice), h.Fake.AcceptedFor(once), h.Fake.AcceptedFor("oOnce")));

        h.Fake.Reset();
        stats = JsonDocument.Parse(await http.GetStringAsync(new Uri(h.Fake.BaseUrl, "fake/stats"))).RootElement;
        Assert.Equal((0, 0), (stats.GetProperty("recipients").GetInt32(), stats.GetProperty("maxPerRecipient").GetInt32()));
        Assert.Empty(stats.GetProperty("recipientsMoreThanOnce").EnumerateObject());
    }
}
