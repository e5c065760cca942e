using Microsoft.Azure.Functions.Worker;
using Siyu.Functions.Api;

namespace Siyu.Functions.Delivery;

/// <summary>
/// The HTTP functions of templates, the tenant's sending switch, caps and channel accounts, provider receipts and pushes (ProviderPushEndpoints.cs): one per operation, at its route and
/// methods; each hands its request to the operation's handler (DeliveryEndpoints.cs) behind the API's guard (<see cref="HttpApi"/>).
/// </summary>
public sealed class DeliveryHttpFunctions(HttpApi api)
{
    [Function("ProviderReceipt")]
    public Task ProviderReceipt([HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "api/delivery/receipts/{tenant}/{channel}")] HttpRequest request) =>
        api.RunAsync(request, "POST api/delivery/receipts/{tenant}/{channel}");

    [Function("AliyunSmsReport")]
    public Task AliyunSmsReport([HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "api/delivery/aliyun/{tenant}/report")] HttpRequest request) =>
        api.RunAsync(request, "POST api/delivery/aliyun/{tenant}/report");

    [Function("AliyunSmsReply")]
    public Task AliyunSmsReply([HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "api/delivery/aliyun/{tenant}/reply")] HttpRequest request) =>
        api.RunAsync(request, "POST api/delivery/aliyun/{tenant}/reply");

    [Function("TencentSmsStatus")]
    public Task TencentSmsStatus([HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "api/delivery/tencent/{tenant}/status")] HttpRequest request) =>
        api.RunAsync(request, "POST api/delivery/tencent/{tenant}/status");

    [Function("TencentSmsReply")]
    public Task TencentSmsReply([HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "api/delivery/tencent/{tenant}/reply")] HttpRequest request) =>
        api.RunAsync(request, "POST api/delivery/tencent/{tenant}/reply");

    [Function("UnsubscribePage")]
    public Task UnsubscribePage([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "api/unsubscribe/{tenant}/{profile}/{channel}")] HttpRequest request) =>
        api.RunAsync(request, "GET api/unsubscribe/{tenant}/{profile}/{channel}");

    [Function("Unsubscribe")]
    public Task Unsubscribe([HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "api/unsubscribe/{tenant}/{profile}/{channel}")] HttpRequest request) =>
        api.RunAsync(request, "POST api/unsubscribe/{tenant}/{profile}/{channel}");

    [Function("GetProfileDeliveries")]
    public Task GetProfileDeliveries([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "api/profiles/{id}/deliveries")] HttpRequest request) =>
        api.RunAsync(request, "GET api/profiles/{id}/deliveries");

    [Function("ListTemplates")]
    public Task ListTemplates([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "api/templates")] HttpRequest request) =>
        api.RunAsync(request, "GET api/templates");

    [Function("GetTemplate")]
    public Task GetTemplate([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "api/templates/{id}")] HttpRequest request) =>
        api.RunAsync(request, "GET api/templates/{id}");

    [Function("PutTemplate")]
    public Task PutTemplate([HttpTrigger(AuthorizationLevel.Anonymous, "put", Route = "api/templates/{id}")] HttpRequest request) =>
        api.RunAsync(request, "PUT api/templates/{id}");

    [Function("ListChannels")]
    public Task ListChannels([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "api/tenants/current/channels")] HttpRequest request) =>
        api.RunAsync(request, "GET api/tenants/current/channels");

    [Function("PutChannel")]
    public Task PutChannel([HttpTrigger(AuthorizationLevel.Anonymous, "put", Route = "api/tenants/current/channels/{channel}")] HttpRequest request) =>
        api.RunAsync(request, "PUT api/tenants/current/channels/{channel}");

    [Function("GetSending")]
    public Task GetSending([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "api/tenants/current/sending")] HttpRequest request) =>
        api.RunAsync(request, "GET api/tenants/current/sending");

    [Function("PutSendingCaps")]
    public Task PutSendingCaps([HttpTrigger(AuthorizationLevel.Anonymous, "put", Route = "api/tenants/current/sending/caps")] HttpRequest request) =>
        api.RunAsync(request, "PUT api/tenants/current/sending/caps");

    [Function("HaltSending")]
    public Task HaltSending([HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "api/tenants/current/sending:halt")] HttpRequest request) =>
        api.RunAsync(request, "POST api/tenants/current/sending:halt");

    [Function("ResumeSending")]
    public Task ResumeSending([HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "api/tenants/current/sending:resume")] HttpRequest request) =>
        api.RunAsync(request, "POST api/tenants/current/sending:resume");
}
