using System.Runtime.InteropServices;
using System.Text.Json;
using System.Text.Unicode;

namespace Siyu.Core.Validation;

/// <summary>
/// Whether every string and property name of a JSON value is text, and no object names a property twice. The JSON
/// parser accepts bytes that are not UTF-8, escapes of a lone surrogate (<c>"\ud800"</c>) and repeated names, and
/// only fails when the string is read or the object is built; a body is checked here once, as it is read, so nothing
/// after it meets such a string or object.
/// </summary>
public static class JsonText
{
    public const string Code = "invalid_text";
    public const string DuplicateCode = "duplicate_property";
    private const string NotText = "is not text: it holds bytes that are not UTF-8, or an escaped lone surrogate such as \\ud800";

    /// <summary>Adds an error for each string or property name under <paramref name="element"/> that is not text (at most <paramref name="max"/> in all).</summary>
    public static void Check(JsonElement element, string path, List<FieldError> errors, int max = 20)
    {
        if (errors.Count >= max) return;
        switch (element.ValueKind)
        {
            case JsonValueKind.String:
                if (!IsText(element)) errors.Add(new FieldError(path, Code, "the string " + NotText));
                break;
            case JsonValueKind.Object:
                HashSet<string>? names = null;
                foreach (var property in element.EnumerateObject())
                {
                    if (errors.Count >= max) return;
                    string name;
                    try { name = property.Name; }
                    catch (InvalidOperationException)
                    {
                        errors.Add(new FieldError(path, Code, "a property name " + NotText));
                        continue;
                    }
                    if (!(names ??= new HashSet<string>(StringComparer.Ordinal)).Add(name))
                        errors.Add(new FieldError(FieldError.Member(path, name), DuplicateCode, "the object names this property twice"));
                    Check(property.Value, FieldError.Member(path, name), errors, max);
                }
                break;
            case JsonValueKind.Array:
                var i = 0;
                foreach (var item in element.EnumerateArray())
                {
                    if (errors.Count >= max) return;
                    Check(item, FieldError.Item(path, i++), errors, max);
                }
                break;
        }
    }

    /// <summary>The first string or property name under <paramref name="element"/> that is not text, or null.</summary>
    public static FieldError? FirstProblem(JsonElement element, string path)
    {
        var errors = new List<FieldError>(1);
        Check(element, path, errors, max: 1);
        return errors.Count == 0 ? null : errors[0];
    }

    private static bool IsText(JsonElement s)
    {
        var raw = JsonMarshal.GetRawUtf8Value(s);
        raw = raw[1..^1]; // the quotes
        // Without escapes the bytes are the text; with them, reading the string is the check.
        if (raw.IndexOf((byte)'\\') < 0) return Utf8.IsValid(raw);
        try { _ = s.GetString(); return true; }
        catch (InvalidOperationException) { return false; }
    }
}
