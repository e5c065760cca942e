using Siyu.Azurite;
using Siyu.Storage.Account;

namespace Siyu.Storage.Tests;

/// <summary>
/// One in-memory Azurite for the whole test run, started on first use and killed when the test process exits.
/// It runs with Azurite's API version check on, so the x-ms-version our clients send is checked by every test.
/// Tests stay independent by using their own queue/table names (<see cref="NewName"/>).
/// </summary>
public static class AzuriteFixture
{
    private static readonly Lazy<Task<AzuriteProcess>> Shared = new(async () =>
    {
        var azurite = await AzuriteProcess.StartAsync();
        AppDomain.CurrentDomain.ProcessExit += (_, _) => azurite.DisposeAsync().AsTask().Wait();
        return azurite;
    });

    public static async Task<string> ConnectionStringAsync() => (await Shared.Value).ConnectionString;

    public static async Task<StorageAccount> AccountAsync() => StorageAccount.Parse(await ConnectionStringAsync());

    /// <summary>A fresh, valid queue/table name: lowercase letters and digits, starting with a letter.</summary>
    public static string NewName(string prefix = "t") => prefix + Guid.NewGuid().ToString("N")[..12];
}
