using System.Text.Json;
using System.Text.RegularExpressions;

namespace Siyu.Core.Validation;

/// <summary>
/// One problem with what a client sent, in the one shape every error list of the API has: where it is (a path into
/// the body, such as <c>nodes.welcome.template</c> or <c>batch[3].timestamp</c>; empty for the body as a whole), a
/// stable <see cref="Code"/> to branch on, and a message for people.
/// </summary>
public sealed partial record FieldError(string Path, string Code, string Message)
{
    /// <summary>
    /// A rule checker's "path: message" text (how the core's document checkers word their problems) as an error with
    /// <paramref name="code"/>; text without a leading path is about the document as a whole.
    /// </summary>
    public static FieldError FromText(string text, string code)
    {
        var colon = text.IndexOf(": ", StringComparison.Ordinal);
        return colon > 0 && PathText().IsMatch(text.AsSpan(0, colon))
            ? new FieldError(text[..colon], code, text[(colon + 2)..])
            : new FieldError("", code, text);
    }

    public static IReadOnlyList<FieldError> FromTexts(IEnumerable<string> texts, string code) => texts.Select(t => FromText(t, code)).ToList();

    /// <summary>(field, message) pairs, as the template, campaign and preference checkers give them.</summary>
    public static IReadOnlyList<FieldError> FromFields(IEnumerable<(string Field, string Message)> fields, string code) =>
        fields.Select(f => new FieldError(f.Field, code, f.Message)).ToList();

    /// <summary>The path of member <paramref name="name"/> of the value at <paramref name="parent"/>.</summary>
    public static string Member(string parent, string name) =>
        PlainName().IsMatch(name) ? (parent.Length == 0 ? name : parent + "." + name) : parent + "[" + JsonSerializer.Serialize(name) + "]";

    /// <summary>The path of item <paramref name="index"/> of the array at <paramref name="parent"/>.</summary>
    public static string Item(string parent, int index) => $"{parent}[{index}]";

    /// <summary>"path: message" for people (detail lines, logs).</summary>
    public override string ToString() => Path.Length == 0 ? Message : $"{Path}: {Message}";

    [GeneratedRegex(@"^[A-Za-z_][A-Za-z0-9_]*$")]
    private static partial Regex PlainName();

    [GeneratedRegex(@"^[A-Za-z_$][\w\-]*(\.[\w\-]+|\[\d+\])*$")]
    private static partial Regex PathText();
}
