using Microsoft.Azure.Functions.Worker;
using Microsoft.Azure.Functions.Worker.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Siyu.LocalHost.SampleApp;

var builder = FunctionsApplication.CreateBuilder(args);
builder.ConfigureFunctionsWebApplication();
builder.UseMiddleware<JournalMiddleware>();
builder.UseMiddleware<ProblemMiddleware>();
builder.Services.AddSingleton<Journal>();
builder.Services.AddScoped<PerInvocation>();
builder.Build().Run();
