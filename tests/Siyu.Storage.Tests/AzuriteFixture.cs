using Siyu.Azurite;
using Siyu.Storage.Account;

namespace Siyu.Storage.Tests;

/// <summary>
/// The test run's one in-memory Azurite. It runs with Azurite's API version check on, so the x-ms-version our
/// clients send is checked by every test. Tests stay independent by using their own queue/table names.
/// </summary>
public static class AzuriteFixture
{
    public static async Task<string> ConnectionStringAsync() => (await AzuriteProcess.SharedAsync()).ConnectionString;

    public static async Task<StorageAccount> AccountAsync() => StorageAccount.Parse(await ConnectionStringAsync());

    /// <summary>A fresh, valid queue/table name: lowercase letters and digits, starting with a letter.</summary>
    public static string NewName(string prefix = "t") => prefix + Guid.NewGuid().ToString("N")[..12];
}
