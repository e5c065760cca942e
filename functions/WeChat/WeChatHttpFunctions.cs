using Microsoft.Azure.Functions.Worker;
using Siyu.Functions.Api;

namespace Siyu.Functions.WeChat;

/// <summary>
/// The HTTP functions of WeChat apps and WeChat's pushes: one per operation, at its route and
/// methods; each hands its request to the operation's handler (WeChatAppEndpoints.cs, WeChatPushEndpoints.cs) behind the API's guard (<see cref="HttpApi"/>).
/// </summary>
public sealed class WeChatHttpFunctions(HttpApi api)
{
    [Function("ListWeChatApps")]
    public Task ListWeChatApps([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "api/wechat-apps")] HttpRequest request) =>
        api.RunAsync(request, "GET api/wechat-apps");

    [Function("DeleteWeChatApp")]
    public Task DeleteWeChatApp([HttpTrigger(AuthorizationLevel.Anonymous, "delete", Route = "api/wechat-apps/{appId}")] HttpRequest request) =>
        api.RunAsync(request, "DELETE api/wechat-apps/{appId}");

    [Function("GetWeChatApp")]
    public Task GetWeChatApp([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "api/wechat-apps/{appId}")] HttpRequest request) =>
        api.RunAsync(request, "GET api/wechat-apps/{appId}");

    [Function("PutWeChatApp")]
    public Task PutWeChatApp([HttpTrigger(AuthorizationLevel.Anonymous, "put", Route = "api/wechat-apps/{appId}")] HttpRequest request) =>
        api.RunAsync(request, "PUT api/wechat-apps/{appId}");

    [Function("WeChatVerifyUrl")]
    public Task WeChatVerifyUrl([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "api/wechat/{tenant}/{appId}")] HttpRequest request) =>
        api.RunAsync(request, "GET api/wechat/{tenant}/{appId}");

    [Function("WeChatPush")]
    public Task WeChatPush([HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "api/wechat/{tenant}/{appId}")] HttpRequest request) =>
        api.RunAsync(request, "POST api/wechat/{tenant}/{appId}");
}
