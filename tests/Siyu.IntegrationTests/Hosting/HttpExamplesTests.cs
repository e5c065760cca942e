using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Siyu.IntegrationTests.Infrastructure;

namespace Siyu.IntegrationTests.Hosting;

/// <summary>
/// functions/Siyu.Functions.http, as a newcomer runs it on the first run: every request in order against the freshly
/// seeded demo tenant, with the keys the run keeps, must succeed; only a request marked "# expect NNN" may answer an
/// error, and then exactly that one.
/// </summary>
public sealed partial class HttpExamplesTests(DemoApp app) : IClassFixture<DemoApp>
{
    [Fact]
    public async Task Every_example_request_works_on_the_first_run_in_order()
    {
        var text = File.ReadAllText(Path.Combine(Root(), "functions", "Siyu.Functions.http"));
        var file = HttpFile.Parse(text);
        // Every request line of the file was read as a request.
        Assert.Equal(RequestLine().Matches(text).Count, file.Requests.Count);
        var keys = app.KeptKeys();
        var variables = new Dictionary<string, string>(file.Variables)
        {
            ["base"] = "",
            ["operatorKey"] = app.OperatorKey,
            ["ingestKey"] = keys["ingest"],
            ["marketerKey"] = keys["marketer"],
            ["adminKey"] = keys["admin"],
        };
        var answers = new Dictionary<string, JsonElement>();
        var client = app.CreateClient();

        foreach (var request in file.Requests)
        {
            var url = Substitute(request.Url, variables, answers);
            using var message = new HttpRequestMessage(new HttpMethod(request.Method), url);
            var contentType = "application/json";
            foreach (var (name, raw) in request.Headers)
            {
                var value = Substitute(raw, variables, answers);
                Assert.DoesNotContain("{{", value);
                if (name.Equals("Content-Type", StringComparison.OrdinalIgnoreCase)) contentType = value;
                else message.Headers.TryAddWithoutValidation(name, value);
            }
            if (request.Body.Length > 0) message.Content = new StringContent(Substitute(request.Body, variables, answers), Encoding.UTF8, contentType);
            Assert.DoesNotContain("{{", url);

            using var response = await client.SendAsync(message);
            var body = await response.Content.ReadAsStringAsync();
            var status = (int)response.StatusCode;
            var what = $"{request.Title}: {request.Method} {url} answered {status} {body}";
            if (request.Expect is { } expected) Assert.True(status == expected, $"expected {expected}; {what}");
            else Assert.True(status < 400, what);
            if (request.Name is { } named) answers[named] = JsonDocument.Parse(body).RootElement.Clone();
        }

        // The welcome journey's SMS reaches the fake provider, and nobody got any message twice.
        // Event → profile → journey → delivery → provider: under a full test run's load this can take longer than the usual wait.
        await Eventually.Get(() => Task.FromResult(app.Fake.AcceptedFor("+8613600136000")), n => n == 1, TimeSpan.FromSeconds(60), "the welcome SMS");
        Assert.Equal(1, app.Fake.Stats().MaxPerRecipient);
    }

    /// <summary>Replaces {{name}} by a file variable and {{request.response.body.$.path}} by a value of a named request's answer;
    /// anything else (a message template's own {{placeholders}}) is left as it is.</summary>
    private static string Substitute(string text, IReadOnlyDictionary<string, string> variables, IReadOnlyDictionary<string, JsonElement> answers) =>
        Placeholder().Replace(text, m =>
        {
            var name = m.Groups[1].Value.Trim();
            if (variables.TryGetValue(name, out var value)) return Substitute(value, variables, answers);
            var reference = ResponseReference().Match(name);
            if (!reference.Success || !answers.TryGetValue(reference.Groups[1].Value, out var answer)) return m.Value;
            foreach (var step in reference.Groups[2].Value.Split('.'))
                answer = answer.ValueKind == JsonValueKind.Array ? answer[int.Parse(step, System.Globalization.CultureInfo.InvariantCulture)] : answer.GetProperty(step);
            return answer.ValueKind == JsonValueKind.String ? answer.GetString()! : answer.GetRawText();
        });

    [GeneratedRegex(@"^(GET|POST|PUT|PATCH|DELETE) ", RegexOptions.Multiline)]
    private static partial Regex RequestLine();

    [GeneratedRegex(@"\{\{([^{}]+)\}\}")]
    private static partial Regex Placeholder();

    [GeneratedRegex(@"^(\w+)\.response\.body\.\$\.(.+)$")]
    private static partial Regex ResponseReference();

    private static string Root()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "functions", "Siyu.Functions.http"))) return dir.FullName;
        throw new InvalidOperationException("repository root not found");
    }

    [Fact]
    public void The_parser_reads_names_expectations_headers_and_bodies()
    {
        var file = HttpFile.Parse("""
            @base = http://127.0.0.1:7071
            @key = k1

            ### First
            # @name first
            POST {{base}}/api/x HTTP/1.1
            Authorization: Bearer {{key}}
            Content-Type: application/json

            { "a": 1 }

            ### Second
            # expect 401: on purpose
            GET {{base}}/api/y/{{first.response.body.$.id}}
            """);

        Assert.Equal(new Dictionary<string, string> { ["base"] = "http://127.0.0.1:7071", ["key"] = "k1" }, file.Variables);
        var (first, second) = (file.Requests[0], file.Requests[1]);
        Assert.Equal(("First", "first", (int?)null, "POST", "{{base}}/api/x", "{ \"a\": 1 }"), (first.Title, first.Name, first.Expect, first.Method, first.Url, first.Body));
        Assert.Equal(new[] { ("Authorization", "Bearer {{key}}"), ("Content-Type", "application/json") }, first.Headers);
        Assert.Equal(("Second", (string?)null, (int?)401, "GET", ""), (second.Title, second.Name, second.Expect, second.Method, second.Body));
        using var answer = JsonDocument.Parse("""{ "id": "p1" }""");
        Assert.Equal("/api/y/p1", Substitute(second.Url, new Dictionary<string, string> { ["base"] = "" },
            new Dictionary<string, JsonElement> { ["first"] = answer.RootElement }));
        Assert.Equal("{{product}} stays", Substitute("{{product}} stays", new Dictionary<string, string>(), new Dictionary<string, JsonElement>()));
    }
}

/// <summary>The parts of the .http format the example file uses: file variables, ### separated requests, # @name and # expect.</summary>
public sealed partial record HttpFile(IReadOnlyDictionary<string, string> Variables, IReadOnlyList<HttpFile.Request> Requests)
{
    public sealed record Request(string Title, string? Name, int? Expect, string Method, string Url, IReadOnlyList<(string Name, string Value)> Headers, string Body);

    public static HttpFile Parse(string text)
    {
        var chunks = Separator().Split(text.ReplaceLineEndings("\n"));
        var variables = new Dictionary<string, string>();
        foreach (var line in chunks[0].Split('\n'))
            if (FileVariable().Match(line) is { Success: true } m) variables[m.Groups[1].Value] = m.Groups[2].Value.Trim();

        var requests = new List<Request>();
        foreach (var chunk in chunks.Skip(1))
        {
            var lines = chunk.Split('\n');
            var title = lines[0].TrimStart('#').Trim();
            string? name = null;
            int? expect = null;
            var i = 1;
            for (; i < lines.Length && (lines[i].Trim().Length == 0 || lines[i].TrimStart().StartsWith('#')); i++)
            {
                if (NameComment().Match(lines[i]) is { Success: true } n) name = n.Groups[1].Value;
                if (ExpectComment().Match(lines[i]) is { Success: true } e) expect = int.Parse(e.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
            }
            if (i == lines.Length) continue;
            var requestLine = lines[i++].Trim().Split(' ', StringSplitOptions.RemoveEmptyEntries);
            var headers = new List<(string, string)>();
            for (; i < lines.Length && lines[i].Trim().Length > 0; i++)
            {
                var colon = lines[i].IndexOf(':');
                headers.Add((lines[i][..colon].Trim(), lines[i][(colon + 1)..].Trim()));
            }
            var body = string.Join('\n', lines.Skip(i)).Trim();
            requests.Add(new Request(title, name, expect, requestLine[0], requestLine[1], headers, body));
        }
        return new HttpFile(variables, requests);
    }

    [GeneratedRegex(@"^(?=###)", RegexOptions.Multiline)]
    private static partial Regex Separator();

    [GeneratedRegex(@"^@(\w+)\s*=\s*(.*)$")]
    private static partial Regex FileVariable();

    [GeneratedRegex(@"^\s*#\s*@name\s+(\w+)")]
    private static partial Regex NameComment();

    [GeneratedRegex(@"^\s*#\s*expect\s+(\d{3})\b")]
    private static partial Regex ExpectComment();
}
