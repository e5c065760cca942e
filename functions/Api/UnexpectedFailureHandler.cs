using Microsoft.AspNetCore.Diagnostics;

namespace Siyu.Functions.Api;

/// <summary>
/// The last exception handler: whatever no other handler took. A request the server could not read (a
/// <see cref="BadHttpRequestException"/>: a malformed or oversized body) is the caller's 4xx; anything else is a bug,
/// logged, and answered 500 <c>internal_error</c> with the request id, never a bare 500.
/// </summary>
public sealed class UnexpectedFailureHandler(ILogger<UnexpectedFailureHandler> log) : IExceptionHandler
{
    public async ValueTask<bool> TryHandleAsync(HttpContext http, Exception exception, CancellationToken ct)
    {
        if (exception is BadHttpRequestException bad)
        {
            await Problems.Create(bad.StatusCode, bad.StatusCode == StatusCodes.Status413PayloadTooLarge ? "body_too_large" : "bad_request",
                "The request is not valid", bad.Message).ExecuteAsync(http);
            return true;
        }
        log.LogError(exception, "Request {RequestId} {Method} {Path} failed", http.TraceIdentifier, http.Request.Method, http.Request.Path);
        await Problems.Internal(http.TraceIdentifier).ExecuteAsync(http);
        return true;
    }
}
