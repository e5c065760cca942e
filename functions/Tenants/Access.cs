using Siyu.Core.Tenants;

namespace Siyu.Functions.Tenants;

/// <summary>
/// Who may call an endpoint, as endpoint metadata. An endpoint without it is refused to everyone:
/// access is opened explicitly, never by omission.
/// </summary>
public sealed record Access(IReadOnlySet<Role> Roles, bool Operator, bool Public)
{
    public static Access For(params Role[] roles) => new(roles.ToHashSet(), false, false);
    public static readonly Access OperatorOnly = new(new HashSet<Role>(), true, false);
    /// <summary>No API key: health, the OpenAPI document, and WeChat pushes (which carry WeChat's signature instead).</summary>
    public static readonly Access Anonymous = new(new HashSet<Role>(), false, true);
}

/// <summary>The authenticated caller of a tenant endpoint.</summary>
public sealed record Caller(string TenantId, string KeyId, Role Role);

public static class AccessExtensions
{
    public static TBuilder Allow<TBuilder>(this TBuilder builder, params Role[] roles) where TBuilder : IEndpointConventionBuilder =>
        builder.WithMetadata(Access.For(roles));

    public static TBuilder AllowOperator<TBuilder>(this TBuilder builder) where TBuilder : IEndpointConventionBuilder =>
        builder.WithMetadata(Access.OperatorOnly);

    public static TBuilder AllowPublic<TBuilder>(this TBuilder builder) where TBuilder : IEndpointConventionBuilder =>
        builder.WithMetadata(Access.Anonymous);

    public static Caller Caller(this HttpContext context) =>
        context.Items[typeof(Caller)] as Caller ?? throw new InvalidOperationException("endpoint has no tenant caller");
}
