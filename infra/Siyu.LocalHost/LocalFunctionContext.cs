using System.Collections;
using System.Collections.Immutable;
using System.Diagnostics;
using Microsoft.Azure.Functions.Worker;

namespace Siyu.LocalHost;

/// <summary>The <see cref="FunctionContext"/> of one invocation, filled the way the worker fills it from the host's request.</summary>
internal sealed class LocalFunctionContext(
    FunctionInfo function, IServiceProvider services, IReadOnlyDictionary<string, object?> bindingData, int retryCount, int maxRetryCount,
    CancellationToken cancellation) : FunctionContext
{
    public override string InvocationId { get; } = Guid.NewGuid().ToString();
    public override string FunctionId => function.Name;
    public override TraceContext TraceContext { get; } = new Trace(Activity.Current);
    public override BindingContext BindingContext { get; } = new Bindings(bindingData);
    public override RetryContext RetryContext { get; } = new Retry(retryCount, maxRetryCount);
    public override IServiceProvider InstanceServices { get; set; } = services;
    public override FunctionDefinition FunctionDefinition { get; } = new Definition(function);
    public override IDictionary<object, object> Items { get; set; } = new Dictionary<object, object>();
    public override IInvocationFeatures Features { get; } = new FeatureSet();
    public override CancellationToken CancellationToken { get; } = cancellation;

    /// <summary>A feature whose type this library cannot name (internal to the worker).</summary>
    public void SetFeature(Type type, object feature) => ((FeatureSet)Features).Set(type, feature);

    private sealed class Trace(Activity? activity) : TraceContext
    {
        public override string TraceParent { get; } = activity?.Id ?? "";
        public override string TraceState { get; } = activity?.TraceStateString ?? "";
    }

    private sealed class Bindings(IReadOnlyDictionary<string, object?> data) : BindingContext
    {
        public override IReadOnlyDictionary<string, object?> BindingData => data;
    }

    private sealed class Retry(int count, int max) : RetryContext
    {
        public override int RetryCount => count;
        public override int MaxRetryCount => max;
    }

    private sealed class Definition(FunctionInfo f) : FunctionDefinition
    {
        public override ImmutableArray<FunctionParameter> Parameters { get; } =
            [.. f.Method.GetParameters().Select(p => new FunctionParameter(p.Name!, p.ParameterType, p.HasDefaultValue, p.HasDefaultValue ? p.DefaultValue : null))];
        public override string PathToAssembly => f.Method.DeclaringType!.Assembly.Location;
        public override string EntryPoint => f.EntryPoint;
        public override string Id => f.Name;
        public override string Name => f.Name;
        public override IImmutableDictionary<string, BindingMetadata> InputBindings { get; } =
            f.Bindings.Where(b => b.Direction.Equals("In", StringComparison.OrdinalIgnoreCase)).ToImmutableDictionary(b => b.Name, b => (BindingMetadata)new Binding(b));
        public override IImmutableDictionary<string, BindingMetadata> OutputBindings { get; } =
            f.Bindings.Where(b => b.Direction.Equals("Out", StringComparison.OrdinalIgnoreCase)).ToImmutableDictionary(b => b.Name, b => (BindingMetadata)new Binding(b));
    }

    private sealed class Binding(BindingInfo b) : BindingMetadata
    {
        public override string Name => b.Name;
        public override string Type => b.Type;
        public override BindingDirection Direction => b.Direction.Equals("Out", StringComparison.OrdinalIgnoreCase) ? BindingDirection.Out : BindingDirection.In;
    }

    private sealed class FeatureSet : IInvocationFeatures
    {
        private readonly Dictionary<Type, object> _features = [];
        public void Set<T>(T instance) { if (instance is null) _features.Remove(typeof(T)); else _features[typeof(T)] = instance; }
        public void Set(Type type, object instance) => _features[type] = instance;
        public T? Get<T>() => _features.TryGetValue(typeof(T), out var f) ? (T)f : default;
        public IEnumerator<KeyValuePair<Type, object>> GetEnumerator() => _features.GetEnumerator();
        IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
    }
}
