using Microsoft.Azure.Functions.Worker;
using Microsoft.DurableTask;
using Microsoft.Extensions.Logging;

namespace Siyu.LocalHost.Durable;

/// <summary>
/// An orchestrator function as the SDK's shims run orchestrators: its input type is that of its first parameter that
/// is neither a binding, a <see cref="FunctionContext"/> nor a token (else <c>object</c>), as the Durable extension
/// decides; its result is the orchestration's output.
/// </summary>
internal sealed class FunctionOrchestrator(FunctionInvoker invoker, DataConverter converter, ILoggerFactory loggers) : ITaskOrchestrator
{
    private readonly System.Reflection.ParameterInfo? _input = invoker.Function.Method.GetParameters().FirstOrDefault(p =>
        p.ParameterType != typeof(FunctionContext) && p.ParameterType != typeof(CancellationToken)
        && invoker.Function.Bindings.All(b => b.Name != p.Name));

    public Type InputType => _input?.ParameterType ?? typeof(object);
    public Type OutputType => typeof(object);

    public async Task<object?> RunAsync(TaskOrchestrationContext context, object? input)
    {
        var wrapped = new FunctionOrchestrationContext(context, converter, loggers);
        var data = new Dictionary<string, object?> { ["instanceId"] = context.InstanceId };
        if (_input is not null) data[_input.Name!] = input;
        object? output = null;
        // No cancellation: an orchestrator's episode ends when it awaits what has not happened yet, never by a token.
        await invoker.InvokeAsync(new Invocation(type => type == typeof(TaskOrchestrationContext) ? wrapped
                : throw new NotSupportedException($"{invoker.Function.Name}: an orchestration trigger binds TaskOrchestrationContext, not {type.Name}"), data),
            null, CancellationToken.None, result => { output = result; return Task.CompletedTask; });
        return output;
    }
}

/// <summary>An activity function: its input is the trigger parameter's type, its output what it returns.</summary>
internal sealed class FunctionActivity(FunctionInvoker invoker, CancellationToken stopping) : ITaskActivity
{
    public Type InputType { get; } = invoker.Function.Method.GetParameters().Single(p => p.Name == invoker.Function.Trigger.Name).ParameterType;

    public Type OutputType { get; } = Unwrapped(invoker.Function.Method.ReturnType);

    public async Task<object?> RunAsync(TaskActivityContext context, object? input)
    {
        object? output = null;
        var data = new Dictionary<string, object?> { ["instanceId"] = context.InstanceId };
        await invoker.InvokeAsync(new Invocation(type => type == typeof(TaskActivityContext) ? context : input, data),
            null, stopping, result => { output = result; return Task.CompletedTask; });
        return output;
    }

    private static Type Unwrapped(Type t) =>
        t == typeof(Task) || t == typeof(ValueTask) || t == typeof(void) ? typeof(object)
        : t.IsGenericType && (t.GetGenericTypeDefinition() == typeof(Task<>) || t.GetGenericTypeDefinition() == typeof(ValueTask<>)) ? t.GetGenericArguments()[0]
        : t;
}
