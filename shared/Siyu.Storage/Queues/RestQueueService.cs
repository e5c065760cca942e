using System.Collections.Concurrent;
using System.Net;
using Azure.Core;
using Azure.Core.Pipeline;
using Siyu.Storage.Account;

namespace Siyu.Storage.Queues;

/// <summary>
/// Options for <see cref="RestQueueService"/>: Azure.Core's <see cref="ClientOptions"/> (retry, diagnostics,
/// transport) plus the connection pool of the default transport.
/// </summary>
public sealed class RestQueueServiceOptions : ClientOptions
{
    /// <summary>
    /// The Queue service REST version sent as x-ms-version. 2024-11-04 is accepted by the real service and by
    /// Azurite 3.37 without --skipApiVersionCheck.
    /// </summary>
    public const string ServiceVersion = "2024-11-04";

    /// <summary>
    /// Connections the default transport may open to the queue endpoint at once. Listeners and ingestion share one
    /// service, so this is generous; each in-flight request needs its own HTTP/1.1 connection.
    /// </summary>
    public int MaxConnectionsPerServer { get; set; } = 1024;

    /// <summary>How long a pooled connection is reused before it is replaced (so DNS changes are picked up).</summary>
    public TimeSpan PooledConnectionLifetime { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>
    /// Drop pooled connections idle this long. Below Azurite's 5 s keep-alive, so we never reuse a connection the
    /// server has closed: such a reuse fails, and Azure.Core's retry backoff then stalls the request by seconds.
    /// </summary>
    public TimeSpan PooledConnectionIdleTimeout { get; set; } = TimeSpan.FromSeconds(4);

    public RestQueueServiceOptions()
    {
        // Puts sit on acknowledgement paths (a WeChat push waits for one): retry a failed try within milliseconds,
        // not after Azure.Core's default 0.8 s first backoff.
        Retry.Mode = RetryMode.Exponential;
        Retry.Delay = TimeSpan.FromMilliseconds(50);
        Retry.MaxDelay = TimeSpan.FromSeconds(2);
        Retry.MaxRetries = 5;
        foreach (var header in new[] { "x-ms-request-id", "x-ms-error-code", "x-ms-version", "x-ms-date", "x-ms-approximate-messages-count", "x-ms-time-next-visible" })
            Diagnostics.LoggedHeaderNames.Add(header);
        foreach (var parameter in new[] { "comp", "numofmessages", "peekonly", "visibilitytimeout", "messagettl" })
            Diagnostics.LoggedQueryParameters.Add(parameter);
    }
}

/// <summary>
/// <see cref="IQueueService"/> over the Queue service REST API on an Azure.Core <see cref="HttpPipeline"/>: Shared Key
/// signing when the account has a name and key (Azurite, connection strings), or Entra ID bearer tokens
/// (scope https://storage.azure.com/.default) when it has a <see cref="StorageAccount.Credential"/>. One instance per
/// account for the process (register as a singleton); it owns its connection pool.
/// </summary>
public sealed class RestQueueService : IQueueService, IDisposable
{
    private const string StorageScope = "https://storage.azure.com/.default";

    private readonly HttpPipeline _pipeline;
    private readonly HttpPipelineTransport? _ownedTransport;
    private readonly string _endpoint;
    private readonly ConcurrentDictionary<string, RestMessageQueue> _queues = new(StringComparer.Ordinal);

    public RestQueueService(StorageAccount account, RestQueueServiceOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(account);
        options ??= new RestQueueServiceOptions();

        HttpPipelinePolicy authentication;
        if (account.Credential is not null)
        {
            // Azure.Core refuses bearer tokens over plain http; managed identity is for https endpoints.
            authentication = new BearerTokenAuthenticationPolicy(account.Credential, StorageScope);
        }
        else if (!string.IsNullOrEmpty(account.AccountName) && !string.IsNullOrEmpty(account.AccountKey))
        {
            authentication = new QueueSharedKeyPolicy(account.AccountName, account.AccountKey);
        }
        else
        {
            throw new InvalidOperationException("The storage account has neither a token credential nor an account name and key.");
        }

        // Our own pooled transport unless the caller supplied one. The options object is left as it was given, so it
        // can be reused for another service without sharing (and later disposing) this one's connection pool.
        var callerTransport = options.Transport;
        if (ReferenceEquals(callerTransport, HttpClientTransport.Shared))
        {
            _ownedTransport = new HttpClientTransport(new SocketsHttpHandler
            {
                MaxConnectionsPerServer = options.MaxConnectionsPerServer,
                PooledConnectionLifetime = options.PooledConnectionLifetime,
                PooledConnectionIdleTimeout = options.PooledConnectionIdleTimeout,
                AutomaticDecompression = DecompressionMethods.None,
                AllowAutoRedirect = false,
                UseCookies = false,
            });
            options.Transport = _ownedTransport;
        }
        try
        {
            _pipeline = HttpPipelineBuilder.Build(new HttpPipelineOptions(options)
            {
                PerCallPolicies = { StorageRequestMeter.Instance },
                PerRetryPolicies = { StorageDatePolicy.Instance, authentication },
                RequestFailedDetailsParser = QueueErrorParser.Instance,
            });
        }
        finally
        {
            options.Transport = callerTransport;
        }
        _endpoint = account.QueueEndpoint.AbsoluteUri.TrimEnd('/');
    }

    public IMessageQueue Queue(string name)
    {
        if (_queues.TryGetValue(name ?? throw new ArgumentNullException(nameof(name)), out var queue)) return queue;
        ValidateQueueName(name);
        return _queues.GetOrAdd(name, static (n, self) => new RestMessageQueue(self._pipeline, self._endpoint, n), this);
    }

    /// <summary>True when this service created (and will dispose) its own pooled transport.</summary>
    internal bool OwnsTransport => _ownedTransport is not null;

    public void Dispose() => (_ownedTransport as IDisposable)?.Dispose();

    /// <summary>3–63 characters of lowercase letters, digits and dashes; starts and ends with a letter or digit; no "--".</summary>
    internal static void ValidateQueueName(string name)
    {
        var valid = name.Length is >= 3 and <= 63 && name[0] != '-' && name[^1] != '-' && !name.Contains("--", StringComparison.Ordinal);
        if (valid)
        {
            foreach (var c in name)
            {
                if (c is (>= 'a' and <= 'z') or (>= '0' and <= '9') or '-') continue;
                valid = false;
                break;
            }
        }
        if (!valid)
            throw new ArgumentException(
                $"'{name}' is not a valid queue name: use 3 to 63 lowercase letters, digits and single dashes, starting and ending with a letter or digit.",
                nameof(name));
    }
}
