using System.Text.Json;
using System.Text.Json.Nodes;

namespace Siyu.LocalHost;

/// <summary>
/// The app settings <c>func start</c> gives the worker from <c>local.settings.json</c>: its <c>Values</c> (passed as
/// environment variables, so <c>A__B</c> is <c>A:B</c>) and its <c>ConnectionStrings</c> (as <c>ConnectionStrings:name</c>).
/// </summary>
public static class LocalSettings
{
    public const string FileName = "local.settings.json";

    /// <summary>The settings in <paramref name="folder"/>'s local.settings.json; none when it has none.</summary>
    public static Dictionary<string, string?> Read(string folder)
    {
        var path = Path.Combine(folder, FileName);
        return File.Exists(path) ? Parse(File.ReadAllText(path)) : [];
    }

    public static Dictionary<string, string?> Parse(string json)
    {
        var root = JsonNode.Parse(json, documentOptions: new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true })!.AsObject();
        var settings = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase);
        if (root["Values"] is JsonObject values)
            foreach (var (key, value) in values) settings[key.Replace("__", ":", StringComparison.Ordinal)] = Text(value);
        if (root["ConnectionStrings"] is JsonObject connections)
            foreach (var (key, value) in connections) settings["ConnectionStrings:" + key] = Text(value);
        return settings;
    }

    private static string? Text(JsonNode? value) => value is JsonValue v && v.TryGetValue<string>(out var s) ? s : value?.ToJsonString();
}
