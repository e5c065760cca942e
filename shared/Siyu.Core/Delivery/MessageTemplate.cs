using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Siyu.Core.Consent;

namespace Siyu.Core.Delivery;

/// <summary>A variable a message template needs, with the text used when a send leaves it empty.</summary>
public sealed record TemplateVariable(string Name, string? Default);

/// <summary>
/// A brand's message template: which channel and provider template it goes out as, for what purpose and topic, the
/// provider's fields with <c>{{variable}}</c> placeholders, and the variables a send fills in. Journeys and campaigns
/// name a template and supply its variables; a variable without a default that a send does not supply is refused
/// when the journey is published or the campaign created, so no message goes out with a hole in it. Content is the
/// provider template's own text as the provider approved it (an Aliyun or Tencent SMS template), for people and for
/// the marketing SMS rule (<see cref="SmsOptOut"/>).
/// </summary>
public sealed record MessageTemplate(
    string Id,
    string Channel,
    string Purpose,
    string? Topic,
    bool Personalised,
    string? AppId,
    string ProviderTemplate,
    string? ContactChannel,
    string? Link,
    IReadOnlyDictionary<string, string> Fields,
    IReadOnlyList<TemplateVariable> Variables,
    string? Content = null)
{
    /// <summary>The consent channel that governs this template: its own, or for a webhook the one the receiving system uses.</summary>
    public string ConsentChannel => Channel == MessageTemplates.Webhook ? ContactChannel ?? ConsentVocabulary.AllChannels : Channel;
}

/// <summary>Parsing, checking and filling in message templates. Pure.</summary>
public static partial class MessageTemplates
{
    public const string Webhook = "webhook";
    public const int MaxFields = 20;
    public const int MaxFieldLength = 1000;
    /// <summary>An email's html and text bodies may be longer than any other field (the whole template is at most 64 KB).</summary>
    public const int MaxEmailBodyLength = 60_000;
    public const int MaxVariables = 30;

    /// <summary>Channels a template (and so a send) can use: every consent channel but "all", and webhook.</summary>
    public static readonly IReadOnlyList<string> Channels =
        ConsentVocabulary.Channels.Where(c => c != ConsentVocabulary.AllChannels).Append(Webhook).ToList();

    public static bool IsWeChat(string channel) => channel is ConsentVocabulary.WeChatOfficialAccount or ConsentVocabulary.MiniProgramSubscribe;

    [GeneratedRegex(@"\{\{\s*([^{}]*?)\s*\}\}")]
    private static partial Regex Placeholder();

    [GeneratedRegex(@"^[A-Za-z][A-Za-z0-9_]{0,31}\z")]
    private static partial Regex VariableName();

    [GeneratedRegex(@"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}\z")]
    private static partial Regex FieldName();

    private static readonly string[] Known = ["channel", "purpose", "topic", "personalised", "appId", "providerTemplate", "contactChannel", "link", "fields", "variables", "content"];
    public const int MaxContentLength = 1000;

    /// <summary>Reads a template; every problem is added to <paramref name="errors"/> with its field.</summary>
    public static MessageTemplate? Parse(string id, JsonObject? doc, List<(string Field, string Message)> errors)
    {
        if (doc is null) { errors.Add(("", "a template is a JSON object")); return null; }
        foreach (var (k, _) in doc)
            if (!Known.Contains(k)) errors.Add((k, $"unknown field '{k}'; a template has {string.Join(", ", Known)}"));

        var channel = Text(doc, "channel", errors, required: true);
        if (channel is not null && !Channels.Contains(channel)) errors.Add(("channel", $"unknown channel '{channel}'; use one of {string.Join(", ", Channels)}"));
        var purpose = Text(doc, "purpose", errors) ?? ConsentVocabulary.Marketing;
        if (!ConsentVocabulary.IsPurpose(purpose) || ConsentVocabulary.IsSensitive(purpose) || purpose == ConsentVocabulary.Analytics)
            errors.Add(("purpose", $"'{purpose}' is not a purpose messages are sent for; use marketing or personalisation"));
        var topic = Text(doc, "topic", errors);
        if (topic is not null && (topic.Length is 0 or > Preferences.MaxTopicLength)) errors.Add(("topic", $"a topic is 1-{Preferences.MaxTopicLength} characters"));
        var personalised = false;
        if (doc["personalised"] is { } p)
        {
            if (p.GetValueKind() is System.Text.Json.JsonValueKind.True or System.Text.Json.JsonValueKind.False) personalised = p.GetValue<bool>();
            else errors.Add(("personalised", "must be true or false"));
        }
        var appId = Text(doc, "appId", errors);
        if (channel is not null && IsWeChat(channel) && string.IsNullOrWhiteSpace(appId)) errors.Add(("appId", "a WeChat template names the app (appId) it is sent from"));
        var providerTemplate = Text(doc, "providerTemplate", errors, required: channel != Webhook);
        if (providerTemplate is { Length: > 128 }) errors.Add(("providerTemplate", "at most 128 characters"));
        var contactChannel = Text(doc, "contactChannel", errors);
        if (channel == Webhook)
        {
            if (contactChannel is null) errors.Add(("contactChannel", "a webhook template names the channel the receiving system contacts the person on (its consent is checked)"));
            else if (!ConsentVocabulary.IsChannel(contactChannel)) errors.Add(("contactChannel", $"unknown channel '{contactChannel}'"));
        }
        else if (contactChannel is not null) errors.Add(("contactChannel", "only webhook templates name a contact channel"));
        var link = Text(doc, "link", errors);

        var variables = new List<TemplateVariable>();
        if (doc["variables"] is JsonObject vars)
        {
            if (vars.Count > MaxVariables) errors.Add(("variables", $"at most {MaxVariables} variables"));
            foreach (var (name, spec) in vars)
            {
                if (!VariableName().IsMatch(name)) { errors.Add(($"variables.{name}", "a variable name is a letter then up to 31 letters, digits or _")); continue; }
                string? fallback = null;
                if (spec is JsonObject s)
                {
                    foreach (var (k, _) in s) if (k != "default") errors.Add(($"variables.{name}.{k}", "a variable has only 'default'"));
                    if (s["default"] is JsonValue dv && dv.TryGetValue<string>(out var d)) fallback = d;
                    else if (s["default"] is not null) errors.Add(($"variables.{name}.default", "must be text"));
                }
                else if (spec is not null) errors.Add(($"variables.{name}", "a variable is an object, e.g. {} or {\"default\": \"friend\"}"));
                variables.Add(new TemplateVariable(name, fallback));
            }
        }
        else if (doc["variables"] is not null) errors.Add(("variables", "must be an object of variable names"));

        var fields = new Dictionary<string, string>(StringComparer.Ordinal);
        if (doc["fields"] is JsonObject fs)
        {
            if (fs.Count > MaxFields) errors.Add(("fields", $"at most {MaxFields} fields"));
            foreach (var (name, value) in fs)
            {
                if (!FieldName().IsMatch(name)) { errors.Add(($"fields.{name}", "a field name is 1-64 letters, digits, _ . or -")); continue; }
                if (value is not JsonValue v || !v.TryGetValue<string>(out var text)) { errors.Add(($"fields.{name}", "must be text")); continue; }
                var max = channel == "email" && name is "html" or "text" ? MaxEmailBodyLength : MaxFieldLength;
                if (text.Length > max) errors.Add(($"fields.{name}", $"at most {max} characters"));
                fields[name] = text;
            }
        }
        else errors.Add(("fields", "fields are required: the provider template's fields and their text"));

        var declared = variables.Select(v => v.Name).ToHashSet(StringComparer.Ordinal);
        foreach (var (name, text) in fields.Select(f => ($"fields.{f.Key}", f.Value)).Append(("link", link ?? "")))
            foreach (var reference in References(text))
                if (!declared.Contains(reference)) errors.Add((name, $"'{{{{{reference}}}}}' is not one of the template's variables"));

        var content = Text(doc, "content", errors);
        if (content is { Length: > MaxContentLength }) errors.Add(("content", $"at most {MaxContentLength} characters"));
        // A marketing SMS tells people how to refuse more: in the provider's template text, or where none is given, in its fields.
        if (channel == "sms" && purpose == ConsentVocabulary.Marketing && !SmsOptOut.HasInstruction(content ?? string.Join("\n", fields.Values)))
            errors.Add((content is null ? "fields" : "content", "a marketing SMS must tell people how to opt out, e.g. '回T退订' or '拒收请回复R'"));

        if (errors.Count > 0 || channel is null) return null;
        return new MessageTemplate(id, channel, purpose, topic, personalised, appId, providerTemplate ?? "", contactChannel, link, fields, variables, content);
    }

    /// <summary>The variables referenced in a field's text.</summary>
    public static IEnumerable<string> References(string text) => Placeholder().Matches(text).Select(m => m.Groups[1].Value);

    /// <summary>
    /// What is wrong with a send of <paramref name="template"/> on <paramref name="channel"/> that supplies the variables
    /// <paramref name="supplied"/>: a channel that is not the template's, a variable without default left out, a variable
    /// the template does not have. Empty when the send is complete.
    /// </summary>
    public static IReadOnlyList<string> CheckSend(MessageTemplate template, string? channel, IEnumerable<string> supplied)
    {
        var problems = new List<string>();
        if (channel is not null && channel != template.Channel)
            problems.Add($"template '{template.Id}' is for {template.Channel}, not {channel}");
        var given = supplied.ToHashSet(StringComparer.Ordinal);
        foreach (var v in template.Variables)
            if (v.Default is null && !given.Contains(v.Name)) problems.Add($"variable '{v.Name}' of template '{template.Id}' is not supplied and has no default");
        foreach (var name in given.Where(n => template.Variables.All(v => v.Name != n)))
            problems.Add($"template '{template.Id}' has no variable '{name}'");
        return problems;
    }

    /// <summary>
    /// The provider fields and link with the variables filled in. A variable left empty takes its default; one with
    /// neither a value nor a default is named in <paramref name="missing"/> and nothing is rendered.
    /// </summary>
    public static bool TryRender(MessageTemplate template, IReadOnlyDictionary<string, string> values, out Dictionary<string, string> fields,
        out string? link, out string? missing)
    {
        var resolved = new Dictionary<string, string>(StringComparer.Ordinal);
        fields = new Dictionary<string, string>(StringComparer.Ordinal);
        link = null;
        missing = null;
        foreach (var v in template.Variables)
        {
            var value = values.GetValueOrDefault(v.Name);
            if (string.IsNullOrEmpty(value)) value = v.Default;
            if (value is null) { missing = v.Name; return false; }
            resolved[v.Name] = value;
        }
        string Fill(string text) => Placeholder().Replace(text, m => resolved.GetValueOrDefault(m.Groups[1].Value, ""));
        foreach (var (name, text) in template.Fields) fields[name] = Fill(text);
        link = template.Link is null ? null : Fill(template.Link);
        return true;
    }

    private static string? Text(JsonObject doc, string name, List<(string, string)> errors, bool required = false)
    {
        var node = doc[name];
        if (node is null)
        {
            if (required) errors.Add((name, $"{name} is required"));
            return null;
        }
        if (node is JsonValue v && v.TryGetValue<string>(out var s)) return s.Trim();
        errors.Add((name, $"{name} must be text"));
        return null;
    }
}
