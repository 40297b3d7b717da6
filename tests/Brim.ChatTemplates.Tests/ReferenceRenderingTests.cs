using System.Text.Json;
using System.Text.Json.Nodes;

namespace Brim.ChatTemplates.Tests;

/// <summary>
/// Brim must render every fixture template exactly as the reference implementation does. The expected strings in
/// Fixtures/chat-template-expected.json were rendered by @huggingface/jinja 0.5.11 (npm) under Node with
/// scripts/fixtures/chat-templates/render-expected.mjs, from the same inputs and the same fixed clock; rerun that
/// script to regenerate them. Templates: the tokenizer_config.json of four real models (Fixtures/&lt;model&gt;/) and
/// the hand-written ones in Fixtures/templates/.
/// </summary>
public sealed class ReferenceRenderingTests
{
    private static readonly Lazy<JsonObject> Expected = new(() =>
        (JsonObject)JsonNode.Parse(File.ReadAllText(FixturePath("chat-template-expected.json")))!);

    public static TheoryData<string> CaseIds() => new(Ids());

    private static IEnumerable<string> Ids() => Expected.Value["cases"]!.AsArray().Select(entry => entry!["id"]!.GetValue<string>());

    [Fact]
    public void ExpectedFile_CoversEveryTemplateAndTheRequiredScenarios()
    {
        var ids = Ids().ToList();
        Assert.Equal("@huggingface/jinja 0.5.11", Expected.Value["reference"]!.GetValue<string>());
        foreach (string model in new[] { "TinyLlama__TinyLlama-1.1B-Chat-v1.0", "Qwen__Qwen2.5-0.5B-Instruct", "meta-llama__Llama-3.2-1B-Instruct", "mistralai__Mistral-7B-Instruct-v0.3" })
        {
            Assert.Contains($"{model}/multi_turn/gen", ids);
            Assert.Contains($"{model}/content_parts/nogen", ids);
        }

        Assert.Contains("Qwen__Qwen2.5-0.5B-Instruct/tool_calls/gen", ids);
        Assert.Contains("meta-llama__Llama-3.2-1B-Instruct/tool_calls/gen", ids);
        Assert.Contains("mistralai__Mistral-7B-Instruct-v0.3/roles_do_not_alternate/gen", ids);
    }

    [Theory]
    [MemberData(nameof(CaseIds))]
    public void Render_FixtureCase_MatchesReferenceByteForByte(string id)
    {
        JsonNode testCase = Expected.Value["cases"]!.AsArray().Single(c => c!["id"]!.GetValue<string>() == id)!;
        ChatTemplate template = LoadTemplate(testCase);
        var messages = testCase["messages"]!.AsArray().Select(m => ToChatMessage(m!)).ToList();
        var options = new ChatTemplateOptions
        {
            Tools = testCase["tools"]?.DeepClone().AsArray(),
            Variables = testCase["variables"]?.AsObject().ToDictionary(kv => kv.Key, kv => kv.Value?.DeepClone()),
            Now = DateTimeOffset.Parse(Expected.Value["now"]!.GetValue<string>(), System.Globalization.CultureInfo.InvariantCulture),
        };
        bool addGenerationPrompt = testCase["add_generation_prompt"]!.GetValue<bool>();

        if (testCase["expected_error"] is { } error)
        {
            var exception = Assert.Throws<ChatTemplateException>(() => template.Render(messages, addGenerationPrompt, options));
            Assert.Equal(error.GetValue<string>(), exception.Message);
            Assert.True(exception.RaisedByTemplate);
        }
        else
        {
            Assert.Equal(testCase["expected"]!.GetValue<string>(), template.Render(messages, addGenerationPrompt, options));
        }
    }

    private static ChatTemplate LoadTemplate(JsonNode testCase)
    {
        string source = testCase["template"]!.GetValue<string>();
        string path = FixturePath(source);
        return source.EndsWith("tokenizer_config.json", StringComparison.Ordinal)
            ? ChatTemplate.FromTokenizerConfig(path)
            : ChatTemplate.Parse(File.ReadAllText(path), testCase["bos_token"]?.GetValue<string>(), testCase["eos_token"]?.GetValue<string>());
    }

    /// <summary>An OpenAI-style message (as the server would receive it) to a <see cref="ChatMessage"/>.</summary>
    private static ChatMessage ToChatMessage(JsonNode message)
    {
        JsonNode? content = message["content"];
        return new ChatMessage
        {
            Role = message["role"]!.GetValue<string>(),
            Content = content is JsonValue text && text.GetValueKind() == JsonValueKind.String ? text.GetValue<string>() : null,
            ContentParts = content is JsonArray parts
                ? parts.Select(p => new ChatContentPart(p!["type"]!.GetValue<string>(), p["text"]?.GetValue<string>())).ToList()
                : null,
            Name = message["name"]?.GetValue<string>(),
            ToolCallId = message["tool_call_id"]?.GetValue<string>(),
            ToolCalls = message["tool_calls"]?.AsArray().Select(c => new ChatToolCall(
                c!["id"]!.GetValue<string>(),
                c["function"]!["name"]!.GetValue<string>(),
                c["function"]!["arguments"]!.GetValue<string>())).ToList(),
        };
    }

    internal static string FixturePath(string relative) => Path.Combine(AppContext.BaseDirectory, "Fixtures", relative);
}
