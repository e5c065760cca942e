using Siyu.Azurite;

namespace Siyu.IntegrationTests.Infrastructure;

/// <summary>
/// The test run's one in-memory Azurite. Tests stay independent by using their own tenant ids and their own
/// table/queue name prefix.
/// </summary>
public static class SharedAzurite
{
    public static async Task<string> ConnectionStringAsync() => (await AzuriteProcess.SharedAsync()).ConnectionString;

    /// <summary>A fresh, valid table/queue name prefix: lowercase letters and digits, starting with a letter.</summary>
    public static string NewPrefix() => "t" + Guid.NewGuid().ToString("N")[..10];
}
