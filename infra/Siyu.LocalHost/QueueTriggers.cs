using System.Text;
using System.Text.Json;
using Azure.Storage.Queues;
using Azure.Storage.Queues.Models;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;

namespace Siyu.LocalHost;

/// <summary>
/// One queue trigger, pulled as the Functions host's queue listener pulls it (host.json <c>extensions.queues</c>): up to
/// <c>batchSize</c> messages per receive, a new receive once fewer than <c>newBatchThreshold</c> are in flight, polling
/// that backs off to <c>maxPollingInterval</c> while the queue is empty. A message whose function succeeds is deleted;
/// one that fails becomes visible again after <c>visibilityTimeout</c>, and once it has been tried <c>maxDequeueCount</c>
/// times it is moved to <c>{queue}-poison</c> (the original text, as the host moves it); one received with a dequeue
/// count already past <c>maxDequeueCount</c> is moved untried. The host keeps no reason with
/// a poison message: it logs the failure, and so does this listener (the exception's message with the message id);
/// an app that wants the reason beside the message writes it itself.
/// </summary>
internal sealed class QueueTrigger(FunctionInvoker invoker, QueueClient queue, QueueClient poison, QueueTriggerSettings settings, ILogger log)
{
    private int _inFlight;

    public string QueueName => queue.Name;

    public static QueueTrigger Create(FunctionInvoker invoker, IConfiguration config, QueueTriggerSettings settings, ILogger log)
    {
        var trigger = invoker.Function.Trigger;
        var name = Settings.Resolve(trigger.Text("queueName") ?? throw new InvalidOperationException($"{invoker.Function.Name}: no queueName"), config);
        var service = Settings.QueueService(trigger.Text("connection"), config, settings);
        return new QueueTrigger(invoker, service.GetQueueClient(name), service.GetQueueClient(name + "-poison"), settings, log);
    }

    public async Task RunAsync(CancellationToken stop)
    {
        await queue.CreateIfNotExistsAsync(cancellationToken: stop);
        var delay = TimeSpan.FromMilliseconds(100);
        var running = new List<Task>();
        while (!stop.IsCancellationRequested)
        {
            running.RemoveAll(t => t.IsCompleted);
            if (Volatile.Read(ref _inFlight) > settings.NewBatchThreshold)
            {
                await ((Task)Task.WhenAny(running)).WaitAsync(stop).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
                continue;
            }
            QueueMessage[] messages;
            try
            {
                // Received with a lease the host renews while the function runs; a short one here, renewed below.
                messages = (await queue.ReceiveMessagesAsync(settings.BatchSize, Lease, stop)).Value;
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested) { break; }
            catch (Azure.RequestFailedException e)
            {
                log.LogWarning(e, "Queue {Queue}: receive failed", queue.Name);
                messages = [];
            }
            if (messages.Length == 0)
            {
                await Task.Delay(delay, stop).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
                delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, settings.MaxPollingInterval.Ticks));
                continue;
            }
            delay = TimeSpan.FromMilliseconds(100);
            foreach (var message in messages)
            {
                Interlocked.Increment(ref _inFlight);
                running.Add(Task.Run(async () =>
                {
                    try { await ProcessAsync(message, stop); }
                    finally { Interlocked.Decrement(ref _inFlight); }
                }, CancellationToken.None));
            }
        }
        await Task.WhenAll(running).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
    }

    private static readonly TimeSpan Lease = TimeSpan.FromMinutes(1);

    private async Task ProcessAsync(QueueMessage message, CancellationToken stop)
    {
        // As the host's queue processor: a message already tried more than maxDequeueCount times (its function ran past
        // the lease, or an instance died with it) goes to the poison queue without another try.
        if (message.DequeueCount > settings.MaxDequeueCount)
        {
            log.LogError("Function {Function}: message {Id} was dequeued {Count} times, more than {Max}, and goes to {Poison} untried",
                invoker.Function.Name, message.MessageId, message.DequeueCount, settings.MaxDequeueCount, poison.Name);
            await SettleAsync(() => MoveToPoisonAsync(message, message.PopReceipt));
            return;
        }
        var receipt = message.PopReceipt;
        using var renewing = CancellationTokenSource.CreateLinkedTokenSource(stop);
        var renewal = RenewAsync(message, r => receipt = r, renewing.Token);
        Exception? failure = null;
        try
        {
            await invoker.InvokeAsync(Invocation(message), null, stop);
        }
        catch (Exception e) when (!stop.IsCancellationRequested) { failure = e; }
        finally
        {
            await renewing.CancelAsync();
            await renewal.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }
        if (stop.IsCancellationRequested) return; // the lease runs out and the message comes back
        await SettleAsync(async () =>
        {
            if (failure is null)
                await queue.DeleteMessageAsync(message.MessageId, receipt, CancellationToken.None);
            else if (message.DequeueCount >= settings.MaxDequeueCount)
            {
                log.LogError(failure, "Function {Function}: message {Id} failed on try {Try} of {Max} and goes to {Poison}: {Reason}",
                    invoker.Function.Name, message.MessageId, message.DequeueCount, settings.MaxDequeueCount, poison.Name, failure.Message);
                await MoveToPoisonAsync(message, receipt);
            }
            else
            {
                log.LogWarning(failure, "Function {Function}: message {Id} failed on try {Try} of {Max}: {Reason}",
                    invoker.Function.Name, message.MessageId, message.DequeueCount, settings.MaxDequeueCount, failure.Message);
                await queue.UpdateMessageAsync(message.MessageId, receipt, visibilityTimeout: settings.VisibilityTimeout, cancellationToken: CancellationToken.None);
            }
        });
    }

    /// <summary>The original text to <c>{queue}-poison</c>, then gone from its own queue, as the host moves it.</summary>
    private async Task MoveToPoisonAsync(QueueMessage message, string receipt)
    {
        await poison.CreateIfNotExistsAsync(cancellationToken: CancellationToken.None);
        await poison.SendMessageAsync(message.Body, cancellationToken: CancellationToken.None);
        await queue.DeleteMessageAsync(message.MessageId, receipt, CancellationToken.None);
    }

    private async Task SettleAsync(Func<Task> settle)
    {
        try
        {
            await settle();
        }
        catch (Azure.RequestFailedException e) when (e.Status is 404 or 400)
        {
            // The lease was lost (the function ran past it): another receive has the message now.
            log.LogWarning("Queue {Queue}: a message was no longer ours to settle ({Status})", queue.Name, e.Status);
        }
    }

    /// <summary>Keeps the message invisible while its function runs, as the host does at half its lease.</summary>
    private async Task RenewAsync(QueueMessage message, Action<string> receipt, CancellationToken ct)
    {
        var current = message.PopReceipt;
        while (!ct.IsCancellationRequested)
        {
            await Task.Delay(Lease / 2, ct);
            var updated = await queue.UpdateMessageAsync(message.MessageId, current, visibilityTimeout: Lease, cancellationToken: ct);
            current = updated.Value.PopReceipt;
            receipt(current);
        }
    }

    private Invocation Invocation(QueueMessage message)
    {
        var text = message.Body.ToString();
        var data = new Dictionary<string, object?>(StringComparer.OrdinalIgnoreCase)
        {
            ["QueueTrigger"] = text, ["Id"] = message.MessageId, ["DequeueCount"] = message.DequeueCount, ["PopReceipt"] = message.PopReceipt,
            ["InsertionTime"] = message.InsertedOn, ["ExpirationTime"] = message.ExpiresOn, ["NextVisibleTime"] = message.NextVisibleOn,
        };
        return new Invocation(type => Bind(message, text, type), data, RetryCount: (int)message.DequeueCount - 1, MaxRetryCount: settings.MaxDequeueCount - 1);
    }

    /// <summary>The trigger parameter: the text, its bytes, the message itself, or a JSON object (the worker's default serializer).</summary>
    private static object? Bind(QueueMessage message, string text, Type type)
    {
        if (type == typeof(string)) return text;
        if (type == typeof(QueueMessage)) return message;
        if (type == typeof(BinaryData)) return message.Body;
        if (type == typeof(byte[])) return message.Body.ToArray();
        if (type == typeof(ReadOnlyMemory<byte>)) return message.Body.ToMemory();
        return JsonSerializer.Deserialize(text, type, Json);
    }

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);
}

/// <summary>App settings as the host reads them for bindings.</summary>
internal static class Settings
{
    /// <summary><c>%Name%</c> is the app setting <c>Name</c>, as in the host's binding expressions.</summary>
    public static string Resolve(string text, IConfiguration config) =>
        System.Text.RegularExpressions.Regex.Replace(text, "%([^%]+)%", m => config[m.Groups[1].Value]
            ?? throw new InvalidOperationException($"app setting '{m.Groups[1].Value}' (in '{text}') is not set"));

    /// <summary>
    /// A binding's connection, as the host finds it: the setting named by <paramref name="connection"/> (default
    /// <c>AzureWebJobsStorage</c>) holds a connection string; or, identity-based, <c>{name}__queueServiceUri</c> (or
    /// <c>{name}__serviceUri</c>) with the default Azure credential.
    /// </summary>
    public static QueueServiceClient QueueService(string? connection, IConfiguration config, QueueTriggerSettings settings)
    {
        var name = string.IsNullOrEmpty(connection) ? "AzureWebJobsStorage" : connection;
        var options = new QueueClientOptions(QueueClientOptions.ServiceVersion.V2026_06_06)
        {
            MessageEncoding = settings.MessageEncoding.Equals("none", StringComparison.OrdinalIgnoreCase) ? QueueMessageEncoding.None : QueueMessageEncoding.Base64,
        };
        var connectionString = config[name] ?? config[$"ConnectionStrings:{name}"];
        if (!string.IsNullOrEmpty(connectionString)) return new QueueServiceClient(connectionString, options);
        var uri = config[$"{name}:queueServiceUri"] ?? config[$"{name}:serviceUri"];
        if (!string.IsNullOrEmpty(uri)) return new QueueServiceClient(new Uri(uri), new Azure.Identity.DefaultAzureCredential(), options);
        throw new InvalidOperationException($"connection '{name}' is not configured: set {name} (a connection string) or {name}__queueServiceUri");
    }
}
