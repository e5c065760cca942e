using System.Text.Json;
using Siyu.FakeProviders;
using Siyu.Functions.Hosting;
using Siyu.IntegrationTests.Infrastructure;

namespace Siyu.IntegrationTests.Hosting;

/// <summary>
/// The app as ./infra/run.sh runs it: the demo seed on, its keys kept in a file, sends going to a fake provider that
/// knows the demo's WeChat app and Aliyun SMS AccessKey. A second instance on the same prefix and keys file is a restart.
/// </summary>
public sealed class DemoApp : SiyuApp
{
    public FakeProviderServer Fake { get; private set; } = null!;

    public string KeysFile { get; init; } = Path.Combine(Path.GetTempPath(), "siyu-demo-" + Guid.NewGuid().ToString("N"), "demo-keys.json");

    public override async Task InitializeAsync()
    {
        Fake = await FakeProviderServer.StartAsync();
        Fake.RegisterApp(DemoData.WeChatAppId, DemoData.WeChatAppSecret);
        Fake.RegisterAliyunKey(DemoData.SmsAccessKeyId, DemoData.SmsAccessKeySecret);
        Fake.RegisterAliyunSignName(DemoData.SmsSignName);
        var url = Fake.BaseUrl.ToString().TrimEnd('/');
        With("Channels:AliyunSmsEndpoint", url + "/aliyun");
        With("Channels:TencentSmsEndpoint", url + "/tencent");
        With("Channels:WeChatApiBaseUrl", url);
        foreach (var channel in new[] { "sms", "email", "wecom", "push" }) With($"Channels:ProviderBaseUrls:{channel}", url);
        With("Demo:Seed", "true");
        With("Demo:KeysFile", KeysFile);
        await base.InitializeAsync();
    }

    /// <summary>The keys in the keys file, by role name.</summary>
    public Dictionary<string, string> KeptKeys()
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(KeysFile));
        return doc.RootElement.GetProperty("keys").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetString()!);
    }

    /// <summary>Tenant "demo" with the keys a newcomer pastes from the keys file.</summary>
    public TestTenant Demo()
    {
        var keys = KeptKeys();
        return new TestTenant(this, DemoSeeder.TenantId, keys["ingest"], keys["marketer"], keys["admin"]);
    }

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        await Fake.DisposeAsync();
    }
}
