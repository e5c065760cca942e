using System.Diagnostics;
using System.Net;
using System.Text.RegularExpressions;
using Siyu.IntegrationTests.Infrastructure;

namespace Siyu.IntegrationTests.Hosting;

/// <summary>
/// The run command's own host: the console entry point (<c>infra/Siyu.LocalHost.Cli</c>) loading the function app's
/// build output by path, in its own process and load context, with the settings run.sh gives it. The other tests host
/// the app in process, where a version clash between the host's assemblies and the app's cannot show.
/// </summary>
public sealed class RunCommandTests
{
    private static string Repository()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Serverless.sln"))) dir = dir.Parent;
        return dir?.FullName ?? throw new InvalidOperationException("not inside the repository");
    }

    [Fact]
    public async Task The_run_commands_host_starts_the_app_seeds_the_demo_tenant_and_serves_the_api_and_the_console()
    {
        var root = Repository();
        // The same configuration as this test's build (bin/Release/net10.0 → Release).
        var configuration = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar)).Parent!.Name;
        var cli = Path.Combine(root, "infra", "Siyu.LocalHost.Cli", "bin", configuration, "net10.0", "Siyu.LocalHost.Cli.dll");
        var app = Path.Combine(root, "functions", "bin", configuration, "net10.0", "Siyu.Functions.dll");
        Assert.True(File.Exists(cli) && File.Exists(app), $"build the solution first: {cli}, {app}");
        var storage = await SharedAzurite.ConnectionStringAsync();
        var prefix = SharedAzurite.NewPrefix();
        var keys = Path.Combine(Path.GetTempPath(), $"siyu-keys-{prefix}.json");
        var start = new ProcessStartInfo("dotnet")
        {
            ArgumentList = { cli, app, "--url", "http://127.0.0.1:0" },
            RedirectStandardOutput = true, RedirectStandardError = true,
            Environment =
            {
                ["Storage__ConnectionString"] = storage, ["SiyuStorage"] = storage, ["Storage__Prefix"] = prefix, ["Durable__HubName"] = prefix,
                ["Operator__BootstrapKey"] = "op-" + Guid.NewGuid().ToString("N"), ["Secrets__EncryptionKey"] = Convert.ToBase64String(new byte[32].Select((_, i) => (byte)i).ToArray()),
                ["Demo__Seed"] = "true", ["Demo__KeysFile"] = keys, ["DOTNET_ENVIRONMENT"] = "Development",
            },
        };
        using var process = Process.Start(start)!;
        var errors = process.StandardError.ReadToEndAsync();
        try
        {
            Uri? address = null;
            var output = new List<string>();
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(120));
            while (address is null && await process.StandardOutput.ReadLineAsync(timeout.Token) is { } line)
            {
                output.Add(line);
                if (Regex.Match(line, @"^Functions \(\d+\) on (\S+):$") is { Success: true } m) address = new Uri(m.Groups[1].Value);
            }
            Assert.True(address is not null, "the host printed no address:\n" + string.Join("\n", output) + "\n" + await Task.WhenAny(errors, Task.Delay(2000)));
            _ = Task.Run(async () => { while (await process.StandardOutput.ReadLineAsync() is not null) { } });

            using var http = new HttpClient { BaseAddress = address };
            Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/api/health")).StatusCode);
            Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/console/")).StatusCode);
            Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/api/openapi.json")).StatusCode);
            // The demo tenant is seeded and its marketer key, kept in the keys file, reads its journeys and their results.
            var seeded = await Eventually.Get(async () => File.Exists(keys) ? await File.ReadAllTextAsync(keys) : "", text => text.Contains("marketer", StringComparison.Ordinal),
                TimeSpan.FromSeconds(60), "the demo keys written");
            var marketer = Regex.Match(seeded, "\"marketer\"\\s*:\\s*\"([^\"]+)\"").Groups[1].Value;
            Assert.NotEmpty(marketer);
            http.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", marketer);
            var journeys = await Eventually.Get(async () => await (await http.GetAsync("/api/journeys")).Content.ReadAsStringAsync(), j => j.Contains("welcome", StringComparison.Ordinal),
                TimeSpan.FromSeconds(60), "the demo journey");
            Assert.Contains("\"welcome\"", journeys);
            Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/api/analytics/journeys/welcome")).StatusCode);
        }
        finally
        {
            if (!process.HasExited) process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
            File.Delete(keys);
        }
    }
}
