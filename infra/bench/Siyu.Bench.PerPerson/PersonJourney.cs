using Azure.Data.Tables;
using Microsoft.Azure.Functions.Worker;
using Microsoft.DurableTask;

namespace Siyu.Bench.PerPerson;

/// <summary>A person's run, by reference: the delay and the wait's timeout in seconds.</summary>
public sealed record PersonInput(int DelaySeconds, int TimeoutSeconds);

/// <summary>
/// One orchestration per person, the shape of the journey the bench publishes: delay → wait for <see cref="PaidEvent"/>
/// with a timeout → send. Written as functions/ writes orchestrations (function-based, durable timers, the wait as a
/// race of the event and a timer). Its output is the branch the wait left by.
/// </summary>
public static class PersonJourney
{
    public const string Name = "PersonJourney";
    public const string PaidEvent = "paid";
    public const string SendsTable = "perpersonsends";
    /// <summary>The custom status once the wait has begun: the bench raises a person's event only then, as the journey counts only events during the wait.</summary>
    public const string Waiting = "waiting";

    [Function(Name)]
    public static async Task<string> Run([OrchestrationTrigger] TaskOrchestrationContext context)
    {
        var input = context.GetInput<PersonInput>()!;
        await context.CreateTimer(TimeSpan.FromSeconds(input.DelaySeconds), CancellationToken.None);
        context.SetCustomStatus(Waiting);
        using var timerCancel = new CancellationTokenSource();
        var paid = context.WaitForExternalEvent<bool>(PaidEvent);
        var timeout = context.CreateTimer(context.CurrentUtcDateTime.AddSeconds(input.TimeoutSeconds), timerCancel.Token);
        var branch = await Task.WhenAny(paid, timeout) == paid ? "arrived" : "timedOut";
        if (branch == "arrived") timerCancel.Cancel();
        await context.CallActivityAsync(nameof(PersonSends.PersonSend), new SendRecord(context.InstanceId, branch));
        context.SetCustomStatus(null);
        return branch;
    }
}

public sealed record SendRecord(string Person, string Branch);

/// <summary>The send: one Table upsert, the record a journey send writes (its delivery request), so both sides do comparable work.</summary>
public sealed class PersonSends(TableClient sends)
{
    [Function(nameof(PersonSend))]
    public async Task PersonSend([ActivityTrigger] SendRecord send, CancellationToken ct)
    {
        await sends.UpsertEntityAsync(new TableEntity("send", send.Person) { ["Branch"] = send.Branch, ["Channel"] = "sms" }, cancellationToken: ct);
    }
}
