using Microsoft.Playwright;
using Siyu.IntegrationTests.Delivery;

namespace Siyu.IntegrationTests.WebConsole;

/// <summary>
/// The app with its fake providers, and a real browser: Debian's chromium driven by Microsoft.Playwright (its own
/// browser download is not used; <c>infra/test.sh</c> installs chromium with apt). <c>SIYU_CHROMIUM</c> names another
/// executable; <c>SIYU_SCREENSHOTS</c> names where the pages' screenshots go (default <c>.local/screenshots</c>).
/// </summary>
public sealed class ConsoleApp : DeliveryApp
{
    private IPlaywright? _playwright;

    public IBrowser Browser { get; private set; } = null!;

    public static string ChromiumPath => Environment.GetEnvironmentVariable("SIYU_CHROMIUM") is { Length: > 0 } path ? path : "/usr/bin/chromium";

    /// <summary><c>SIYU_SCREENSHOTS</c> (a relative path is taken from the repository's root), else <c>.local/screenshots</c>.</summary>
    public static string ScreenshotDirectory
    {
        get
        {
            var root = new DirectoryInfo(AppContext.BaseDirectory);
            while (root is not null && !File.Exists(Path.Combine(root.FullName, "Serverless.sln"))) root = root.Parent;
            var repository = root?.FullName ?? AppContext.BaseDirectory;
            return Environment.GetEnvironmentVariable("SIYU_SCREENSHOTS") is { Length: > 0 } dir
                ? Path.GetFullPath(dir, repository)
                : Path.Combine(repository, ".local", "screenshots");
        }
    }

    public override async Task InitializeAsync()
    {
        await base.InitializeAsync();
        if (!File.Exists(ChromiumPath))
            throw new InvalidOperationException($"no chromium at {ChromiumPath}: infra/test.sh installs Debian's chromium with apt (or set SIYU_CHROMIUM)");
        _playwright = await Playwright.CreateAsync();
        Browser = await _playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = ChromiumPath,
            Headless = true,
            Args = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking", "--no-first-run"],
        });
    }

    public override async Task DisposeAsync()
    {
        if (Browser is not null) await Browser.CloseAsync();
        _playwright?.Dispose();
        await base.DisposeAsync();
    }

    /// <summary>A page signed in with <paramref name="key"/> through the console's own form, in the given language.</summary>
    public async Task<IPage> SignedInAsync(string key, string lang = "en")
    {
        var context = await Browser.NewContextAsync(new BrowserNewContextOptions { BaseURL = BaseAddress.ToString(), ViewportSize = new ViewportSize { Width = 1200, Height = 800 } });
        var page = await context.NewPageAsync();
        page.Dialog += (_, dialog) => dialog.AcceptAsync();
        await page.GotoAsync("/console/");
        await page.EvaluateAsync("l => localStorage.setItem('siyu.lang', l)", lang);
        await page.ReloadAsync();
        await page.GetByTestId("api-key").FillAsync(key);
        await page.GetByTestId("sign-in").ClickAsync();
        // Signed in: a page of data drawn (the journeys list), or the form's error, which fails the test with its text.
        await page.Locator("#main[data-loaded], [data-testid=sign-in-error]").First.WaitForAsync(new LocatorWaitForOptions { Timeout = 60_000 });
        if (await page.GetByTestId("sign-in-error").CountAsync() > 0)
            throw new InvalidOperationException("sign-in refused: " + await page.GetByTestId("sign-in-error").TextContentAsync());
        return page;
    }

    /// <summary>The page as it is now (one viewport, PNG), for the README.</summary>
    public static async Task ScreenshotAsync(IPage page, string name)
    {
        Directory.CreateDirectory(ScreenshotDirectory);
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(ScreenshotDirectory, name + ".png"), Type = ScreenshotType.Png, FullPage = false });
    }
}
