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
// Read while Program runs, as an app decides what to register: the host's app settings must be there already.
if (builder.Configuration["Sample:Greeting"] is { Length: > 0 } greeting) builder.Services.AddSingleton(new Greeting(greeting));
builder.Build().Run();
