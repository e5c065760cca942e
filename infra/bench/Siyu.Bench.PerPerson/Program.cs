using Azure.Data.Tables;
using Microsoft.Azure.Functions.Worker.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

// Run by the local Functions host from the bench (PerPersonBench), never on its own.
var builder = FunctionsApplication.CreateBuilder(args);
var connection = builder.Configuration["SiyuStorage"] ?? throw new InvalidOperationException("SiyuStorage is not set");
builder.Services.AddSingleton(new TableClient(connection, Siyu.Bench.PerPerson.PersonJourney.SendsTable));
builder.Build().Run();
