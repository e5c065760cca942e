using Azure;
using Microsoft.AspNetCore.Diagnostics;

namespace Siyu.Functions.Api;

/// <summary>
/// Storage that fails or cannot be reached mid-request is not the caller's fault and not a bug: answer 503 with
/// <c>storage_unavailable</c>, so clients retry, instead of a bare 500.
/// </summary>
public sealed class StorageFailureHandler(ILogger<StorageFailureHandler> log) : IExceptionHandler
{
    public async ValueTask<bool> TryHandleAsync(HttpContext http, Exception exception, CancellationToken ct)
    {
        if (exception is not (RequestFailedException or HttpRequestException)) return false;
        log.LogWarning(exception, "Storage failed during {Method} {Path}", http.Request.Method, http.Request.Path);
        await Problems.Unavailable("storage did not answer as expected; retry shortly").ExecuteAsync(http);
        return true;
    }
}
