using System.Security.Cryptography;
using Azure;
using Siyu.Storage.Account;
using Siyu.Storage.Queues;

namespace Siyu.Storage.Tests.Queues;

/// <summary>The queue client against a real Azurite: the operations that do not wait for time to pass.</summary>
public sealed class AzureQueueServiceTests
{
    [Fact]
    public async Task Create_is_idempotent_and_delete_reports_existence()
    {
        var queue = (await QueueTestService.GetAsync()).Queue(AzuriteFixture.NewName("q"));

        Assert.True(await queue.CreateIfNotExistsAsync());
        Assert.False(await queue.CreateIfNotExistsAsync());
        Assert.Equal(0, await queue.GetApproximateCountAsync());

        Assert.True(await queue.DeleteIfExistsAsync());
        Assert.False(await queue.DeleteIfExistsAsync());
    }

    [Fact]
    public async Task Operations_on_a_missing_queue_fail_with_RequestFailedException_404()
    {
        var queue = (await QueueTestService.GetAsync()).Queue(AzuriteFixture.NewName("q"));

        var e = await Assert.ThrowsAsync<RequestFailedException>(() => queue.SendAsync("x"));
        Assert.Equal(404, e.Status);
        Assert.Equal("QueueNotFound", e.ErrorCode);
        var r = await Assert.ThrowsAsync<RequestFailedException>(() => queue.ReceiveAsync());
        Assert.Equal("QueueNotFound", r.ErrorCode);
    }

    [Fact]
    public async Task Send_receive_delete()
    {
        var queue = await QueueTestService.NewQueueAsync();
        var before = DateTimeOffset.UtcNow;

        var sent = await queue.SendAsync("hello");
        Assert.False(string.IsNullOrEmpty(sent.MessageId));
        Assert.False(string.IsNullOrEmpty(sent.PopReceipt));
        Assert.InRange(sent.InsertedOn, before.AddSeconds(-5), DateTimeOffset.UtcNow.AddSeconds(5));
        Assert.InRange(sent.ExpiresOn - sent.InsertedOn, TimeSpan.FromDays(7) - TimeSpan.FromSeconds(2), TimeSpan.FromDays(7) + TimeSpan.FromSeconds(2));

        var received = Assert.Single(await queue.ReceiveAsync(visibilityTimeout: TimeSpan.FromSeconds(30)));
        Assert.Equal(sent.MessageId, received.MessageId);
        Assert.Equal("hello", received.Text);
        Assert.Equal(1, received.DequeueCount);
        Assert.Equal(sent.InsertedOn, received.InsertedOn);
        Assert.InRange(received.NextVisibleOn, DateTimeOffset.UtcNow.AddSeconds(25), DateTimeOffset.UtcNow.AddSeconds(35));

        await queue.DeleteAsync(received.MessageId, received.PopReceipt);
        Assert.Empty(await queue.ReceiveAsync());
        Assert.Equal(0, await queue.GetApproximateCountAsync());
    }

    [Fact]
    public async Task Deleting_a_message_that_is_gone_is_a_404_and_TryDelete_tolerates_it()
    {
        var queue = await QueueTestService.NewQueueAsync();
        await queue.SendAsync("once");
        var m = Assert.Single(await queue.ReceiveAsync());

        Assert.True(await queue.TryDeleteAsync(m.MessageId, m.PopReceipt));
        Assert.False(await queue.TryDeleteAsync(m.MessageId, m.PopReceipt));
        var e = await Assert.ThrowsAsync<RequestFailedException>(() => queue.DeleteAsync(m.MessageId, m.PopReceipt));
        Assert.Equal(404, e.Status);
        Assert.Equal("MessageNotFound", e.ErrorCode);
    }

    [Fact]
    public async Task Peek_does_not_dequeue()
    {
        var queue = await QueueTestService.NewQueueAsync();
        var sent = await queue.SendAsync("look");

        var peeked = Assert.Single(await queue.PeekAsync(5));
        Assert.Equal(sent.MessageId, peeked.MessageId);
        Assert.Equal("look", peeked.Text);
        Assert.Equal(0, peeked.DequeueCount);
        Assert.Single(await queue.PeekAsync());

        var received = Assert.Single(await queue.ReceiveAsync());
        Assert.Equal(1, received.DequeueCount);
        Assert.Empty(await queue.PeekAsync());   // a received message is invisible to peek as well
    }

    [Fact]
    public async Task Approximate_count_and_clear()
    {
        var queue = await QueueTestService.NewQueueAsync();
        for (var i = 0; i < 3; i++) await queue.SendAsync($"m{i}");
        Assert.Equal(3, await queue.GetApproximateCountAsync());

        var m = Assert.Single(await queue.ReceiveAsync());
        Assert.Equal(3, await queue.GetApproximateCountAsync());   // invisible messages still count
        await queue.DeleteAsync(m.MessageId, m.PopReceipt);
        Assert.Equal(2, await queue.GetApproximateCountAsync());

        await queue.ClearAsync();
        Assert.Equal(0, await queue.GetApproximateCountAsync());
        Assert.Empty(await queue.PeekAsync(32));
    }

    [Fact]
    public async Task Batch_receive_of_32()
    {
        var queue = await QueueTestService.NewQueueAsync();
        var texts = Enumerable.Range(0, 40).Select(i => $"message {i}").ToArray();
        await Task.WhenAll(texts.Select(t => queue.SendAsync(t)));   // concurrently: one pipeline, many connections

        var batch = await queue.ReceiveAsync(32, TimeSpan.FromSeconds(30));
        Assert.Equal(32, batch.Count);
        Assert.Equal(32, batch.Select(m => m.MessageId).Distinct().Count());
        Assert.All(batch, m => Assert.Contains(m.Text, texts));

        var rest = await queue.ReceiveAsync(32, TimeSpan.FromSeconds(30));
        Assert.Equal(8, rest.Count);
        Assert.Empty(batch.Select(m => m.MessageId).Intersect(rest.Select(m => m.MessageId)));

        await Task.WhenAll(batch.Concat(rest).Select(m => queue.DeleteAsync(m.MessageId, m.PopReceipt)));
        Assert.Equal(0, await queue.GetApproximateCountAsync());
    }

    [Theory]
    [InlineData("<&>\"'")]
    [InlineData("中文 and 日本語, emoji 😀, accents é ü ß")]
    [InlineData("<QueueMessage><MessageText>nested</MessageText></QueueMessage>")]
    [InlineData("]]> &amp; &lt; &#xD; <![CDATA[x]]>")]
    [InlineData("{\"json\":\"<b>bold</b> & 'quoted'\"}")]
    [InlineData("  leading and trailing spaces  ")]
    [InlineData("   ")]
    [InlineData("line1\nline2\r\nline3\rend\ttab")]
    [InlineData("")]
    public async Task Text_round_trips_exactly(string text)
    {
        var queue = await QueueTestService.NewQueueAsync();
        await queue.SendAsync(text);

        Assert.Equal(text, Assert.Single(await queue.PeekAsync()).Text);
        var received = Assert.Single(await queue.ReceiveAsync());
        Assert.Equal(text, received.Text);

        var updated = text + "<&>中文";
        var receipt = await queue.UpdateVisibilityAsync(received.MessageId, received.PopReceipt, TimeSpan.Zero, updated);
        Assert.Equal(updated, Assert.Single(await queue.ReceiveAsync()).Text);
        Assert.NotEqual(received.PopReceipt, receipt.PopReceipt);
    }

    [Fact]
    public async Task UpdateVisibility_without_new_text_keeps_the_text()
    {
        var queue = await QueueTestService.NewQueueAsync();
        await queue.SendAsync("keep me");
        var received = Assert.Single(await queue.ReceiveAsync());

        await queue.UpdateVisibilityAsync(received.MessageId, received.PopReceipt, TimeSpan.Zero);

        Assert.Equal("keep me", Assert.Single(await queue.ReceiveAsync()).Text);
    }

    [Fact]
    public async Task Queue_requests_are_counted_by_the_storage_request_meter()
    {
        var queue = await QueueTestService.NewQueueAsync();
        var kinds = new System.Collections.Concurrent.ConcurrentQueue<string>();
        using var listener = new System.Diagnostics.Metrics.MeterListener();
        listener.InstrumentPublished = (i, l) => { if (i.Meter.Name == StorageRequestMeter.MeterName && i.Name == "siyu.storage.requests") l.EnableMeasurementEvents(i); };
        listener.SetMeasurementEventCallback<long>((_, _, tags, _) =>
        {
            string? target = null, kind = null;
            foreach (var tag in tags)
            {
                if (tag.Key == "target") target = tag.Value as string;
                if (tag.Key == "kind") kind = tag.Value as string;
            }
            if (target == queue.Name && kind is not null) kinds.Enqueue(kind);   // other tests use other queues
        });
        listener.Start();

        await queue.SendAsync("counted");
        await queue.PeekAsync();
        var m = Assert.Single(await queue.ReceiveAsync());
        await queue.UpdateVisibilityAsync(m.MessageId, m.PopReceipt, TimeSpan.FromSeconds(30));

        Assert.Equal(["put", "peek", "get", "update"], kinds.ToArray());
    }

    [Fact]
    public async Task Largest_message_is_accepted_and_oversized_text_is_rejected_client_side()
    {
        var queue = await QueueTestService.NewQueueAsync();

        var largest = new string('a', QueueLimits.MaxMessageBytes);
        await queue.SendAsync(largest);
        Assert.Equal(largest, Assert.Single(await queue.ReceiveAsync()).Text);

        var tooLong = await Assert.ThrowsAsync<ArgumentException>(() => queue.SendAsync(largest + "a"));
        Assert.Equal("text", tooLong.ParamName);
        Assert.Contains("65536", tooLong.Message);

        // Counted in UTF-8 bytes, not characters: 21,846 CJK characters are 65,538 bytes.
        var wide = new string('中', 21_846);
        await Assert.ThrowsAsync<ArgumentException>(() => queue.SendAsync(wide));
        // Escaping does not count: 65,536 '<' go out as &lt; (262,144 bytes on the wire) and are accepted.
        var escaped = new string('<', QueueLimits.MaxMessageBytes);
        await queue.SendAsync(escaped);
        Assert.Equal(escaped, Assert.Single(await queue.ReceiveAsync()).Text);

        Assert.Equal(2, await queue.GetApproximateCountAsync());   // the two accepted ones; nothing oversized reached the queue
    }

    [Fact]
    public async Task Text_that_XML_cannot_carry_is_rejected_client_side()
    {
        var queue = await QueueTestService.NewQueueAsync();
        await Assert.ThrowsAsync<ArgumentException>(() => queue.SendAsync("bell \u0007"));
        await Assert.ThrowsAsync<ArgumentException>(() => queue.SendAsync("lone surrogate \uD800 here"));
        Assert.Equal(0, await queue.GetApproximateCountAsync());
    }

    [Fact]
    public async Task Arguments_are_checked_before_any_request()
    {
        var service = await QueueTestService.GetAsync();
        foreach (var name in new[] { "ab", "Upper", "has_underscore", "-dash", "dash-", "dou--ble", new string('a', 64) })
            Assert.Throws<ArgumentException>(() => service.Queue(name));
        Assert.Equal("a-b1", service.Queue("a-b1").Name);

        var queue = service.Queue(AzuriteFixture.NewName("q"));   // never created: these must not reach the service
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => queue.ReceiveAsync(0));
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => queue.ReceiveAsync(33));
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => queue.PeekAsync(33));
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => queue.ReceiveAsync(1, TimeSpan.FromMilliseconds(500)));
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => queue.SendAsync("x", TimeSpan.FromDays(8)));
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => queue.SendAsync("x", timeToLive: TimeSpan.Zero));
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => queue.SendAsync("x", TimeSpan.FromSeconds(10), TimeSpan.FromSeconds(5)));
    }

    [Fact]
    public async Task A_wrong_account_key_is_rejected_with_403()
    {
        // The shared Azurite's connection string with a random key in place of the real one.
        var good = await AzuriteFixture.AccountAsync();
        var wrong = StorageAccount.Parse(good.ConnectionString!.Replace(good.AccountKey!, Convert.ToBase64String(RandomNumberGenerator.GetBytes(64)), StringComparison.Ordinal));
        using var service = new AzureQueueService(wrong);

        var e = await Assert.ThrowsAsync<RequestFailedException>(() => service.Queue(AzuriteFixture.NewName("q")).CreateIfNotExistsAsync());
        Assert.Equal(403, e.Status);
        Assert.Equal("AuthenticationFailed", e.ErrorCode);   // a bad signature; AuthorizationFailure is for RBAC/SAS denials
        Assert.Contains("Server failed to authenticate the request", e.Message);
    }

    [Fact]
    public async Task The_default_transport_is_the_services_own_pool()
    {
        var options = AzureQueueService.CreateOptions();
        using (var owned = new AzureQueueService(await AzuriteFixture.AccountAsync(), options))
            Assert.True(owned.OwnsTransport);
        Assert.Same(Azure.Core.Pipeline.HttpClientTransport.Shared, options.Transport);   // the options are left reusable
        var custom = AzureQueueService.CreateOptions();
        custom.Transport = new Azure.Core.Pipeline.HttpClientTransport();
        using var service = new AzureQueueService(await AzuriteFixture.AccountAsync(), custom);
        Assert.False(service.OwnsTransport);
    }

    [Fact]
    public async Task An_account_with_a_token_credential_is_refused_over_plain_http()
    {
        var good = await AzuriteFixture.AccountAsync();

        // Azurite here is plain http; the SDK will not send a bearer token without TLS, and says so before any request.
        var e = Assert.Throws<ArgumentException>(() => new AzureQueueService(new StorageAccount
        {
            TableEndpoint = good.TableEndpoint,
            QueueEndpoint = good.QueueEndpoint,
            Credential = new FakeCredential(),
        }));
        Assert.Contains("HTTPS", e.Message);
    }

    [Fact]
    public async Task An_account_with_a_token_credential_sends_a_storage_bearer_token_and_no_shared_key()
    {
        // Managed identity in Azure: service URI plus token credential. No TLS endpoint here, so the transport answers.
        var credential = new FakeCredential();
        var handler = new Answer201();
        var options = AzureQueueService.CreateOptions();
        options.Transport = new Azure.Core.Pipeline.HttpClientTransport(handler);
        using var service = new AzureQueueService(new StorageAccount
        {
            TableEndpoint = new Uri("https://account.table.core.windows.net"),
            QueueEndpoint = new Uri("https://account.queue.core.windows.net"),
            Credential = credential,
        }, options);

        Assert.True(await service.Queue("orders").CreateIfNotExistsAsync());

        var request = Assert.Single(handler.Requests);
        Assert.Equal(new Uri("https://account.queue.core.windows.net/orders"), request.RequestUri);
        Assert.Equal("Bearer token", request.Headers.Authorization?.ToString());
        Assert.Equal(["https://storage.azure.com/.default"], credential.Scopes.Distinct());
    }

    private sealed class Answer201 : HttpMessageHandler
    {
        public List<HttpRequestMessage> Requests { get; } = [];

        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken ct)
        {
            lock (Requests) Requests.Add(request);
            return Task.FromResult(new HttpResponseMessage(System.Net.HttpStatusCode.Created) { Content = new ByteArrayContent([]) });
        }
    }

    [Fact]
    public void An_account_without_key_or_credential_is_refused()
    {
        var account = new StorageAccount { TableEndpoint = new Uri("http://127.0.0.1:1/a"), QueueEndpoint = new Uri("http://127.0.0.1:2/a") };
        Assert.Throws<InvalidOperationException>(() => new AzureQueueService(account));
    }

    private sealed class FakeCredential : Azure.Core.TokenCredential
    {
        public System.Collections.Concurrent.ConcurrentQueue<string> Scopes { get; } = new();

        public override Azure.Core.AccessToken GetToken(Azure.Core.TokenRequestContext context, CancellationToken ct)
        {
            foreach (var scope in context.Scopes) Scopes.Enqueue(scope);
            return new("token", DateTimeOffset.UtcNow.AddHours(1));
        }

        public override ValueTask<Azure.Core.AccessToken> GetTokenAsync(Azure.Core.TokenRequestContext context, CancellationToken ct) =>
            ValueTask.FromResult(GetToken(context, ct));
    }
}
