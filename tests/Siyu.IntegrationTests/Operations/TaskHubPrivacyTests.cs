using System.IO.Compression;
using System.Net;
using System.Text;
using Azure.Data.Tables;
using Azure.Storage.Blobs;
using Azure.Storage.Queues;
using Microsoft.Extensions.Configuration;
using Siyu.Functions.Operations;
using Siyu.IntegrationTests.Consent;
using Siyu.IntegrationTests.Delivery;
using Siyu.IntegrationTests.Infrastructure;
using Siyu.IntegrationTests.Journeys;

namespace Siyu.IntegrationTests.Operations;

/// <summary>
/// The task hub never needs erasing: after a person went through a campaign, a merge, a journey and an erasure, no
/// table, blob or queue message of the task hub holds their phone, openid, device id or name.
/// </summary>
public sealed class TaskHubPrivacyTests(DeliveryApp app) : IClassFixture<DeliveryApp>
{
    [Fact]
    public async Task After_a_campaign_a_merge_a_journey_and_an_erasure_the_task_hub_holds_nothing_of_the_person()
    {
        var brand = await SendingBrand.CreateAsync(app);
        var tenant = brand.Tenant;
        var marketer = tenant.Marketer();
        var phone = (await brand.PeopleAsync(1)).Single();
        var openid = "o" + phone;
        var name = "Chen-" + Guid.NewGuid().ToString("N")[..10];
        var device = "dev-" + Guid.NewGuid().ToString("N")[..12];
        await tenant.Ingest().PostEvents(new { messageId = "n-" + phone, type = "identify", identities = new { phone }, traits = new { name } });
        var id = await marketer.ProfileIdOf($"phone:{phone}");

        // A campaign to them, sent.
        var campaign = await brand.StartOkAsync(new
        {
            name = "privacy check",
            audience = new { identities = new[] { "phone:" + phone } },
            message = new { template = "sms_offer", variables = new Dictionary<string, string> { ["name"] = "{{attributes.name}}", ["offer"] = "a gift" } },
        });
        Assert.Equal(1, SendingBrand.Progress(await brand.WaitDoneAsync(campaign), "sent"));

        // A merge: their phone seen on a device first known alone.
        await tenant.Ingest().PostEvents(new { messageId = "d-" + device, type = "track", @event = "view", identities = new { anonymousId = device } });
        var other = await marketer.ProfileIdOf($"anonymousId:{device}");
        await tenant.Ingest().PostEvents(new { messageId = "l-" + device, type = "track", @event = "view", identities = new { phone, anonymousId = device } });
        var (survivor, _) = await Eventually.Get(async () => (await marketer.ProfileIdOf($"phone:{phone}"), await marketer.ProfileIdOf($"anonymousId:{device}")),
            p => p.Item1 == p.Item2, what: "the device merged into the person");
        Assert.Contains(survivor, new[] { id, other });

        // A journey they are in, entered by identity.
        await tenant.PublishAsync("stay", """
            { "name": "Stay", "entry": { "on": "api", "reentry": "afterExit" }, "start": "stay",
              "nodes": { "stay": { "type": "delay", "for": "1h", "next": "done" }, "done": { "type": "exit" } } }
            """);
        var entered = await (await tenant.Enter("stay", new { identity = "phone:" + phone, context = new { note = "ok" } })).Json();
        Assert.Equal(1, entered.GetProperty("entered").GetInt32());

        // Erased.
        Assert.Equal(HttpStatusCode.Accepted, (await tenant.Admin().DeleteAsync($"/api/profiles/{survivor}")).StatusCode);
        await Eventually.Get(() => tenant.Admin().DeleteAsync($"/api/profiles/{survivor}"), r => r.StatusCode == HttpStatusCode.NoContent, what: "the erasure done");

        var hub = "h" + new string(app.Prefix.Where(char.IsLetterOrDigit).ToArray());
        var connection = app.Service<IConfiguration>()["SiyuStorage"]!;
        var texts = await TaskHubTextsAsync(connection, hub);

        // The scan saw the orchestrations it is about: without them it would prove nothing.
        foreach (var instance in new[]
                 {
                     OperationIds.Campaign(tenant.Id, campaign), OperationIds.Erasure(tenant.Id, survivor),
                     OperationIds.Merge(tenant.Id, id, other), OperationIds.Journey(tenant.Id, "stay", 1),
                 })
            Assert.Contains(texts, t => t.Text.Contains(instance, StringComparison.Ordinal));
        foreach (var value in new[] { phone, openid, device, name })
        {
            var found = texts.FirstOrDefault(t => t.Text.Contains(value, StringComparison.Ordinal));
            Assert.True(found.Where is null, $"'{value}' found in the task hub at {found.Where}");
        }
    }

    /// <summary>Every row (all properties), blob (unzipped) and queue message of the task hub, as text.</summary>
    private static async Task<List<(string Where, string Text)>> TaskHubTextsAsync(string connection, string hub)
    {
        var texts = new List<(string, string)>();
        var tables = new TableServiceClient(connection);
        var tableCount = 0;
        await foreach (var table in tables.QueryAsync(t => t.Name.CompareTo(hub) >= 0 && t.Name.CompareTo(hub + "{") < 0))
        {
            tableCount++;
            await foreach (var row in tables.GetTableClient(table.Name).QueryAsync<TableEntity>())
                texts.Add(($"table {table.Name} {row.PartitionKey}/{row.RowKey}", string.Join("\n", row.Select(p => $"{p.Key}={Text(p.Value)}"))));
        }
        Assert.True(tableCount >= 2, $"the task hub's tables ({hub}History, {hub}Instances) were not found");

        var blobs = new BlobServiceClient(connection, new BlobClientOptions(BlobClientOptions.ServiceVersion.V2026_02_06)); // what Azurite speaks
        await foreach (var container in blobs.GetBlobContainersAsync(prefix: hub.ToLowerInvariant()))
        {
            var client = blobs.GetBlobContainerClient(container.Name);
            await foreach (var blob in client.GetBlobsAsync())
            {
                var bytes = (await client.GetBlobClient(blob.Name).DownloadContentAsync()).Value.Content.ToArray();
                texts.Add(($"blob {container.Name}/{blob.Name}", Unzipped(bytes)));
            }
        }

        var queues = new QueueServiceClient(connection, new QueueClientOptions(QueueClientOptions.ServiceVersion.V2026_06_06));
        await foreach (var queue in queues.GetQueuesAsync(prefix: hub.ToLowerInvariant()))
            foreach (var message in (await queues.GetQueueClient(queue.Name).PeekMessagesAsync(32)).Value)
                texts.Add(($"queue {queue.Name}", message.Body.ToString()));
        return texts;
    }

    private static string Text(object? value) => value switch
    {
        byte[] bytes => Unzipped(bytes),
        _ => Convert.ToString(value, System.Globalization.CultureInfo.InvariantCulture) ?? "",
    };

    /// <summary>Large payloads go to blobs gzipped; everything else is text already.</summary>
    private static string Unzipped(byte[] bytes)
    {
        if (bytes is not [0x1f, 0x8b, ..]) return Encoding.UTF8.GetString(bytes);
        using var zip = new GZipStream(new MemoryStream(bytes), CompressionMode.Decompress);
        using var reader = new StreamReader(zip, Encoding.UTF8);
        return reader.ReadToEnd();
    }
}
