namespace Siyu.Functions.Api;

/// <summary>
/// Every error the API gives is RFC 9457 problem+json with a stable <c>code</c>, so clients can branch on it.
/// </summary>
public static class Problems
{
    public static IResult Create(int status, string code, string title, string? detail = null, IDictionary<string, object?>? extensions = null)
    {
        var ext = new Dictionary<string, object?>(extensions ?? new Dictionary<string, object?>()) { ["code"] = code };
        return Results.Problem(detail: detail, statusCode: status, title: title, type: $"urn:siyu:problem:{code}", extensions: ext);
    }

    public static IResult BadRequest(string code, string detail, IDictionary<string, object?>? extensions = null) =>
        Create(StatusCodes.Status400BadRequest, code, "The request is not valid", detail, extensions);

    /// <summary>A definition with mistakes: every one of them, in <c>errors</c>, so they can all be fixed at once.</summary>
    public static IResult Invalid(string code, string what, IReadOnlyList<string> errors) =>
        BadRequest(code, $"{what} has {errors.Count} problem{(errors.Count == 1 ? "" : "s")}: {string.Join("; ", errors)}",
            new Dictionary<string, object?> { ["errors"] = errors });

    public static IResult NotFound(string code, string detail) => Create(StatusCodes.Status404NotFound, code, "Not found", detail);

    public static IResult Conflict(string code, string detail) => Create(StatusCodes.Status409Conflict, code, "Conflict", detail);

    public static IResult Unauthorized(string code, string detail) => Create(StatusCodes.Status401Unauthorized, code, "Not authenticated", detail);

    public static IResult Forbidden(string code, string detail) => Create(StatusCodes.Status403Forbidden, code, "Not allowed", detail);

    public static IResult Unavailable(string detail) => Create(StatusCodes.Status503ServiceUnavailable, "storage_unavailable", "Try again shortly", detail);

    public static Task WriteAsync(HttpContext context, IResult problem) => problem.ExecuteAsync(context);
}
