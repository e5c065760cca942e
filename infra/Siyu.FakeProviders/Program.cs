namespace Siyu.FakeProviders;

/// <summary>
/// The fake providers as a program, for the local run and the benchmark:
/// <c>dotnet run --project infra/Siyu.FakeProviders -- --urls http://127.0.0.1:7072 --Fake:Apps:wxdemo=demo-secret --Fake:ApiKeys:0=pk_demo</c>.
/// A named entry point rather than top-level statements: those would make a global <c>Program</c> class, which
/// clashes with the function app's <c>Program</c> in any project that references both.
/// </summary>
public static class FakeProvidersProgram
{
    public static async Task Main(string[] args)
    {
        await using var fake = await FakeProviderServer.StartAsync(args);
        Console.WriteLine($"fake providers listening on {fake.BaseUrl} (GET {fake.BaseUrl}fake/stats)");
        await fake.WaitForShutdownAsync();
    }
}
