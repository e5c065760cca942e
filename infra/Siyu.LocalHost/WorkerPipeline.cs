using System.Reflection;
using Microsoft.AspNetCore.Http;
using Microsoft.Azure.Functions.Worker;
using Microsoft.Azure.Functions.Worker.Invocation;
using Microsoft.Azure.Functions.Worker.Middleware;
using Microsoft.Extensions.DependencyInjection;

namespace Siyu.LocalHost;

/// <summary>
/// The app's own worker middleware pipeline: the <see cref="FunctionExecutionDelegate"/> the worker builds from every
/// <c>UseMiddleware</c> (the app's, the ASP.NET Core integration's, the Durable extension's), ending in the worker's
/// execution middleware, which calls the <see cref="IFunctionExecutor"/> it finds in the invocation's features: this
/// host puts its own there, so middleware runs as under the worker and the function is bound and called here.
/// <para>
/// Two pieces the pipeline reads are internal to the worker and are supplied through <see cref="DispatchProxy"/>: the
/// bindings feature (<c>GetInvocationResult()</c>, output bindings; the result a function returns is kept there) and
/// the ASP.NET Core integration's HTTP coordinator (under the host it pairs the worker's proxied request with the
/// invocation; here the request is already in hand). Both are pinned to the worker versions in Directory.Packages.props.
/// </para>
/// </summary>
internal static class WorkerPipeline
{
    private static readonly Type BindingsFeatureType = typeof(FunctionContext).Assembly
        .GetType("Microsoft.Azure.Functions.Worker.Context.Features.IFunctionBindingsFeature", throwOnError: true)!;

    private static readonly object NoOutputBindings = typeof(FunctionContext).Assembly
        .GetType("Microsoft.Azure.Functions.Worker.OutputBindings.EmptyOutputBindingsInfo", throwOnError: true)!
        .GetProperty("Instance", BindingFlags.Public | BindingFlags.Static)!.GetValue(null)!;

    private static readonly Type CoordinatorType = Type.GetType(
        "Microsoft.Azure.Functions.Worker.Extensions.Http.AspNetCore.IHttpCoordinator, Microsoft.Azure.Functions.Worker.Extensions.Http.AspNetCore", throwOnError: true)!;

    /// <summary>At the app's build: the integration's coordinator is swapped for one that hands over the request in hand.</summary>
    public static void Prepare(IServiceCollection services)
    {
        var coordinator = services.LastOrDefault(d => d.ServiceType == CoordinatorType);
        if (coordinator is null) return;
        services.Remove(coordinator);
        services.AddSingleton(CoordinatorType, DispatchProxy.Create(CoordinatorType, typeof(RequestInHand)));
    }

    /// <summary>Whether the app uses the ASP.NET Core integration (<c>ConfigureFunctionsWebApplication</c>), whose middleware writes HTTP results.</summary>
    public static bool HasAspNetCoreIntegration(IServiceProvider services) => services.GetService(CoordinatorType) is not null;

    /// <summary>Readies a context for the pipeline: the bindings feature, this host's executor and, for HTTP, the request.</summary>
    public static InvocationResultHolder Prepare(LocalFunctionContext context, IFunctionExecutor executor, HttpContext? http)
    {
        var bindings = (BindingsFeature)DispatchProxy.Create(BindingsFeatureType, typeof(BindingsFeature));
        bindings.TriggerMetadata = context.BindingContext.BindingData;
        context.SetFeature(BindingsFeatureType, bindings);
        context.Features.Set(executor);
        if (http is not null) context.Features.Set(new HttpInHand(http));
        return bindings;
    }

    private sealed record HttpInHand(HttpContext Context);

    /// <summary>What the function returned, as the worker's bindings feature holds it (middleware may replace it).</summary>
    internal interface InvocationResultHolder
    {
        object? Result { get; set; }
    }

    /// <summary>The worker's internal <c>IFunctionBindingsFeature</c>, one per invocation.</summary>
    internal class BindingsFeature : DispatchProxy, InvocationResultHolder
    {
        private static readonly IReadOnlyDictionary<string, object?> NoInputs = new Dictionary<string, object?>();
        private readonly Dictionary<string, object?> _outputs = [];

        public IReadOnlyDictionary<string, object?> TriggerMetadata { get; set; } = NoInputs;
        public object? Result { get; set; }

        protected override object? Invoke(MethodInfo? method, object?[]? args)
        {
            switch (method!.Name)
            {
                case "get_TriggerMetadata": return TriggerMetadata;
                case "get_InputData": return NoInputs;
                case "get_OutputBindingData": return _outputs;
                case "get_OutputBindingsInfo": return NoOutputBindings;
                case "get_InvocationResult": return Result;
                case "set_InvocationResult": Result = args![0]; return null;
                default: throw new NotSupportedException($"the local host's bindings feature has no {method.Name}");
            }
        }
    }

    /// <summary>The integration's <c>IHttpCoordinator</c>: the function side gets the request this host is serving.</summary>
    internal class RequestInHand : DispatchProxy
    {
        protected override object? Invoke(MethodInfo? method, object?[]? args)
        {
            switch (method!.Name)
            {
                case "SetFunctionContextAsync":
                    var context = (FunctionContext)args![1]!;
                    return Task.FromResult(context.Features.Get<HttpInHand>()?.Context
                        ?? throw new InvalidOperationException($"{context.FunctionDefinition.Name}: no HTTP request for this invocation"));
                case "CompleteFunctionInvocation": return null;
                // The ASP.NET side of the pairing belongs to the worker's own web server, which does not run here.
                default: throw new NotSupportedException($"the local host's HTTP coordinator has no {method.Name}");
            }
        }
    }
}
