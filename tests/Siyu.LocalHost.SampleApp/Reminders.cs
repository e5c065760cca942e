using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Azure.Functions.Worker;
using Microsoft.DurableTask;
using Microsoft.DurableTask.Client;

namespace Siyu.LocalHost.SampleApp;

public sealed record Reminder(string Person, int WaitSeconds);

/// <summary>A reminder: a short delay, then an answer raced against a timeout, then one activity either way.</summary>
public sealed class ReminderFunctions
{
    [Function("StartReminder")]
    public async Task<IActionResult> Start(
        [HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "reminders/{person}")] HttpRequest request, string person,
        [DurableClient] DurableTaskClient client, CancellationToken ct)
    {
        var wait = int.Parse(request.Query["wait"].ToString(), System.Globalization.CultureInfo.InvariantCulture);
        var id = await client.ScheduleNewOrchestrationInstanceAsync("Reminder", new Reminder(person, wait), ct);
        return new AcceptedResult($"/api/reminders/{id}", new { id });
    }

    [Function("AnswerReminder")]
    public async Task<IResult> Answer(
        [HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "reminders/{id}/answer")] HttpRequest request, string id,
        [DurableClient] DurableTaskClient client, CancellationToken ct)
    {
        using var reader = new StreamReader(request.Body);
        await client.RaiseEventAsync(id, "answered", await reader.ReadToEndAsync(ct), ct);
        return Results.Accepted();
    }

    [Function("Reminder")]
    public async Task<string> Run([OrchestrationTrigger] TaskOrchestrationContext context)
    {
        var reminder = context.GetInput<Reminder>()!;
        await context.CreateTimer(TimeSpan.FromSeconds(1), CancellationToken.None);
        using var timeoutCancel = new CancellationTokenSource();
        var answer = context.WaitForExternalEvent<string>("answered");
        var timeout = context.CreateTimer(context.CurrentUtcDateTime.AddSeconds(reminder.WaitSeconds), timeoutCancel.Token);
        if (await Task.WhenAny(answer, timeout) == answer)
        {
            timeoutCancel.Cancel();
            return await context.CallActivityAsync<string>("Thank", $"{reminder.Person}:{answer.Result}");
        }
        return await context.CallActivityAsync<string>("Remind", reminder.Person);
    }

    [Function("Thank")]
    public static string Thank([ActivityTrigger] string answer, FunctionContext context) => $"thanked {answer} in {context.FunctionDefinition.Name}";

    [Function("Remind")]
    public static string Remind([ActivityTrigger] string person) => $"reminded {person}";
}
