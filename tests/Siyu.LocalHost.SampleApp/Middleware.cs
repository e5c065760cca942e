using Microsoft.AspNetCore.Http;
using Microsoft.Azure.Functions.Worker;
using Microsoft.Azure.Functions.Worker.Middleware;

namespace Siyu.LocalHost.SampleApp;

public sealed class RefusedException(string code) : Exception("refused: " + code)
{
    public string Code { get; } = code;
}

/// <summary>Notes every invocation it sees, whatever its trigger.</summary>
public sealed class JournalMiddleware(Journal journal) : IFunctionsWorkerMiddleware
{
    public Task Invoke(FunctionContext context, FunctionExecutionDelegate next)
    {
        journal.Middleware.Enqueue(context.FunctionDefinition.Name);
        return next(context);
    }
}

/// <summary>A refusal thrown by a function becomes a problem+json answer, set as the invocation's result.</summary>
public sealed class ProblemMiddleware : IFunctionsWorkerMiddleware
{
    public async Task Invoke(FunctionContext context, FunctionExecutionDelegate next)
    {
        try
        {
            await next(context);
        }
        catch (RefusedException refused)
        {
            context.GetInvocationResult().Value = Results.Problem(statusCode: 422, title: "Refused",
                extensions: new Dictionary<string, object?> { ["code"] = refused.Code });
        }
    }
}
