using Microsoft.Azure.Functions.Worker;
using Siyu.Functions.Api;

namespace Siyu.Functions.WebConsole;

/// <summary>The console's static files, behind the same guard as the API (anonymous: the files hold no data).</summary>
public sealed class ConsoleHttpFunctions(HttpApi api)
{
    [Function("Console")]
    public Task Console([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "console/{*path}")] HttpRequest request) =>
        api.RunAsync(request, "GET console/{*path}");
}
