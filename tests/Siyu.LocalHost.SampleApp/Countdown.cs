using Microsoft.Azure.Functions.Worker;
using Microsoft.DurableTask;
using Microsoft.Extensions.DependencyInjection;

namespace Siyu.LocalHost.SampleApp;

/// <summary>A class-based orchestrator: counts down, one activity per number.</summary>
public sealed class Countdown : TaskOrchestrator<int, string>
{
    public override async Task<string> RunAsync(TaskOrchestrationContext context, int from)
    {
        var said = new List<string>();
        for (var n = from; n > 0; n--) said.Add(await context.CallActivityAsync<string>("SayNumber", n));
        return string.Join(",", said);
    }
}

/// <summary>A class-based activity.</summary>
public sealed class SayNumberActivity : TaskActivity<int, string>
{
    public override Task<string> RunAsync(TaskActivityContext context, int input) => Task.FromResult($"{input}@{context.InstanceId[..4]}");
}

/// <summary>
/// The functions that run the classes above, shaped as Microsoft.DurableTask's source generator writes them for
/// <c>[DurableTask]</c> classes (that generator is not among the packages served here).
/// </summary>
public static class CountdownFunctions
{
    [Function(nameof(Countdown))]
    public static Task<string> RunCountdown([OrchestrationTrigger] TaskOrchestrationContext context) =>
        new Countdown().RunAsync(context, context.GetInput<int>());

    // Named apart from its class: the Durable analyzers key class-based activities by class name too.
    [Function("SayNumber")]
    public static Task<string> RunSayNumber([ActivityTrigger] int input, string instanceId, FunctionContext context) =>
        ActivatorUtilities.GetServiceOrCreateInstance<SayNumberActivity>(context.InstanceServices).RunAsync(new ActivityContext("SayNumber", instanceId), input);

    private sealed class ActivityContext(TaskName name, string instanceId) : TaskActivityContext
    {
        public override TaskName Name => name;
        public override string InstanceId => instanceId;
    }
}
