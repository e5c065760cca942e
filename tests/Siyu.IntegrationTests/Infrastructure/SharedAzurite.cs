using Siyu.Azurite;

namespace Siyu.IntegrationTests.Infrastructure;

/// <summary>
/// One in-memory Azurite for the whole test run, started on first use and killed when the test process exits.
/// Tests stay independent by using their own tenant ids and their own table/queue name prefix.
/// </summary>
public static class SharedAzurite
{
    private static readonly Lazy<Task<AzuriteProcess>> Instance = new(async () =>
    {
        var azurite = await AzuriteProcess.StartAsync();
        AppDomain.CurrentDomain.ProcessExit += (_, _) => azurite.DisposeAsync().AsTask().Wait();
        return azurite;
    });

    public static Task<AzuriteProcess> GetAsync() => Instance.Value;

    public static async Task<string> ConnectionStringAsync() => (await GetAsync()).ConnectionString;

    /// <summary>A fresh, valid table/queue name prefix: lowercase letters and digits, starting with a letter.</summary>
    public static string NewPrefix() => "t" + Guid.NewGuid().ToString("N")[..10];
}
