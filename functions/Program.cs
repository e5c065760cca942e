using Microsoft.Extensions.Options;
using Siyu.Functions.Api;
using Siyu.Functions.Hosting;
using Siyu.Functions.Ingestion;
using Siyu.Functions.Profiles;
using Siyu.Functions.Tenants;

var builder = WebApplication.CreateBuilder(args);

// Under the Azure Functions host (custom handler) the host tells us our port and triggers our queue handlers itself.
var customHandlerPort = Environment.GetEnvironmentVariable("FUNCTIONS_CUSTOMHANDLER_PORT");
if (customHandlerPort is not null)
{
    builder.WebHost.UseUrls($"http://127.0.0.1:{customHandlerPort}");
    builder.Configuration["Hosting:CustomHandler"] = "true";
    builder.Configuration["Queues:ListenersEnabled"] = "false";
}

builder.Services.AddSiyu(builder.Configuration);

var app = builder.Build();
app.UseSiyu();
app.Run();

/// <summary>The entry point, visible to the integration tests' WebApplicationFactory.</summary>
public partial class Program;
