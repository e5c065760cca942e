using Cronos;
using Microsoft.Azure.Functions.Worker;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;

namespace Siyu.LocalHost;

/// <summary>
/// One timer trigger on its NCRONTAB schedule (six fields, seconds first, as the Functions host reads it; five fields
/// are taken as minutes first; <c>%Setting%</c> is resolved from the app settings), in UTC. <c>runOnStartup</c> fires it
/// once at start. Like the host, a run that is still going when the next is due delays that one (no overlap); unlike
/// the host, there is no singleton lock across instances: this host is one instance.
/// </summary>
internal sealed class TimerTrigger(FunctionInvoker invoker, CronExpression schedule, bool runOnStartup, TimeProvider clock, ILogger log)
{
    public string Name => invoker.Function.Name;

    public static TimerTrigger Create(FunctionInvoker invoker, IConfiguration config, TimeProvider clock, ILogger log)
    {
        var trigger = invoker.Function.Trigger;
        var text = Settings.Resolve(trigger.Text("schedule") ?? throw new InvalidOperationException($"{invoker.Function.Name}: no schedule"), config);
        var fields = text.Split(' ', StringSplitOptions.RemoveEmptyEntries).Length;
        var schedule = CronExpression.Parse(text, fields == 6 ? CronFormat.IncludeSeconds : CronFormat.Standard);
        return new TimerTrigger(invoker, schedule, trigger.Flag("runOnStartup"), clock, log);
    }

    public async Task RunAsync(CancellationToken stop)
    {
        var last = clock.GetUtcNow();
        if (runOnStartup) await FireAsync(last, null, stop);
        while (!stop.IsCancellationRequested)
        {
            var next = schedule.GetNextOccurrence(clock.GetUtcNow(), TimeZoneInfo.Utc);
            if (next is null) return;
            var wait = next.Value - clock.GetUtcNow();
            if (wait > TimeSpan.Zero) await Task.Delay(wait, clock, stop).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            if (stop.IsCancellationRequested) return;
            await FireAsync(last, next.Value, stop);
            last = next.Value;
        }
    }

    private async Task FireAsync(DateTimeOffset last, DateTimeOffset? due, CancellationToken stop)
    {
        var now = clock.GetUtcNow();
        var info = new TimerInfo
        {
            IsPastDue = due is { } d && now - d > TimeSpan.FromSeconds(1),
            ScheduleStatus = new ScheduleStatus
            {
                Last = last.UtcDateTime,
                Next = schedule.GetNextOccurrence(now, TimeZoneInfo.Utc)?.UtcDateTime ?? DateTime.MaxValue,
                LastUpdated = now.UtcDateTime,
            },
        };
        try
        {
            await invoker.InvokeAsync(new Invocation(type => type == typeof(TimerInfo) ? info : null, new Dictionary<string, object?>()), null, stop);
        }
        catch (Exception e) when (!stop.IsCancellationRequested)
        {
            log.LogError(e, "Timer function {Function} failed: {Reason}", Name, e.Message);
        }
    }
}
