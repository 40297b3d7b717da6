using System.Text.Json.Nodes;
using Brim.ChatTemplates;
using Brim.Tokenization;

namespace Brim.Server.Hosting;

/// <summary>
/// The chat template of a model: --chat-template FILE when given, else the model's tokenizer_config.json (or
/// chat_template.jinja beside it). The plain User:/Assistant: format is used only where the model has no template at
/// all; a template that is there but does not parse is an error, or with --allow-fallback-template a warning.
/// </summary>
internal static class ChatTemplateLoader
{
    public static ChatTemplate Load(ModelHostOptions options, string modelPath, ITokenizer tokenizer, List<string> warnings)
    {
        if (options.ChatTemplatePath is { } file)
        {
            if (!File.Exists(file))
            {
                throw new FileNotFoundException($"--chat-template {file}: no such file");
            }

            try
            {
                return ChatTemplate.Parse(File.ReadAllText(file), Token(tokenizer, tokenizer.BosTokenId), Token(tokenizer, tokenizer.EosTokenIds.FirstOrDefault(-1)));
            }
            catch (ChatTemplateException e)
            {
                throw new InvalidOperationException($"--chat-template {file} does not parse: {e.Message}", e);
            }
        }

        var dir = Directory.Exists(modelPath) ? modelPath : Path.GetDirectoryName(Path.GetFullPath(modelPath))!;
        var config = Path.Combine(dir, "tokenizer_config.json");
        if (!HasTemplate(dir, config))
        {
            return ChatTemplate.Plain;
        }

        try
        {
            return ChatTemplate.FromTokenizerConfig(config);
        }
        catch (ChatTemplateException e) when (options.AllowFallbackTemplate)
        {
            warnings.Add($"the chat template in {dir} does not parse ({e.Message}); chats use the plain User:/Assistant: format instead (--allow-fallback-template), which this model was not trained on");
            return ChatTemplate.Plain;
        }
        catch (ChatTemplateException e)
        {
            throw new InvalidOperationException(
                $"the chat template in {dir} does not parse: {e.Message}; give one with --chat-template FILE, or accept the plain User:/Assistant: format with --allow-fallback-template", e);
        }
    }

    private static bool HasTemplate(string dir, string config)
    {
        if (File.Exists(Path.Combine(dir, "chat_template.jinja")))
        {
            return true;
        }

        if (!File.Exists(config))
        {
            return false;
        }

        try
        {
            return JsonNode.Parse(File.ReadAllText(config)) is JsonObject o && o["chat_template"] is not null;
        }
        catch (System.Text.Json.JsonException)
        {
            return true; // an unreadable config is reported by the template loader, not skipped
        }
    }

    private static string? Token(ITokenizer tokenizer, int? id) => id is { } i and >= 0 ? tokenizer.Decode([i], skipSpecialTokens: false) : null;
}
