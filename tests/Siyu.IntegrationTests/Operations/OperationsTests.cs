using System.Net;
using System.Text.Json;
using Microsoft.DurableTask.Client;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using Siyu.Functions.Operations;
using Siyu.Functions.Privacy;
using Siyu.IntegrationTests.Consent;
using Siyu.IntegrationTests.Infrastructure;

namespace Siyu.IntegrationTests.Operations;

/// <summary>The app with one personal-data holder that refuses to erase while <see cref="RefusingHolder.Refusing"/> is set, and a movable clock.</summary>
public sealed class OperationsApp : SiyuApp
{
    public FakeTimeProvider Clock { get; } = new(DateTimeOffset.UtcNow);

    protected override void ConfigureMore(AppBuilder builder) => builder.ConfigureServices(s =>
    {
        s.AddSingleton<IPersonalDataHolder, RefusingHolder>();
        s.AddSingleton<TimeProvider>(Clock);
    });
}

/// <summary>Stands for a holder whose store refuses the delete until someone fixes it (a permanent failure, not retried).</summary>
public sealed class RefusingHolder : IPersonalDataHolder
{
    public static readonly HashSet<string> Refusing = [];
    public string Section => "refusing";
    public Task<System.Text.Json.Nodes.JsonNode?> ExportAsync(PersonalDataSubject subject, CancellationToken ct) => Task.FromResult<System.Text.Json.Nodes.JsonNode?>(null);

    public Task EraseAsync(PersonalDataSubject subject, CancellationToken ct)
    {
        lock (Refusing)
            if (Refusing.Contains(subject.ProfileId)) throw new PermanentStepFailure("the archive refused the delete");
        return Task.CompletedTask;
    }
}

/// <summary>
/// Operators see their tenant's orchestrations through /api/operations: a failed one with its error, retried by an
/// admin once the cause is fixed; nobody sees or retries another tenant's; ended ones are purged after the retention.
/// </summary>
public sealed class OperationsTests(OperationsApp app) : IClassFixture<OperationsApp>
{
    private static async Task<string> PersonAsync(TestTenant tenant)
    {
        var phone = ConsentApi.NewPhone();
        await tenant.Ingest().PostEvents(new { messageId = "s-" + phone, type = "track", @event = "signup", identities = new { phone } });
        return await tenant.Marketer().ProfileIdOf($"phone:{phone}");
    }

    private static async Task<List<JsonElement>> Operations(TestTenant tenant, string status) =>
        (await (await tenant.Admin().GetAsync($"/api/operations?status={status}")).Json()).EnumerateArray().ToList();

    [Fact]
    public async Task A_failed_erasure_is_listed_with_its_error_and_an_admin_retries_it_once_the_cause_is_fixed()
    {
        var tenant = await app.NewTenantAsync();
        var id = await PersonAsync(tenant);
        lock (RefusingHolder.Refusing) RefusingHolder.Refusing.Add(id);
        Assert.Equal(HttpStatusCode.Accepted, (await tenant.Admin().DeleteAsync($"/api/profiles/{id}")).StatusCode);

        var instance = OperationIds.Erasure(tenant.Id, id);
        var failed = (await Eventually.Get(() => Operations(tenant, "failed"), l => l.Any(o => o.GetProperty("instanceId").GetString() == instance), what: "the erasure failed"))
            .Single(o => o.GetProperty("instanceId").GetString() == instance);
        Assert.Equal("failed", failed.GetProperty("runtimeStatus").GetString());
        Assert.Equal("erasure", failed.GetProperty("kind").GetString());
        Assert.Contains("the archive refused the delete", failed.GetProperty("error").GetString());
        Assert.Equal("holders", failed.GetProperty("checkpoint").GetProperty("step").GetString());
        Assert.DoesNotContain(await Operations(tenant, "running"), o => o.GetProperty("instanceId").GetString() == instance);

        // Only the tenant's admins see or retry it.
        await (await tenant.Marketer().GetAsync("/api/operations?status=failed")).AssertProblem(HttpStatusCode.Forbidden, "wrong_role");
        await (await tenant.Marketer().PostAsync($"/api/operations/{instance}/retry", null)).AssertProblem(HttpStatusCode.Forbidden, "wrong_role");
        var other = await app.NewTenantAsync();
        Assert.DoesNotContain(await Operations(other, "all"), o => o.GetProperty("instanceId").GetString() == instance);
        await (await other.Admin().PostAsync($"/api/operations/{instance}/retry", null)).AssertProblem(HttpStatusCode.NotFound, "operation_not_found");
        await (await tenant.Admin().GetAsync("/api/operations?status=sideways")).AssertProblem(HttpStatusCode.BadRequest, "invalid_status");

        // Fixed, retried: the erasure finishes from its input.
        lock (RefusingHolder.Refusing) RefusingHolder.Refusing.Remove(id);
        var retried = await tenant.Admin().PostAsync($"/api/operations/{instance}/retry", null);
        Assert.Equal(HttpStatusCode.Accepted, retried.StatusCode);
        await Eventually.Get(() => tenant.Admin().DeleteAsync($"/api/profiles/{id}"), r => r.StatusCode == HttpStatusCode.NoContent, what: "the retried erasure done");
        // The receipt is done a moment before the orchestration records its own end.
        await Eventually.Get(() => app.Durable.GetInstanceAsync(instance), i => i?.RuntimeStatus == OrchestrationRuntimeStatus.Completed, what: "the retried erasure's orchestration completed");
        await (await tenant.Admin().PostAsync($"/api/operations/{instance}/retry", null)).AssertProblem(HttpStatusCode.Conflict, "operation_not_failed");
        Assert.Contains(await Operations(tenant, "completed"), o => o.GetProperty("instanceId").GetString() == instance);
    }

    [Fact]
    public async Task Ended_orchestrations_are_purged_after_the_retention_and_failed_ones_are_kept()
    {
        var tenant = await app.NewTenantAsync();
        var erased = await PersonAsync(tenant);
        var stuck = await PersonAsync(tenant);
        lock (RefusingHolder.Refusing) RefusingHolder.Refusing.Add(stuck);
        foreach (var id in new[] { erased, stuck }) Assert.Equal(HttpStatusCode.Accepted, (await tenant.Admin().DeleteAsync($"/api/profiles/{id}")).StatusCode);
        await Eventually.Get(() => app.Durable.GetInstanceAsync(OperationIds.Erasure(tenant.Id, erased)), i => i?.RuntimeStatus == OrchestrationRuntimeStatus.Completed, what: "one completed");
        await Eventually.Get(() => app.Durable.GetInstanceAsync(OperationIds.Erasure(tenant.Id, stuck)), i => i?.RuntimeStatus == OrchestrationRuntimeStatus.Failed, what: "one failed");

        var housekeeping = app.Service<OperationsHousekeeping>();
        app.Clock.Advance(TimeSpan.FromDays(29));
        await housekeeping.PurgeAsync(CancellationToken.None);
        Assert.NotNull(await app.Durable.GetInstanceAsync(OperationIds.Erasure(tenant.Id, erased))); // inside the 30 days
        app.Clock.Advance(TimeSpan.FromDays(2));
        Assert.True(await housekeeping.PurgeAsync(CancellationToken.None) >= 1);
        Assert.Null(await app.Durable.GetInstanceAsync(OperationIds.Erasure(tenant.Id, erased)));
        Assert.Equal(OrchestrationRuntimeStatus.Failed, (await app.Durable.GetInstanceAsync(OperationIds.Erasure(tenant.Id, stuck)))!.RuntimeStatus);
        lock (RefusingHolder.Refusing) RefusingHolder.Refusing.Remove(stuck);
    }
}
