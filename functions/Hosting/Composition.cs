using Siyu.Functions.WebConsole;
using Siyu.Functions.Analytics;
using Siyu.Storage.Analytics;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using Siyu.Functions.Api;
using Siyu.Functions.Audit;
using Siyu.Functions.Audience;
using Siyu.Functions.Campaigns;
using Siyu.Functions.Delivery;
using Siyu.Channels;
using Siyu.Functions.Ingestion;
using Siyu.Functions.Journeys;
using Siyu.Functions.Merges;
using Siyu.Functions.Operations;
using Siyu.Functions.Privacy;
using Siyu.Functions.Tags;
using Siyu.Functions.Profiles;
using Siyu.Functions.Segments;
using Siyu.Functions.Tenants;
using Siyu.Functions.WeChat;
using Siyu.Storage.Secrets;
using Siyu.Storage.WeChat;
using Siyu.Storage.Account;
using Siyu.Storage.Audience;
using Siyu.Storage.Audit;
using Siyu.Storage.Delivery;
using Siyu.Storage.Jobs;
using Siyu.Storage.Journeys;
using Siyu.Storage.Segments;
using Siyu.Storage.Privacy;
using Siyu.Storage.Identities;
using Siyu.Storage.Profiles;
using Siyu.Storage.Queues;
using Siyu.Storage.Tables;
using Siyu.Storage.Tenants;

namespace Siyu.Functions.Hosting;

/// <summary>How the app is put together: services, middleware, endpoints. One place to read it all.</summary>
public static class Composition
{
    public static IServiceCollection AddSiyu(this IServiceCollection services, IConfiguration config)
    {
        services.Configure<StorageSettings>(config.GetSection("Storage"));
        services.Configure<IngestionSettings>(config.GetSection("Ingestion"));
        services.Configure<WeChatSettings>(config.GetSection("WeChat"));
        services.Configure<OperatorSettings>(config.GetSection("Operator"));
        services.Configure<QueueOptions>(config.GetSection("Queues"));
        services.Configure<RetentionSettings>(config.GetSection("Retention"));
        services.Configure<JourneySettings>(config.GetSection("Journeys"));
        services.Configure<DeliverySettings>(config.GetSection("Delivery"));

        services.AddSingleton(TimeProvider.System);
        services.AddSingleton(sp =>
        {
            var s = sp.GetRequiredService<IOptions<StorageSettings>>().Value;
            return StorageAccount.FromSettings(s.ConnectionString, s.TableServiceUri, s.QueueServiceUri, s.ManagedIdentityClientId);
        });
        services.AddSingleton(sp => new StorageTables(sp.GetRequiredService<StorageAccount>(), sp.GetRequiredService<IOptions<StorageSettings>>().Value.Prefix));
        services.AddSingleton<IQueueService>(sp => new AzureQueueService(sp.GetRequiredService<StorageAccount>()));
        services.AddSingleton(sp => QueueNames.Checked(sp.GetRequiredService<IOptions<StorageSettings>>().Value, sp.GetRequiredService<IOptions<IngestionSettings>>().Value,
            sp.GetRequiredService<IOptions<JourneySettings>>().Value.Partitions, sp.GetRequiredService<IOptions<DeliverySettings>>().Value.Partitions));

        services.AddSingleton<TenantStore>();
        services.AddSingleton<ApiKeyCache>();
        services.AddSingleton(sp => new IdentityStore(sp.GetRequiredService<StorageTables>(), sp.GetRequiredService<TimeProvider>()));
        services.AddSingleton<ProfileStore>();
        services.AddSingleton(sp => new SecretProtector(config["Secrets:EncryptionKey"]));
        services.AddSingleton<WeChatAppStore>();
        services.AddSingleton<WeChatAppCache>();
        services.AddSingleton<WeChatNonceStore>();

        // Consent, data rights and audit.
        services.AddSingleton(sp => new SuppressionStore(sp.GetRequiredService<StorageTables>(), config["Secrets:EncryptionKey"]));
        services.AddSingleton<ErasureStore>();
        services.AddSingleton<DefinitionStore>();
        services.AddSingleton<PrivacyStores>();
        services.AddSingleton<AuditStore>();
        services.AddSingleton<AuditLog>();
        // Everyone who keeps per-person rows outside the profile row: export and erasure reach them all.
        services.AddSingleton<IPersonalDataHolder, IdentityIndexHolder>();
        services.AddSingleton<IPersonalDataHolder, ProfileHistoryHolder>();
        services.AddSingleton<Erasure>();
        services.AddSingleton<RetentionPurge>();

        // Audience: segments, tag rules, traits, the membership index; OneID merges and who must move what they hold.
        services.AddSingleton<AudienceStore>();
        services.AddSingleton<MembershipStore>();
        services.AddSingleton<ProfileRefresher>();
        services.AddSingleton<ProfileMerger>();
        services.AddSingleton<SegmentMembershipHolder>();
        services.AddSingleton<IPersonalDataHolder>(sp => sp.GetRequiredService<SegmentMembershipHolder>());
        services.AddSingleton<IMergeParticipant>(sp => sp.GetRequiredService<SegmentMembershipHolder>());
        services.AddSingleton<IPersonalDataHolder, TagHistoryHolder>();
        services.AddSingleton<AudienceSweep>();
        services.AddSingleton<TagJobStore>();
        services.AddSingleton<AnalysisStore>();
        services.AddSingleton<Siyu.Functions.Analytics.AnalysisJobs>();
        services.AddSingleton<BulkTagging>();

        // Journeys: definitions, runs and timers; the engine that moves runs; what hands events and entries to it.
        services.AddSingleton<JourneyStore>();
        services.AddSingleton<RunStore>();
        services.AddSingleton<TimerStore>();
        services.AddSingleton<TimerArming>();
        services.AddSingleton<JourneyCatalog>();
        services.AddSingleton<JourneyQueue>();
        services.AddSingleton<JourneyTriggers>();
        services.AddSingleton<JourneyEntries>();
        services.AddSingleton<JourneyEffects>();
        services.AddSingleton<IJourneyFaults, NoJourneyFaults>();
        services.AddSingleton<JourneyEngine>();
        services.AddSingleton<JourneyWork>();
        services.AddSingleton<TimerSweep>();
        services.AddSingleton<ClockBell>();
        services.AddSingleton<JourneyVersions>();
        services.AddSingleton<JourneyRunsHolder>();
        services.AddSingleton<IPersonalDataHolder>(sp => sp.GetRequiredService<JourneyRunsHolder>());
        services.AddSingleton<IMergeParticipant>(sp => sp.GetRequiredService<JourneyRunsHolder>());
        services.AddHttpClient(JourneyEffects.WebhookClient, c => c.Timeout = TimeSpan.FromSeconds(10));

        // Delivery: templates, the brand's switch and accounts, the policy-checking worker, receipts; campaigns and their fan-out.
        services.AddChannels(config);
        services.AddSingleton<TemplateStore>();
        services.AddSingleton<SendingStore>();
        services.AddSingleton<DeliveryStore>();
        services.AddSingleton<CampaignStore>();
        services.AddSingleton<SendingCache>();
        services.AddSingleton<DeliveryQueue>();
        services.AddSingleton<DeliveryEvents>();
        services.AddSingleton<DeliveryReceipts>();
        services.AddSingleton<UnsubscribeLinks>();
        services.AddSingleton<IDeliveryFaults, NoDeliveryFaults>();
        services.AddSingleton<DeliveryWorker>();
        services.AddSingleton<ICampaignFaults, NoCampaignFaults>();
        services.AddSingleton<CampaignFanOut>();

        services.AddSingleton<PoisonQueue>();
        services.AddSingleton<IngestQueue>();
        services.AddSingleton(sp => new IngestProcessor(
            sp.GetRequiredService<ProfileStore>(), sp.GetRequiredService<IdentityStore>(), sp.GetRequiredService<PrivacyStores>(),
            sp.GetRequiredService<AudienceStore>(), sp.GetRequiredService<ProfileRefresher>(), sp.GetRequiredService<IngestQueue>(), sp.GetRequiredService<ProfileMerger>(), sp.GetRequiredService<TimeProvider>(), sp.GetRequiredService<ILogger<IngestProcessor>>(),
            erasureWait: sp.GetRequiredService<IOptions<IngestionSettings>>().Value.ErasureWait, journeys: sp.GetRequiredService<JourneyTriggers>(),
            receipts: sp.GetRequiredService<DeliveryReceipts>()));

        // Orchestrations: the task hub's client for the services that start, signal and read them.
        services.AddSingleton<Operations.DurableAccess>();
        services.AddSingleton<Operations.OperationsHousekeeping>();
        services.AddOptions<Operations.OperationSettings>().Bind(config.GetSection("Operations"));

        services.AddHostedService<StorageStartup>();
        services.AddSingleton<QueueFunctionRunner>();
        if (config.GetValue("Demo:Seed", false))
        {
            services.AddSingleton<DemoKeys>();
            services.AddSingleton<DemoSeeder>();
            services.AddHostedService(sp => sp.GetRequiredService<DemoSeeder>());
        }

        services.AddExceptionHandler<StorageFailureHandler>();
        services.AddExceptionHandler<UnexpectedFailureHandler>();
        services.AddProblemDetails(o => o.CustomizeProblemDetails = c =>
        {
            // Framework-made problems (a body that does not bind, an unknown route) get a code too.
            c.ProblemDetails.Extensions.TryAdd("code", c.ProblemDetails.Status switch
            {
                400 => "bad_request",
                404 => "not_found",
                405 => "method_not_allowed",
                413 => "body_too_large",
                415 => "unsupported_media_type",
                >= 500 => "internal_error",
                _ => "request_failed",
            });
            // Every problem names its request, and so does its header, also where an exception handler cleared the response.
            c.ProblemDetails.Extensions["requestId"] = c.HttpContext.TraceIdentifier;
            if (!c.HttpContext.Response.HasStarted) c.HttpContext.Response.Headers["X-Request-Id"] = c.HttpContext.TraceIdentifier;
        });
        services.AddSiyuOpenApi();

        // The HTTP API: the endpoints below compiled once, each run by its own HTTP function behind UseSiyuGuard.
        services.AddRouting();
        services.TryAddSingleton(new System.Diagnostics.DiagnosticListener("Microsoft.AspNetCore"));
        services.AddSingleton<HttpApi>();
        // The OpenAPI document describes the same table.
        services.AddSingleton<EndpointDataSource>(sp => sp.GetRequiredService<HttpApi>().Endpoints);
        services.AddHostedService<SecretsCheck>();
        services.AddSiyuTelemetry(config);
        return services;
    }

    /// <summary>What every API request passes before its handler: problem+json for every failure, the request id, the API key and its role, the body check.</summary>
    public static IApplicationBuilder UseSiyuGuard(this IApplicationBuilder app)
    {
        app.UseExceptionHandler();
        app.UseStatusCodePages();
        app.Use((http, next) =>
        {
            // The id the audit log records: a caller can quote it back to us.
            http.Response.Headers["X-Request-Id"] = http.TraceIdentifier;
            System.Diagnostics.Activity.Current?.SetTag(Telemetry.RequestIdTag, http.TraceIdentifier);
            return next(http);
        });
        app.UseMiddleware<ApiKeyMiddleware>();
        app.UseMiddleware<BoundBodyCheck>();
        return app;
    }

    /// <summary>Every endpoint of the API, by concern.</summary>
    public static IEndpointRouteBuilder MapSiyuApi(this IEndpointRouteBuilder app)
    {
        app.MapOpenApi("/api/openapi.json").WithMetadata(Access.Anonymous);
        app.MapHealth();
        app.MapTenants();
        app.MapEvents();
        app.MapProfiles();
        app.MapConsents();
        app.MapPreferences();
        app.MapDataRights();
        app.MapDefinitions();
        app.MapTags();
        BulkTagging.Map(app);
        app.MapMerges();
        app.MapSegments();
        app.MapAudience();
        app.MapJourneys();
        app.MapCampaigns();
        app.MapDelivery();
        app.MapProviderPushes();
        app.MapUnsubscribe();
        app.MapAudit();
        app.MapAnalytics();
        app.MapConsole();
        app.MapOperations();
        app.MapWeChatApps();
        app.MapWeChatPush();
        return app;
    }
}

/// <summary>Says at start-up when secrets would be stored unencrypted.</summary>
internal sealed class SecretsCheck(SecretProtector secrets, ILogger<SecretsCheck> log) : IHostedService
{
    public Task StartAsync(CancellationToken ct)
    {
        if (!secrets.Encrypts) log.LogWarning("Secrets:EncryptionKey is not set: WeChat app tokens and keys are stored unencrypted");
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken ct) => Task.CompletedTask;
}
