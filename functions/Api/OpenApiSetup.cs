using System.Text.Json.Nodes;
using Microsoft.AspNetCore.OpenApi;
using Microsoft.OpenApi;
using Siyu.Core.Tenants;
using Siyu.Functions.Tenants;

namespace Siyu.Functions.Api;

/// <summary>
/// The OpenAPI document (<c>/api/openapi.json</c>): the API key as a bearer (or X-Api-Key header) security scheme, and on
/// every operation who may call it, from the same <see cref="Access"/> metadata the middleware enforces: the security
/// it needs and <c>x-siyu-role</c> (<c>["marketer", "admin"]</c>, <c>["operator"]</c>, or <c>["public"]</c>).
/// </summary>
public static class OpenApiSetup
{
    public const string BearerScheme = "apiKey";
    public const string HeaderScheme = "apiKeyHeader";
    public const string RoleExtension = "x-siyu-role";

    public static IServiceCollection AddSiyuOpenApi(this IServiceCollection services) => services.AddOpenApi("v1", o =>
    {
        o.AddDocumentTransformer((doc, _, _) =>
        {
            doc.Info.Title = "Siyu private-domain marketing API";
            doc.Info.Description = "Events in, profiles out; consent, preferences and personal-data rights. " +
                                   "Authenticate with 'Authorization: Bearer <API key>' (or 'X-Api-Key: <API key>'). Each operation's " +
                                   $"'{RoleExtension}' lists the key roles it accepts: ingest, marketer, admin, the operator's bootstrap key, or public.";
            doc.Components ??= new OpenApiComponents();
            doc.Components.SecuritySchemes ??= new Dictionary<string, IOpenApiSecurityScheme>();
            doc.Components.SecuritySchemes[BearerScheme] = new OpenApiSecurityScheme
            {
                Type = SecuritySchemeType.Http,
                Scheme = "bearer",
                BearerFormat = "sk_<tenant>_<key id>_<secret>",
                Description = "A tenant API key (its role decides what it may call), or the operator's bootstrap key for /api/operator.",
            };
            doc.Components.SecuritySchemes[HeaderScheme] = new OpenApiSecurityScheme
            {
                Type = SecuritySchemeType.ApiKey,
                In = ParameterLocation.Header,
                Name = "X-Api-Key",
                Description = "The same key in a header of its own.",
            };
            return Task.CompletedTask;
        });
        o.AddOperationTransformer((operation, context, _) =>
        {
            var access = context.Description.ActionDescriptor.EndpointMetadata.OfType<Access>().LastOrDefault();
            var roles = RolesOf(access);
            operation.Extensions ??= new Dictionary<string, IOpenApiExtension>();
            operation.Extensions[RoleExtension] = new JsonNodeExtension(new JsonArray(roles.Select(r => (JsonNode)JsonValue.Create(r)!).ToArray()));
            if (access is { Public: false })
            {
                operation.Security =
                [
                    new OpenApiSecurityRequirement { [new OpenApiSecuritySchemeReference(BearerScheme, context.Document)] = [] },
                    new OpenApiSecurityRequirement { [new OpenApiSecuritySchemeReference(HeaderScheme, context.Document)] = [] },
                ];
                var who = access.Operator ? "the operator's bootstrap key" : $"an API key with role {string.Join(" or ", roles)}";
                operation.Description = string.IsNullOrEmpty(operation.Description) ? $"Needs {who}." : $"{operation.Description} Needs {who}.";
            }
            return Task.CompletedTask;
        });
    });

    /// <summary>Who may call an endpoint, as its <c>x-siyu-role</c> lists it; none for an endpoint without an access policy.</summary>
    public static IReadOnlyList<string> RolesOf(Access? access) => access switch
    {
        null => [],
        { Public: true } => ["public"],
        { Operator: true } => ["operator"],
        _ => access.Roles.Order().Select(r => r.Name()).ToList(),
    };
}
