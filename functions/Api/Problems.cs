using Siyu.Core.Validation;

namespace Siyu.Functions.Api;

/// <summary>
/// Every error the API gives is RFC 9457 problem+json with a stable <c>code</c>, so clients can branch on it, and the
/// <c>requestId</c> (also the X-Request-Id header) to quote back. A list of problems is always <c>errors</c>:
/// <c>[{path, code, message}]</c>.
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

    /// <summary>A body or definition with mistakes: every one of them, in <c>errors</c>, so they can all be fixed at once.</summary>
    public static IResult Invalid(string code, string what, IReadOnlyList<FieldError> errors) =>
        BadRequest(code, $"{what} has {errors.Count} problem{(errors.Count == 1 ? "" : "s")}: {string.Join("; ", errors)}",
            new Dictionary<string, object?> { ["errors"] = errors });

    /// <summary>A rule checker's "path: message" problems (journeys, segments, tag rules…), each with <paramref name="code"/>.</summary>
    public static IResult Invalid(string code, string what, IEnumerable<string> errors) => Invalid(code, what, FieldError.FromTexts(errors, code));

    public static IResult NotFound(string code, string detail) => Create(StatusCodes.Status404NotFound, code, "Not found", detail);

    public static IResult Conflict(string code, string detail) => Create(StatusCodes.Status409Conflict, code, "Conflict", detail);

    public static IResult Unauthorized(string code, string detail) => Create(StatusCodes.Status401Unauthorized, code, "Not authenticated", detail);

    public static IResult Forbidden(string code, string detail) => Create(StatusCodes.Status403Forbidden, code, "Not allowed", detail);

    public static IResult Unavailable(string detail) => Create(StatusCodes.Status503ServiceUnavailable, "storage_unavailable", "Try again shortly", detail);

    /// <summary>Something failed on our side: nothing the caller can fix but quote the request id.</summary>
    public static IResult Internal(string requestId) => Create(StatusCodes.Status500InternalServerError, "internal_error", "Something went wrong on our side",
        $"the request failed unexpectedly; quote request id {requestId} when you report it");

    public static Task WriteAsync(HttpContext context, IResult problem) => problem.ExecuteAsync(context);
}
