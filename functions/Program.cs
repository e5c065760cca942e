using Microsoft.Azure.Functions.Worker.Builder;
using Siyu.Functions.Hosting;

// The isolated worker: the Functions host (or infra/Siyu.LocalHost on a machine without it) calls the function
// classes of each concern folder; HTTP goes through the ASP.NET Core integration, so handlers see a real HttpContext.
var builder = FunctionsApplication.CreateBuilder(args);
builder.ConfigureFunctionsWebApplication();
builder.Logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning)
    .AddFilter("Azure.Core", LogLevel.Warning)
    .AddFilter("System.Net.Http.HttpClient", LogLevel.Warning);
builder.Services.AddSiyu(builder.Configuration);
builder.Build().Run();
