using System.Net;
using System.Text;
using Azure.Data.Tables;
using Siyu.Core.Storage;
using Siyu.Functions.Privacy;
using Siyu.IntegrationTests.Infrastructure;
using Siyu.Storage.Tables;
using Siyu.Storage.WeChat;

namespace Siyu.IntegrationTests.WeChat;

/// <summary>
/// The replay guard. A plaintext signature covers token, timestamp and nonce but not the body, so a nonce is good for
/// one body per app within the timestamp window: the same body again is a retry (accepted), another body a replay (401).
/// </summary>
public sealed class WeChatReplayTests(WeChatGuardApp app) : IClassFixture<WeChatGuardApp>
{
    private static string NewOpenid() => "o" + Guid.NewGuid().ToString("N")[..20];

    private static StringContent Xml(string xml) => new(xml, Encoding.UTF8, "text/xml");

    private string Subscribe(string openid) => WeChatPushes.EventXml(openid, "subscribe", long.Parse(app.Timestamp()));

    [Theory]
    [InlineData("plaintext")]
    [InlineData("compatible")]
    public async Task One_signed_query_with_another_body_is_a_replay_and_records_no_consent(string mode)
    {
        var tenant = await app.NewTenantAsync();
        var wx = await WeChatPushes.RegisterAsync(tenant.Admin(), tenant.Id, mode);
        var client = app.CreateClient();
        var query = wx.PlainQuery(app.Timestamp());
        var real = NewOpenid();
        var forged = NewOpenid();

        Assert.Equal(HttpStatusCode.OK, (await client.PostAsync(wx.Url + query, Xml(Subscribe(real)))).StatusCode);
        var replay = await client.PostAsync(wx.Url + query, Xml(Subscribe(forged)));

        await replay.AssertProblem(HttpStatusCode.Unauthorized, "wechat_replayed");
        await tenant.Marketer().WaitForProfile($"openid:{real}", 1, wx.AppId);
        Assert.Empty(app.Queues.IngestMessagesWith(forged));
    }

    [Fact]
    public async Task The_same_body_under_the_same_nonce_is_a_retry_and_is_stored_once()
    {
        var tenant = await app.NewTenantAsync();
        var wx = await WeChatPushes.RegisterAsync(tenant.Admin(), tenant.Id, "plaintext");
        var client = app.CreateClient();
        var openid = NewOpenid();
        var query = wx.PlainQuery(app.Timestamp());
        var body = WeChatPushes.TextXml(openid, "在吗", 7000000000000000001, long.Parse(app.Timestamp()));

        // WeChat's retries of one push: the same query, the same bytes.
        for (var i = 0; i < 3; i++) Assert.Equal(HttpStatusCode.OK, (await client.PostAsync(wx.Url + query, Xml(body))).StatusCode);

        var profile = await tenant.Marketer().WaitForProfile($"openid:{openid}", 1, wx.AppId);
        Assert.Equal("在吗", profile.GetProperty("recentEvents")[0].GetProperty("properties").GetProperty("content").GetString());
    }

    [Fact]
    public async Task A_push_answered_503_because_its_enqueue_failed_is_accepted_when_WeChat_retries_it()
    {
        var tenant = await app.NewTenantAsync();
        var wx = await WeChatPushes.RegisterAsync(tenant.Admin(), tenant.Id, "plaintext");
        var client = app.CreateClient();
        var openid = NewOpenid();
        var query = wx.PlainQuery(app.Timestamp());
        var body = Subscribe(openid);

        app.Queues.FailIngest = true;
        HttpResponseMessage failed;
        try { failed = await client.PostAsync(wx.Url + query, Xml(body)); }
        finally { app.Queues.FailIngest = false; }
        await failed.AssertProblem(HttpStatusCode.ServiceUnavailable, "storage_unavailable");

        Assert.Equal(HttpStatusCode.OK, (await client.PostAsync(wx.Url + query, Xml(body))).StatusCode);
        await tenant.Marketer().WaitForProfile($"openid:{openid}", 1, wx.AppId);
        // The nonce is still this body's: another one under it is a replay.
        await (await client.PostAsync(wx.Url + query, Xml(Subscribe(NewOpenid())))).AssertProblem(HttpStatusCode.Unauthorized, "wechat_replayed");
    }

    [Fact]
    public async Task A_safe_mode_push_under_a_used_nonce_with_another_body_is_a_replay_too()
    {
        var tenant = await app.NewTenantAsync();
        var wx = await WeChatPushes.RegisterAsync(tenant.Admin(), tenant.Id, "safe");
        var client = app.CreateClient();
        var ts = app.Timestamp();
        var nonce = WeChatPushes.NewNonce();
        var (q1, b1) = wx.Encrypted(Subscribe(NewOpenid()), timestamp: ts, nonce: nonce);
        var (q2, b2) = wx.Encrypted(Subscribe(NewOpenid()), timestamp: ts, nonce: nonce);

        Assert.Equal(HttpStatusCode.OK, (await client.PostAsync(wx.Url + q1, Xml(b1))).StatusCode);
        await (await client.PostAsync(wx.Url + q2, Xml(b2))).AssertProblem(HttpStatusCode.Unauthorized, "wechat_replayed");
        Assert.Equal(HttpStatusCode.OK, (await client.PostAsync(wx.Url + q1, Xml(b1))).StatusCode); // a retry
    }

    [Fact]
    public async Task Two_bodies_racing_for_one_nonce_on_two_instances_exactly_one_is_accepted()
    {
        var tenant = await app.NewTenantAsync();
        var wx = await WeChatPushes.RegisterAsync(tenant.Admin(), tenant.Id, "plaintext");
        // A second instance of the app over the same storage: its own caches, its own clock, the same tables.
        var other = new WeChatGuardApp { Prefix = app.Prefix, Clock = new(app.Clock.GetUtcNow()) };
        try
        {
            await other.InitializeAsync();
            await Race(wx, other);
        }
        finally { await other.DisposeAsync(); }
    }

    private async Task Race(WeChatPushes wx, WeChatGuardApp other)
    {
        var here = app.CreateClient();
        var there = other.CreateClient();
        for (var round = 0; round < 10; round++)
        {
            var query = wx.PlainQuery(app.Timestamp());
            var (a, b) = (NewOpenid(), NewOpenid());
            var answers = await Task.WhenAll(here.PostAsync(wx.Url + query, Xml(Subscribe(a))), there.PostAsync(wx.Url + query, Xml(Subscribe(b))));

            Assert.Single(answers, r => r.StatusCode == HttpStatusCode.OK);
            await answers.Single(r => r.StatusCode != HttpStatusCode.OK).AssertProblem(HttpStatusCode.Unauthorized, "wechat_replayed");
            var queued = app.Queues.IngestMessagesWith(a).Concat(other.Queues.IngestMessagesWith(a)).Count()
                         + app.Queues.IngestMessagesWith(b).Concat(other.Queues.IngestMessagesWith(b)).Count();
            Assert.Equal(1, queued);
        }
    }

    [Fact]
    public async Task A_nonce_expires_with_the_timestamp_window_and_the_retention_purge_deletes_it()
    {
        var tenant = await app.NewTenantAsync();
        var wx = await WeChatPushes.RegisterAsync(tenant.Admin(), tenant.Id, "plaintext");
        var client = app.CreateClient();
        var nonce = WeChatPushes.NewNonce();
        var first = Subscribe(NewOpenid());
        Assert.Equal(HttpStatusCode.OK, (await client.PostAsync(wx.Url + wx.PlainQuery(app.Timestamp(), nonce), Xml(first))).StatusCode);

        // Past the window the old query is stale anyway, so the nonce is free for a new signed query.
        app.Clock.Advance(TimeSpan.FromMinutes(6));
        var query = wx.PlainQuery(app.Timestamp(), nonce);
        Assert.Equal(HttpStatusCode.OK, (await client.PostAsync(wx.Url + query, Xml(Subscribe(NewOpenid())))).StatusCode);
        await (await client.PostAsync(wx.Url + query, Xml(first))).AssertProblem(HttpStatusCode.Unauthorized, "wechat_replayed");

        var table = app.Service<StorageTables>().WeChatNonces;
        var pk = WeChatNonceStore.Partition(tenant.Id, wx.AppId);
        Assert.True((await table.GetEntityIfExistsAsync<TableEntity>(pk, KeyEncoding.Escape(nonce))).HasValue);
        app.Clock.Advance(TimeSpan.FromMinutes(6));
        var report = await app.Service<RetentionPurge>().RunAsync(CancellationToken.None);

        Assert.True(report.NoncesDeleted >= 1, $"report: {report}");
        Assert.False((await table.GetEntityIfExistsAsync<TableEntity>(pk, KeyEncoding.Escape(nonce))).HasValue);
    }
}
