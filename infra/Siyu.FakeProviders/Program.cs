// The fake providers as a program, for the local run and the benchmark:
//   dotnet run --project infra/Siyu.FakeProviders -- --urls http://127.0.0.1:7072 --Fake:Apps:wxdemo=demo-secret --Fake:ApiKeys:0=pk_demo
namespace Siyu.FakeProviders;

// A named entry point (not top-level statements), so projects that reference both this and the function app see one Program.
public static class FakeProvidersProgram
{
    public static async Task Main(string[] args)
    {
        await using var fake = await FakeProviderServer.StartAsync(args);
        Console.WriteLine($"fake providers listening on {fake.BaseUrl} (GET {fake.BaseUrl}fake/stats)");
        await fake.WaitForShutdownAsync();
    }
}
