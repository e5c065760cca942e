using System.Text.Json;
using Siyu.Core.Consent;
using Siyu.Core.Privacy;
using Siyu.Core.Tenants;
using Siyu.Functions.Api;
using Siyu.Functions.Audit;
using Siyu.Functions.Tenants;
using Siyu.Storage.Privacy;

namespace Siyu.Functions.Privacy;

public sealed record AttributeDefinitionRequest(bool Sensitive, string? Purpose);

public sealed record AttributeDefinitionView(string Name, bool Sensitive, string? Purpose);

/// <summary>
/// Declaring attributes sensitive (PIPL art. 28): such an attribute is stored only while the person's consent for its
/// purpose is granted, never kept in event history, and shown only to admins.
/// </summary>
public static class DefinitionsEndpoints
{
    public static void MapDefinitions(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/api/attributes").WithTags("Consent");
        group.MapGet("/", async (HttpContext http, DefinitionStore definitions, CancellationToken ct) =>
                Results.Ok((await definitions.GetAsync(http.Caller().TenantId, ct)).Sensitive
                    .OrderBy(s => s.Name, StringComparer.Ordinal).Select(s => new AttributeDefinitionView(s.Name, true, s.Purpose)).ToList()))
            .Allow(Role.Marketer, Role.Admin)
            .WithName("ListSensitiveAttributes")
            .WithSummary("The attributes declared sensitive, with their purposes")
            .Produces<List<AttributeDefinitionView>>();

        group.MapPut("/{name}", PutAsync)
            .Allow(Role.Admin)
            .WithName("PutAttributeDefinition")
            .WithSummary("Declare an attribute sensitive ({\"sensitive\": true, \"purpose\": \"sensitive-health\"}) or ordinary ({\"sensitive\": false})")
            .Accepts<AttributeDefinitionRequest>("application/json")
            .Produces<AttributeDefinitionView>()
            .ProducesProblem(StatusCodes.Status400BadRequest);
    }

    private static async Task<IResult> PutAsync(string name, HttpContext http, DefinitionStore definitions, AuditLog audit, CancellationToken ct)
    {
        if (name.Length is 0 or > 100 || name.Any(char.IsControl))
            return Problems.BadRequest("invalid_attribute", "an attribute name is 1-100 characters without control characters");
        var (request, problem) = await RequestBody.ReadObjectAsync<AttributeDefinitionRequest>(http.Request, 4096, JsonSerializerOptions.Web,
            "invalid_definition", "{\"sensitive\": true, \"purpose\": \"sensitive-health\"}", ct);
        if (request is null) return problem!;

        var tenant = http.Caller().TenantId;
        if (!request.Sensitive)
        {
            await definitions.RemoveSensitiveAsync(tenant, name, ct);
            await audit.RecordAsync(http, AuditLog.Actions.DefinitionsChanged, null, $"{name}: ordinary");
            return Results.Ok(new AttributeDefinitionView(name, false, null));
        }
        if (request.Purpose is null || !ConsentVocabulary.IsPurpose(request.Purpose) || !ConsentVocabulary.IsSensitive(request.Purpose))
            return Problems.BadRequest("invalid_purpose", "a sensitive attribute needs a sensitive purpose: " +
                string.Join(", ", ConsentVocabulary.Purposes.Where(ConsentVocabulary.IsSensitive)));
        await definitions.SetSensitiveAsync(tenant, new SensitiveAttribute(name, request.Purpose), ct);
        await audit.RecordAsync(http, AuditLog.Actions.DefinitionsChanged, null, $"{name}: sensitive ({request.Purpose})");
        return Results.Ok(new AttributeDefinitionView(name, true, request.Purpose));
    }
}
