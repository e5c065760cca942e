using System.Collections.Concurrent;

namespace Siyu.Storage.Caching;

/// <summary>
/// A thread-safe cache with a size bound and an optional time-to-live. When full, it drops an arbitrary tenth of
/// its entries: cheap, and good enough for caches whose misses cost one storage read.
/// </summary>
public sealed class BoundedCache<TKey, TValue>(int capacity, TimeProvider clock, TimeSpan? timeToLive = null) where TKey : notnull
{
    private readonly ConcurrentDictionary<TKey, (TValue Value, long Expires)> _entries = new();

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

    /// <summary>The cached value, or the loaded one (then cached). Concurrent misses may load twice; that is fine here.</summary>
    public async Task<TValue> GetOrAddAsync(TKey key, Func<TKey, Task<TValue>> load)
    {
        if (TryGet(key, out var cached)) return cached;
        var value = await load(key);
        Set(key, value);
        return value;
    }

    public void Remove(TKey key) => _entries.TryRemove(key, out _);

    public void Clear() => _entries.Clear();

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
