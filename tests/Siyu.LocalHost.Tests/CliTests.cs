using System.Diagnostics;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.RegularExpressions;
using Siyu.Azurite;

namespace Siyu.LocalHost.Tests;

/// <summary>The console entry point, as a run script starts it: an app's build output by path, settings from the environment.</summary>
public sealed class CliTests
{
    [Fact]
    public void Local_settings_are_the_values_and_connection_strings_as_the_worker_sees_them()
    {
        var settings = LocalSettings.Parse("""
            { "IsEncrypted": false, // as func new writes it
              "Values": { "AzureWebJobsStorage": "UseDevelopmentStorage=true", "Delivery__BatchSize": "50", "Flag": true },
              "ConnectionStrings": { "Sql": "Server=x" } }
            """);

        Assert.Equal("UseDevelopmentStorage=true", settings["AzureWebJobsStorage"]);
        Assert.Equal("50", settings["Delivery:BatchSize"]);
        Assert.Equal("true", settings["Flag"]);
        Assert.Equal("Server=x", settings["ConnectionStrings:Sql"]);
        Assert.Equal(4, settings.Count);
    }

    [Fact]
    public async Task The_console_host_loads_an_app_by_path_lists_its_functions_and_serves_them()
    {
        var azurite = await AzuriteProcess.SharedAsync();
        var folder = AppContext.BaseDirectory;
        var start = new ProcessStartInfo("dotnet")
        {
            ArgumentList = { Path.Combine(folder, "Siyu.LocalHost.Cli.dll"), Path.Combine(folder, "Siyu.LocalHost.SampleApp.dll"), "--url", "http://127.0.0.1:0" },
            RedirectStandardOutput = true, RedirectStandardError = true,
            Environment =
            {
                ["SampleStorage"] = azurite.ConnectionString, ["SampleQueue"] = "cli" + Guid.NewGuid().ToString("N")[..10],
                ["SampleHub"] = "cli" + Guid.NewGuid().ToString("N")[..10],
            },
        };
        using var cli = Process.Start(start)!;
        var errors = cli.StandardError.ReadToEndAsync();
        try
        {
            var lines = new List<string>();
            Uri? address = null;
            var listed = int.MaxValue;
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(90));
            // "Functions (N) on URL:", then a line per function.
            while (lines.Count <= listed && await cli.StandardOutput.ReadLineAsync(timeout.Token) is { } line)
            {
                if (address is null && Regex.Match(line, @"^Functions \((\d+)\) on (\S+):$") is { Success: true } m)
                {
                    (listed, address) = (int.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture), new Uri(m.Groups[2].Value));
                    lines.Clear();
                }
                else if (address is not null) lines.Add(line);
                if (lines.Count == listed) break;
            }
            Assert.True(address is not null, "no address printed: " + string.Join("\n", lines) + await Task.WhenAny(errors, Task.Delay(1000)));
            Assert.Equal(FunctionsMetadata.Read(typeof(SampleApp.Journal).Assembly).Count, listed);
            Assert.Contains("  Work: queueTrigger", lines);
            Assert.Contains("  Reminder: orchestrationTrigger", lines);

            using var client = new HttpClient { BaseAddress = address };
            var item = await client.GetFromJsonAsync<JsonElement>("/api/items/5?q=tea");
            Assert.Equal(5, item.GetProperty("id").GetInt32());
            Assert.Equal("tea", item.GetProperty("q").GetString());

            // SIGTERM, as a run script's stop sends it: the host stops its listeners and the app, and exits cleanly.
            using (var kill = Process.Start("kill", ["-TERM", cli.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)])) await kill.WaitForExitAsync();
            await cli.WaitForExitAsync(timeout.Token);
            Assert.Equal(0, cli.ExitCode);
        }
        finally
        {
            if (!cli.HasExited) cli.Kill(entireProcessTree: true);
            await cli.WaitForExitAsync();
        }
    }
}
