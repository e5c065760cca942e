using Azure;
using Siyu.Storage.Queues;

namespace Siyu.Storage.Tests.Queues;

// Tests that wait for leases, delays and lifetimes to lapse, with 1–2 s timeouts. Split into classes so xunit runs
// them in parallel (tests within one class run one after another).

public sealed class QueueLeaseTests
{
    [Fact]
    public async Task A_received_message_is_hidden_for_the_visibility_timeout_then_comes_back_with_DequeueCount_2()
    {
        var queue = await QueueTestService.NewQueueAsync();
        var sent = await queue.SendAsync("retry me");

        var first = Assert.Single(await queue.ReceiveAsync(visibilityTimeout: TimeSpan.FromSeconds(1)));
        Assert.Equal(1, first.DequeueCount);
        Assert.Empty(await queue.ReceiveAsync());
        Assert.Empty(await queue.PeekAsync());

        var again = Assert.Single(await QueueTestService.EventuallyAsync(() => queue.ReceiveAsync(), TimeSpan.FromSeconds(5)));
        Assert.Equal(sent.MessageId, again.MessageId);
        Assert.Equal(2, again.DequeueCount);
        Assert.True(DateTimeOffset.UtcNow >= first.NextVisibleOn.AddMilliseconds(-200), "came back before its lease lapsed");
        Assert.NotEqual(first.PopReceipt, again.PopReceipt);

        // The first lease's receipt no longer deletes; the current one does.
        var stale = await Assert.ThrowsAsync<RequestFailedException>(() => queue.DeleteAsync(first.MessageId, first.PopReceipt));
        Assert.Contains(stale.Status, new[] { 400, 404 });
        await queue.DeleteAsync(again.MessageId, again.PopReceipt);
    }

    [Fact]
    public async Task UpdateVisibility_extends_the_lease_and_replaces_the_pop_receipt()
    {
        var queue = await QueueTestService.NewQueueAsync();
        await queue.SendAsync("long job");
        var received = Assert.Single(await queue.ReceiveAsync(visibilityTimeout: TimeSpan.FromSeconds(1)));

        var extended = await queue.UpdateVisibilityAsync(received.MessageId, received.PopReceipt, TimeSpan.FromSeconds(30));
        Assert.NotEqual(received.PopReceipt, extended.PopReceipt);
        Assert.InRange(extended.NextVisibleOn, DateTimeOffset.UtcNow.AddSeconds(25), DateTimeOffset.UtcNow.AddSeconds(35));

        await Task.Delay(TimeSpan.FromSeconds(1.5));   // past the original 1 s lease
        Assert.Empty(await queue.ReceiveAsync());

        // The old receipt neither deletes nor updates any more (Azurite: 400 PopReceiptMismatch).
        var e = await Assert.ThrowsAsync<RequestFailedException>(() => queue.DeleteAsync(received.MessageId, received.PopReceipt));
        Assert.Equal(400, e.Status);
        Assert.Equal("PopReceiptMismatch", e.ErrorCode);
        await Assert.ThrowsAsync<RequestFailedException>(() => queue.UpdateVisibilityAsync(received.MessageId, received.PopReceipt, TimeSpan.Zero));

        // Updating with a new text and no delay hands the message straight back, text replaced, with the same id.
        var released = await queue.UpdateVisibilityAsync(received.MessageId, extended.PopReceipt, TimeSpan.Zero, "step 2");
        var next = Assert.Single(await queue.ReceiveAsync());
        Assert.Equal(received.MessageId, next.MessageId);
        Assert.Equal("step 2", next.Text);
        Assert.Equal(2, next.DequeueCount);
        Assert.NotEqual(released.PopReceipt, next.PopReceipt);
        await queue.DeleteAsync(next.MessageId, next.PopReceipt);
    }
}

public sealed class QueueDelayAndLifetimeTests
{
    [Fact]
    public async Task A_visibility_delay_on_send_hides_the_message_until_it_lapses()
    {
        var queue = await QueueTestService.NewQueueAsync();
        var sent = await queue.SendAsync("later", visibilityDelay: TimeSpan.FromSeconds(1));
        Assert.InRange(sent.NextVisibleOn - sent.InsertedOn, TimeSpan.FromSeconds(0.5), TimeSpan.FromSeconds(1.5));

        Assert.Empty(await queue.ReceiveAsync());
        Assert.Empty(await queue.PeekAsync());
        Assert.Equal(1, await queue.GetApproximateCountAsync());

        var m = Assert.Single(await QueueTestService.EventuallyAsync(() => queue.ReceiveAsync(), TimeSpan.FromSeconds(5)));
        Assert.Equal(sent.MessageId, m.MessageId);
        Assert.Equal(1, m.DequeueCount);
    }

    [Fact]
    public async Task A_message_expires_after_its_time_to_live()
    {
        var queue = await QueueTestService.NewQueueAsync();
        var sent = await queue.SendAsync("short-lived", timeToLive: TimeSpan.FromSeconds(1));
        Assert.InRange(sent.ExpiresOn - sent.InsertedOn, TimeSpan.FromSeconds(0.5), TimeSpan.FromSeconds(1.5));
        Assert.Single(await queue.PeekAsync());

        await Task.Delay(TimeSpan.FromSeconds(2));
        Assert.Empty(await queue.PeekAsync());
        Assert.Empty(await queue.ReceiveAsync());
    }

    [Fact]
    public async Task A_time_to_live_of_minus_one_never_expires()
    {
        var queue = await QueueTestService.NewQueueAsync();
        var forever = await queue.SendAsync("forever", timeToLive: QueueLimits.NeverExpires);
        var infinite = await queue.SendAsync("also forever", timeToLive: Timeout.InfiniteTimeSpan);
        var week = await queue.SendAsync("a week", timeToLive: TimeSpan.FromDays(7));

        Assert.Equal(9999, forever.ExpiresOn.Year);
        Assert.Equal(9999, infinite.ExpiresOn.Year);
        Assert.InRange(week.ExpiresOn - week.InsertedOn, TimeSpan.FromDays(7) - TimeSpan.FromSeconds(2), TimeSpan.FromDays(7) + TimeSpan.FromSeconds(2));

        var received = await queue.ReceiveAsync(32);
        Assert.Equal(9999, received.Single(m => m.MessageId == forever.MessageId).ExpiresOn.Year);
    }
}
