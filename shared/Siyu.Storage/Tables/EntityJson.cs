using System.Text.Json;
using Azure.Data.Tables;

namespace Siyu.Storage.Tables;

/// <summary>
/// JSON documents in table entities. A string property holds at most 32K UTF-16 characters, so a longer document
/// is split over <c>Name</c>, <c>Name_1</c>, <c>Name_2</c>… (an entity holds 1 MiB in all).
/// </summary>
public static class EntityJson
{
    private const int ChunkChars = 30_000;

    public static readonly JsonSerializerOptions Options = Siyu.Core.Events.EventJson.Options;

    public static void Write<T>(TableEntity entity, string name, T value) => WriteText(entity, name, JsonSerializer.Serialize(value, Options));

    public static void WriteText(TableEntity entity, string name, string json)
    {
        var chunks = (json.Length + ChunkChars - 1) / ChunkChars;
        for (var i = 0; i < Math.Max(1, chunks); i++)
        {
            var part = json.Length == 0 ? "" : json.Substring(i * ChunkChars, Math.Min(ChunkChars, json.Length - i * ChunkChars));
            entity[i == 0 ? name : $"{name}_{i}"] = part;
        }
        entity[$"{name}_n"] = Math.Max(1, chunks);
    }

    public static string? ReadText(TableEntity entity, string name)
    {
        if (entity.GetString(name) is not { } first) return null;
        var chunks = entity.GetInt32($"{name}_n") ?? 1;
        if (chunks == 1) return first;
        var parts = new string[chunks];
        parts[0] = first;
        for (var i = 1; i < chunks; i++) parts[i] = entity.GetString($"{name}_{i}") ?? "";
        return string.Concat(parts);
    }

    public static T? Read<T>(TableEntity entity, string name) =>
        ReadText(entity, name) is { } json ? JsonSerializer.Deserialize<T>(json, Options) : default;
}
