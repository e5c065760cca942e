using System.Globalization;
using System.Reflection;
using Microsoft.AspNetCore.Http;
using Microsoft.Azure.Functions.Worker;
using Microsoft.Azure.Functions.Worker.Invocation;
using Microsoft.Extensions.DependencyInjection;

namespace Siyu.LocalHost;

/// <summary>What one invocation brings: the trigger's value (converted to the trigger parameter's type by the trigger kind),
/// the binding data (route values, queue message metadata), and what the worker would put in the context's items.</summary>
internal sealed record Invocation(
    Func<Type, object?> TriggerValue, IReadOnlyDictionary<string, object?> BindingData, IDictionary<object, object>? Items = null,
    int RetryCount = 0, int MaxRetryCount = 0);

/// <summary>
/// Calls a function method the way the worker does: a new DI scope per invocation, the class made by
/// <see cref="ActivatorUtilities"/> from it (constructor injection), and each parameter bound from the trigger, the
/// binding data, the <see cref="FunctionContext"/> or the cancellation token. Every parameter is checked when the host
/// starts, so a function it cannot bind stops the start rather than failing its first call.
/// </summary>
internal sealed class FunctionInvoker
{
    private readonly FunctionInfo _function;
    private readonly IServiceProvider _services;
    private readonly Func<Invocation, LocalFunctionContext, HttpContext?, object?>[] _binders;

    private readonly IReadOnlyDictionary<string, Func<object>> _inputs;

    /// <param name="inputs">Input bindings the host provides, by binding type (<c>durableClient</c>).</param>
    public FunctionInvoker(FunctionInfo function, IServiceProvider services, IReadOnlyDictionary<string, Func<object>> inputs)
    {
        _function = function;
        _services = services;
        _inputs = inputs;
        var unsupported = function.Bindings.FirstOrDefault(b => !b.IsTrigger && !(b.Type == "http" && b.Name == "$return") && !inputs.ContainsKey(b.Type));
        if (unsupported is not null)
            throw new NotSupportedException($"function {function.Name}: the local host does not bind a {unsupported.Type} binding ({unsupported.Name})");
        _binders = function.Method.GetParameters().Select(Binder).ToArray();
        // Orchestrator functions do not go through it: under the worker the Durable extension's middleware replays them
        // from the host's encoded history; here DurableTask.Core runs them through the shims (DurableTriggers).
        _pipeline = function.Trigger.Type.Equals("orchestrationTrigger", StringComparison.OrdinalIgnoreCase) ? null
            : services.GetService<Microsoft.Azure.Functions.Worker.Middleware.FunctionExecutionDelegate>();
        _aspNetCore = WorkerPipeline.HasAspNetCoreIntegration(services);
    }

    private readonly Microsoft.Azure.Functions.Worker.Middleware.FunctionExecutionDelegate? _pipeline;
    private readonly bool _aspNetCore;

    public FunctionInfo Function => _function;

    /// <summary>Whether the app's ASP.NET Core integration writes this function's HTTP results (its middleware runs in the pipeline).</summary>
    public bool HttpResultsWrittenByApp => _pipeline is not null && _aspNetCore;

    /// <summary>
    /// Runs the function through the app's worker middleware, as the worker does; <paramref name="complete"/> then gets its
    /// result (as middleware left it) while the invocation's scope lives (an HTTP result is written with the function's
    /// own services).
    /// </summary>
    public async Task InvokeAsync(Invocation invocation, HttpContext? http, CancellationToken ct, Func<object?, Task>? complete = null)
    {
        await using var scope = _services.CreateAsyncScope();
        var context = new LocalFunctionContext(_function, scope.ServiceProvider, invocation.BindingData, invocation.RetryCount, invocation.MaxRetryCount, ct);
        if (invocation.Items is not null) foreach (var (k, v) in invocation.Items) context.Items[k] = v;
        // As the ASP.NET Core integration does: the request's services are the invocation's.
        if (http is not null) http.RequestServices = scope.ServiceProvider;
        var executor = new Executor(this, invocation, http);
        if (_pipeline is null)
        {
            if (http is not null) context.Items[HttpContextKey] = http;
            executor.Result = new ResultBox();
            await executor.ExecuteAsync(context);
        }
        else
        {
            executor.Result = WorkerPipeline.Prepare(context, executor, http);
            // The integration's middleware puts the HttpContext in the items itself.
            if (http is not null && !_aspNetCore) context.Items[HttpContextKey] = http;
            await _pipeline(context);
        }
        if (complete is not null) await complete(executor.Result.Result);
    }

    /// <summary>The end of the pipeline: binds the parameters and calls the method (the worker's execution middleware calls it).</summary>
    private sealed class Executor(FunctionInvoker invoker, Invocation invocation, HttpContext? http) : IFunctionExecutor
    {
        public WorkerPipeline.InvocationResultHolder Result { get; set; } = null!;

        public async ValueTask ExecuteAsync(FunctionContext context)
        {
            var local = (LocalFunctionContext)context;
            var method = invoker._function.Method;
            var target = method.IsStatic ? null : ActivatorUtilities.CreateInstance(context.InstanceServices, method.DeclaringType!);
            try
            {
                var arguments = invoker._binders.Select(b => b(invocation, local, http)).ToArray();
                object? result;
                try { result = method.Invoke(target, arguments); }
                catch (TargetInvocationException e) when (e.InnerException is not null)
                {
                    System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(e.InnerException).Throw();
                    throw;
                }
                Result.Result = await Awaited(result);
            }
            finally
            {
                switch (target)
                {
                    case IAsyncDisposable a: await a.DisposeAsync(); break;
                    case IDisposable d: d.Dispose(); break;
                }
            }
        }
    }

    private sealed class ResultBox : WorkerPipeline.InvocationResultHolder
    {
        public object? Result { get; set; }
    }

    /// <summary>The key under which the ASP.NET Core integration keeps the request's HttpContext (FunctionContext.GetHttpContext()).</summary>
    private const string HttpContextKey = "HttpRequestContext";

    private static async Task<object?> Awaited(object? result)
    {
        switch (result)
        {
            case null: return null;
            case Task task:
                await task;
                var type = task.GetType();
                return type.IsGenericType && type.GetProperty("Result") is { } p && p.PropertyType.Name != "VoidTaskResult" ? p.GetValue(task) : null;
            case ValueTask vt:
                await vt;
                return null;
            default:
                var t = result.GetType();
                if (t.IsGenericType && t.GetGenericTypeDefinition() == typeof(ValueTask<>))
                    return await (Task<object?>)typeof(FunctionInvoker).GetMethod(nameof(AsObject), BindingFlags.NonPublic | BindingFlags.Static)!
                        .MakeGenericMethod(t.GetGenericArguments()[0]).Invoke(null, [result])!;
                return result;
        }
    }

    private static async Task<object?> AsObject<T>(ValueTask<T> task) => await task;

    private Func<Invocation, LocalFunctionContext, HttpContext?, object?> Binder(ParameterInfo p)
    {
        var type = p.ParameterType;
        if (type == typeof(FunctionContext)) return (_, c, _) => c;
        if (type == typeof(CancellationToken)) return (_, c, _) => c.CancellationToken;
        // The integration's HttpRequestData over the request (its middleware sets the feature before the function runs).
        if (type == typeof(Microsoft.Azure.Functions.Worker.Http.HttpRequestData))
            return (_, c, _) => c.GetHttpRequestDataAsync().AsTask().GetAwaiter().GetResult()
                                ?? throw new InvalidOperationException($"{_function.Name}: HttpRequestData needs the ASP.NET Core integration (ConfigureFunctionsWebApplication)");
        if (p.Name == _function.Trigger.Name) return (i, _, _) => i.TriggerValue(type);
        if (type == typeof(HttpRequest)) return (_, _, h) => h?.Request ?? throw new InvalidOperationException($"{_function.Name}: no HTTP request");
        if (type == typeof(HttpContext)) return (_, _, h) => h ?? throw new InvalidOperationException($"{_function.Name}: no HTTP request");
        if (_function.Bindings.FirstOrDefault(b => b.Name == p.Name && !b.IsTrigger) is { } input && _inputs.TryGetValue(input.Type, out var provide))
            return (_, _, _) => provide();
        var name = p.Name!;
        var hasDefault = p.HasDefaultValue;
        var fallback = hasDefault ? p.DefaultValue : null;
        // Anything else comes from the binding data by name (route values; a queue message's DequeueCount, Id…), as the
        // worker's converters bind it.
        return (i, _, _) =>
        {
            var value = i.BindingData.FirstOrDefault(kv => string.Equals(kv.Key, name, StringComparison.OrdinalIgnoreCase)).Value;
            if (value is null)
                return hasDefault ? fallback : type.IsValueType && Nullable.GetUnderlyingType(type) is null
                    ? throw new InvalidOperationException($"{_function.Name}: nothing to bind to parameter '{name}'")
                    : null;
            return Convert(value, type);
        };
    }

    internal static object? Convert(object value, Type type)
    {
        var target = Nullable.GetUnderlyingType(type) ?? type;
        if (target.IsInstanceOfType(value)) return value;
        var text = System.Convert.ToString(value, CultureInfo.InvariantCulture)!;
        if (target == typeof(string)) return text;
        if (target == typeof(Guid)) return Guid.Parse(text);
        if (target == typeof(DateTimeOffset)) return DateTimeOffset.Parse(text, CultureInfo.InvariantCulture);
        if (target.IsEnum) return Enum.Parse(target, text, ignoreCase: true);
        return System.Convert.ChangeType(text, target, CultureInfo.InvariantCulture);
    }
}
