using System.Text.Json;
using System.Text.Json.Nodes;
using Brim.ChatTemplates.Jinja;

namespace Brim.ChatTemplates;

/// <summary>
/// A Hugging Face chat template (the Jinja <c>chat_template</c> of tokenizer_config.json), parsed once and rendered
/// per request with the same variables transformers passes: <c>messages</c>, <c>tools</c>, <c>documents</c>,
/// <c>add_generation_prompt</c>, the special tokens (<c>bos_token</c>, <c>eos_token</c>, ...), and the globals
/// <c>raise_exception</c>, <c>strftime_now</c>, <c>range</c>, <c>namespace</c>, <c>dict</c>. The Jinja subset is
/// rendered as transformers renders it (trim_blocks and lstrip_blocks on, Python semantics for values).
/// Instances are immutable and safe to share between threads.
/// </summary>
public sealed class ChatTemplate
{
    private const string DefaultName = "default";
    private const string ToolUseName = "tool_use";

    /// <summary>
    /// The format for models that ship no chat template. Each message becomes its capitalized role, a colon, a
    /// space, its content and a blank line; the generation prompt is <c>Assistant:</c>. For a system and a user
    /// message with <c>addGenerationPrompt</c>:
    /// <code>
    /// System: You are helpful.
    ///
    /// User: Hi!
    ///
    /// Assistant:
    /// </code>
    /// Content parts are joined with "\n"; no special tokens are added.
    /// </summary>
    public static ChatTemplate Plain { get; } = Parse(
        "{% for message in messages %}{{ message.role | capitalize }}: {{ message.content or '' }}\n\n{% endfor %}"
        + "{% if add_generation_prompt %}Assistant:{% endif %}");

    private readonly IReadOnlyDictionary<string, ParsedTemplate> _templates;
    private readonly IReadOnlyDictionary<string, string> _specialTokens;

    private ChatTemplate(IReadOnlyDictionary<string, ParsedTemplate> templates, IReadOnlyDictionary<string, string> specialTokens)
    {
        _templates = templates;
        _specialTokens = specialTokens;
    }

    /// <summary>Parses template source directly, e.g. a <c>--chat-template</c> file.</summary>
    /// <exception cref="ChatTemplateException">The source is not valid for this Jinja subset; the message gives line and column.</exception>
    public static ChatTemplate Parse(string templateSource, string? bosToken = null, string? eosToken = null)
    {
        ArgumentNullException.ThrowIfNull(templateSource);
        var tokens = new Dictionary<string, string>(StringComparer.Ordinal);
        if (bosToken is not null)
        {
            tokens["bos_token"] = bosToken;
        }

        if (eosToken is not null)
        {
            tokens["eos_token"] = eosToken;
        }

        return new ChatTemplate(new Dictionary<string, ParsedTemplate> { [DefaultName] = new(templateSource) }, tokens);
    }

    /// <summary>
    /// Reads the chat template and special tokens of a tokenizer_config.json, given as its JSON text, its path, or
    /// the model folder that holds it. <c>chat_template</c> may be one string or a list of <c>{name, template}</c>
    /// (the <c>tool_use</c> one is used when tools are given); when a folder or path is given and the config has
    /// none, a <c>chat_template.jinja</c> beside it is used. Special tokens may be strings or AddedToken objects.
    /// </summary>
    /// <exception cref="ChatTemplateException">Unreadable config, no chat template, or a template that does not parse.</exception>
    public static ChatTemplate FromTokenizerConfig(string jsonOrPath)
    {
        ArgumentNullException.ThrowIfNull(jsonOrPath);
        string? folder = null;
        string json = jsonOrPath;
        if (!jsonOrPath.TrimStart().StartsWith('{'))
        {
            string path = Directory.Exists(jsonOrPath) ? Path.Combine(jsonOrPath, "tokenizer_config.json") : jsonOrPath;
            if (!File.Exists(path))
            {
                throw new ChatTemplateException($"Tokenizer config '{path}' does not exist.");
            }

            folder = Path.GetDirectoryName(Path.GetFullPath(path));
            json = File.ReadAllText(path);
        }

        JsonObject config;
        try
        {
            config = JsonNode.Parse(json) as JsonObject
                ?? throw new ChatTemplateException("The tokenizer config is not a JSON object.");
        }
        catch (JsonException e)
        {
            throw new ChatTemplateException($"The tokenizer config is not valid JSON: {e.Message}", e);
        }

        var templates = ReadTemplates(config["chat_template"], folder);
        return new ChatTemplate(templates, ReadSpecialTokens(config));
    }

    /// <summary>
    /// Renders a conversation into the prompt text the model expects.
    /// </summary>
    /// <param name="messages">The conversation, oldest first.</param>
    /// <param name="addGenerationPrompt">Append the tokens that open the assistant's reply.</param>
    /// <param name="options">Tools, extra variables, token overrides, the clock and limits; null for none.</param>
    /// <exception cref="ChatTemplateException">The template refused the input (<c>raise_exception</c>, message verbatim)
    /// or failed; the message gives the line and column.</exception>
    public string Render(IReadOnlyList<ChatMessage> messages, bool addGenerationPrompt, ChatTemplateOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(messages);
        options ??= ChatTemplateOptions.Default;
        ParsedTemplate template = Select(options.Tools is not null);
        var budget = new RenderBudget(options.MaxLoopIterations, options.MaxOutputLength);

        var globals = new Scope(null);
        Globals.AddTo(globals, options.Now ?? DateTimeOffset.Now, budget);
        var variables = new Scope(globals);
        foreach (var (name, token) in _specialTokens)
        {
            variables.Set(name, token);
        }

        if (options.BosToken is not null)
        {
            variables.Set("bos_token", options.BosToken);
        }

        if (options.EosToken is not null)
        {
            variables.Set("eos_token", options.EosToken);
        }

        variables.Set("messages", TemplateValues.FromMessages(messages, template.ExpectsContentList));
        variables.Set("add_generation_prompt", addGenerationPrompt);
        variables.Set("tools", TemplateValues.FromJson(options.Tools));
        variables.Set("documents", null);
        foreach (var (name, value) in options.Variables ?? new Dictionary<string, JsonNode?>())
        {
            variables.Set(name, TemplateValues.FromJson(value));
        }

        return new Interpreter(budget).Render(template.Statements, variables);
    }

    private ParsedTemplate Select(bool hasTools)
    {
        if (hasTools && _templates.TryGetValue(ToolUseName, out ParsedTemplate? toolUse))
        {
            return toolUse;
        }

        return _templates.TryGetValue(DefaultName, out ParsedTemplate? template) ? template
            : throw new ChatTemplateException(
                $"The tokenizer config has several chat templates ({string.Join(", ", _templates.Keys)}) and none named 'default'.");
    }

    private static Dictionary<string, ParsedTemplate> ReadTemplates(JsonNode? node, string? folder)
    {
        var templates = new Dictionary<string, ParsedTemplate>(StringComparer.Ordinal);
        switch (node)
        {
            case JsonValue value when value.GetValueKind() == JsonValueKind.String:
                templates[DefaultName] = Parsed(DefaultName, value.GetValue<string>());
                break;
            case JsonArray list:
                foreach (JsonNode? entry in list)
                {
                    string name = entry?["name"]?.GetValue<string>()
                        ?? throw new ChatTemplateException("A chat_template list entry has no 'name'.");
                    string source = entry["template"]?.GetValue<string>()
                        ?? throw new ChatTemplateException($"Chat template '{name}' has no 'template'.");
                    templates[name] = Parsed(name, source);
                }

                break;
            case null when folder is not null && File.Exists(Path.Combine(folder, "chat_template.jinja")):
                templates[DefaultName] = Parsed(DefaultName, File.ReadAllText(Path.Combine(folder, "chat_template.jinja")));
                break;
            case null:
                throw new ChatTemplateException(
                    "The tokenizer config has no chat_template; use ChatTemplate.Plain or give a template with ChatTemplate.Parse.");
            default:
                throw new ChatTemplateException("chat_template must be a string or a list of {name, template} objects.");
        }

        return templates;
    }

    private static ParsedTemplate Parsed(string name, string source)
    {
        try
        {
            return new ParsedTemplate(source);
        }
        catch (ChatTemplateException e) when (name != DefaultName)
        {
            throw new ChatTemplateException($"Chat template '{name}': {e.Message}", e);
        }
    }

    private static Dictionary<string, string> ReadSpecialTokens(JsonObject config)
    {
        var tokens = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (string name in new[] { "bos_token", "eos_token", "unk_token", "pad_token", "sep_token", "cls_token", "mask_token" })
        {
            string? token = config[name] switch
            {
                JsonValue value when value.GetValueKind() == JsonValueKind.String => value.GetValue<string>(),
                JsonObject addedToken => addedToken["content"]?.GetValue<string>(), // AddedToken {"content": ..., ...}
                _ => null,
            };
            if (token is not null)
            {
                tokens[name] = token;
            }
        }

        return tokens;
    }

    private sealed class ParsedTemplate
    {
        public ParsedTemplate(string source)
        {
            Statements = Parser.Parse(source);
            ExpectsContentList = ContentFormat.ExpectsList(Statements);
        }

        public IReadOnlyList<Statement> Statements { get; }

        public bool ExpectsContentList { get; }
    }
}
