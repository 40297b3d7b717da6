using System.Text.Json.Nodes;

namespace Brim.ChatTemplates.Tests;

/// <summary>Reading tokenizer configs, choosing among named templates, the Plain format and message conversion.</summary>
public sealed class ChatTemplateApiTests
{
    private static readonly ChatMessage[] Conversation = [ChatMessage.System("Be brief."), ChatMessage.User("Hi")];

    [Fact]
    public void FromTokenizerConfig_AddedTokenObjects_ProvideSpecialTokens()
    {
        const string Config = """
            {"bos_token": {"__type": "AddedToken", "content": "<s>", "lstrip": false},
             "eos_token": "</s>",
             "chat_template": "{{ bos_token }}{% for m in messages %}{{ m.content }}{{ eos_token }}{% endfor %}"}
            """;
        Assert.Equal("<s>Be brief.</s>Hi</s>", ChatTemplate.FromTokenizerConfig(Config).Render(Conversation, false));
    }

    [Fact]
    public void FromTokenizerConfig_PathOrFolder_ReadsTheSameTemplate()
    {
        string folder = ReferenceRenderingTests.FixturePath("Qwen__Qwen2.5-0.5B-Instruct");
        string fromFolder = ChatTemplate.FromTokenizerConfig(folder).Render(Conversation, true);
        string fromFile = ChatTemplate.FromTokenizerConfig(Path.Combine(folder, "tokenizer_config.json")).Render(Conversation, true);
        Assert.Equal("<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n", fromFolder);
        Assert.Equal(fromFolder, fromFile);
    }

    [Fact]
    public void Render_NamedTemplates_UsesToolUseOnlyWhenToolsAreGiven()
    {
        const string Config = """
            {"chat_template": [{"name": "default", "template": "plain"}, {"name": "tool_use", "template": "tools={{ tools | length }}"}]}
            """;
        var template = ChatTemplate.FromTokenizerConfig(Config);
        Assert.Equal("plain", template.Render(Conversation, false));
        Assert.Equal("tools=2", template.Render(Conversation, false, new ChatTemplateOptions { Tools = [new JsonObject(), new JsonObject()] }));
    }

    [Theory]
    [InlineData("""{"eos_token": "</s>"}""", "has no chat_template")]
    [InlineData("""{"chat_template": 5}""", "must be a string or a list")]
    [InlineData("""{"chat_template": [{"name": "tool_use", "template": "x"}]}""", "none named 'default'")]
    [InlineData("""{"chat_template": "{% if %}"}""", "line 1, column 7")]
    [InlineData("{ not json", "not valid JSON")]
    [InlineData("/no/such/tokenizer_config.json", "does not exist")]
    public void FromTokenizerConfig_BadInput_ThrowsClearError(string jsonOrPath, string fragment)
    {
        var error = Assert.Throws<ChatTemplateException>(() =>
            ChatTemplate.FromTokenizerConfig(jsonOrPath).Render(Conversation, false));
        Assert.Contains(fragment, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Plain_Conversation_RendersRolesAndGenerationPrompt()
    {
        ChatMessage[] messages = [.. Conversation, ChatMessage.Assistant("Hello."), ChatMessage.User("Bye")];
        Assert.Equal("System: Be brief.\n\nUser: Hi\n\nAssistant: Hello.\n\nUser: Bye\n\nAssistant:", ChatTemplate.Plain.Render(messages, true));
        Assert.Equal("System: Be brief.\n\nUser: Hi\n\n", ChatTemplate.Plain.Render(Conversation, false));
    }

    [Fact]
    public void Render_ContentParts_JoinedForStringTemplatesAndListedForLoopingTemplates()
    {
        var message = new ChatMessage { Role = "user", ContentParts = [ChatContentPart.FromText("a"), ChatContentPart.FromText("b")] };
        Assert.Equal("[a\nb]", ChatTemplate.Parse("{% for m in messages %}[{{ m.content }}]{% endfor %}").Render([message], false));
        Assert.Equal(
            "text:a|text:b|",
            ChatTemplate.Parse("{% for m in messages %}{% for p in m['content'] %}{{ p.type }}:{{ p.text }}|{% endfor %}{% endfor %}")
                .Render([message], false));
    }

    [Fact]
    public void Render_ImagePartForStringTemplate_IsRefused()
    {
        var message = new ChatMessage { Role = "user", ContentParts = [new ChatContentPart("image_url"), ChatContentPart.FromText("what is this?")] };
        var error = Assert.Throws<ChatTemplateException>(() => ChatTemplate.Plain.Render([message], false));
        Assert.Contains("'image_url' content part", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Render_MessageFields_AppearOnlyWhenSet()
    {
        var template = ChatTemplate.Parse(
            "{% for m in messages %}{{ m.role }}:{{ 'name=' ~ m.name if m.name is defined }}"
            + "{{ ' calls=' ~ m.tool_calls | map(attribute='function.name') | join(',') if 'tool_calls' in m }}"
            + "{{ ' args=' ~ m.tool_calls[0].function.arguments | tojson if m.tool_calls is defined }}"
            + "{{ ' id=' ~ m.tool_call_id if m.tool_call_id is defined }};{% endfor %}");
        ChatMessage[] messages =
        [
            new() { Role = "user", Content = "hi", Name = "ann" },
            new() { Role = "assistant", ToolCalls = [new ChatToolCall("c1", "lookup", """{"q": 1}""")] },
            ChatMessage.Tool("c1", "42"),
        ];
        Assert.Equal("""user:name=ann;assistant: calls=lookup args={"q": 1};tool: id=c1;""", template.Render(messages, false));
    }

    [Fact]
    public void Render_ToolCallArgumentsThatAreNotAnObject_StayAString()
    {
        var template = ChatTemplate.Parse("{{ messages[0].tool_calls[0].function.arguments | tojson }}");
        var message = new ChatMessage { Role = "assistant", ToolCalls = [new ChatToolCall("c1", "f", "not json")] };
        Assert.Equal("\"not json\"", template.Render([message], false));
    }

    [Fact]
    public void Render_Options_OverrideTokensAndAddVariables()
    {
        var template = ChatTemplate.Parse("{{ bos_token }}|{{ eos_token }}|{{ enable_thinking }}|{{ tools is none }}", "<s>", "</s>");
        Assert.Equal("<s>|</s>||True", template.Render(Conversation, false));
        var options = new ChatTemplateOptions
        {
            BosToken = "[B]",
            EosToken = "[E]",
            Variables = new Dictionary<string, JsonNode?> { ["enable_thinking"] = false },
        };
        Assert.Equal("[B]|[E]|False|True", template.Render(Conversation, false, options));
    }

    [Fact]
    public void Render_MistralTemplate_RaisesVerbatimMessageForNonAlternatingRoles()
    {
        var template = ChatTemplate.FromTokenizerConfig(ReferenceRenderingTests.FixturePath("mistralai__Mistral-7B-Instruct-v0.3"));
        var error = Assert.Throws<ChatTemplateException>(() => template.Render([ChatMessage.User("a"), ChatMessage.User("b")], true));
        Assert.Equal("After the optional system message, conversation roles must alternate user/assistant/user/assistant/...", error.Message);
        Assert.True(error.RaisedByTemplate);
    }

    [Fact]
    public void Render_SameTemplateFromManyThreads_GivesTheSameOutput()
    {
        var template = ChatTemplate.FromTokenizerConfig(ReferenceRenderingTests.FixturePath("meta-llama__Llama-3.2-1B-Instruct"));
        var options = new ChatTemplateOptions { Now = new DateTimeOffset(2025, 1, 2, 0, 0, 0, TimeSpan.Zero) };
        string expected = template.Render(Conversation, true, options);
        Assert.Contains("Today Date: 02 Jan 2025", expected, StringComparison.Ordinal);
        var outputs = new string[16];
        Parallel.For(0, outputs.Length, i => outputs[i] = template.Render(Conversation, true, options));
        Assert.All(outputs, output => Assert.Equal(expected, output));
    }
}
