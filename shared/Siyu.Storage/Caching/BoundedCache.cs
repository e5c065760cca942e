using System.Collections.Concurrent;

namespace Siyu.Storage.Caching;

/// <summary>
/// A thread-safe cache with a size bound and an optional time-to-live. When full, it drops an arbitrary tenth of
/// its entries: cheap, and good enough for caches whose misses cost one storage read.
/// </summary>
public sealed class BoundedCache<TKey, TValue>(int capacity, TimeProvider clock, TimeSpan? timeToLive = null) where TKey : notnull
{
    private readonly ConcurrentDictionary<TKey, (TValue Value, long Expires)> _entries = new();
    private readonly ConcurrentDictionary<TKey, Lazy<Task<TValue>>> _loading = new();
    private long _generation;

    public int Count => _entries.Count;

    public bool TryGet(TKey key, out TValue value)
    {
        if (_entries.TryGetValue(key, out var entry) && !Expired(entry.Expires))
        {
            value = entry.Value;
            return true;
        }
        value = default!;
        return false;
    }

    public void Set(TKey key, TValue value)
    {
        if (_entries.Count >= capacity) Trim();
        var expires = timeToLive is { } ttl ? clock.GetTimestamp() + (long)(ttl.TotalSeconds * clock.TimestampFrequency) : long.MaxValue;
        _entries[key] = (value, expires);
    }

    /// <summary>
    /// The cached value, or the loaded one (then cached). Concurrent misses of one key share one load: when a short-lived
    /// entry expires under many readers (every send looks at the halt switch), storage sees one read, not one per reader.
    /// </summary>
    public async Task<TValue> GetOrAddAsync(TKey key, Func<TKey, Task<TValue>> load)
    {
        if (TryGet(key, out var cached)) return cached;
        return await _loading.GetOrAdd(key, k => new Lazy<Task<TValue>>(() => LoadAsync(k, load))).Value;
    }

    private async Task<TValue> LoadAsync(TKey key, Func<TKey, Task<TValue>> load)
    {
        var generation = Volatile.Read(ref _generation);
        try
        {
            var value = await load(key);
            // A Remove or Clear while loading means the value may be older than the change that caused it: keep it out.
            if (Volatile.Read(ref _generation) == generation) Set(key, value);
            return value;
        }
        finally { _loading.TryRemove(key, out _); }
    }

    public void Remove(TKey key)
    {
        Interlocked.Increment(ref _generation);
        _entries.TryRemove(key, out _);
    }

    public void Clear()
    {
        Interlocked.Increment(ref _generation);
        _entries.Clear();
    }

    private bool Expired(long expires) => expires != long.MaxValue && clock.GetTimestamp() > expires;

    private void Trim()
    {
        var drop = Math.Max(1, capacity / 10);
        foreach (var key in _entries.Keys)
        {
            if (drop-- <= 0) break;
            _entries.TryRemove(key, out _);
        }
    }
}
