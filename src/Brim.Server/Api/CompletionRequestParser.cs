using System.Text.Json;

namespace Brim.Server.Api;

/// <summary>
/// Parses a /v1/completions body. <c>prompt</c> is a string, a list of strings, a list of token ids, or a list of
/// token-id lists; strings are encoded with the model's special tokens (BOS), token ids are taken as they are.
/// </summary>
internal static class CompletionRequestParser
{
    public const int MaxPrompts = 64;

    public static GenerationSpec Parse(JsonElement root, ServerContext server)
    {
        RequestFieldPolicy.Check(root, ApiKind.Completion, routed: server.RoutedAs is not null);
        var (prompts, texts) = ParsePrompts(root, server);
        var echo = JsonFields.Bool(root, "echo") ?? false;
        // Token-id prompts echo as their decoded text.
        List<string>? echoTexts = echo ? [.. prompts.Select((p, i) => texts[i] ?? server.Tokenizer.Decode(p))] : null;
        return SamplingFields.Parse(root, ApiKind.Completion, prompts, echoTexts, server);
    }

    /// <summary>The prompts as token ids (and their text where given as text); shapes checked, lengths not (the router counts them).</summary>
    internal static (List<int[]> Prompts, List<string?> Texts) ParsePrompts(JsonElement root, ServerContext server)
    {
        if (JsonFields.Get(root, "prompt") is not { } prompt)
        {
            throw ApiException.BadRequest("'prompt' is required", "prompt");
        }

        var prompts = new List<int[]>();
        var texts = new List<string?>();
        switch (prompt.ValueKind)
        {
            case JsonValueKind.String:
                AddText(prompt.GetString()!);
                break;
            case JsonValueKind.Array:
                var count = prompt.GetArrayLength();
                if (count == 0)
                {
                    throw ApiException.BadRequest("'prompt' must not be an empty list", "prompt");
                }

                var first = prompt[0].ValueKind;
                if (first == JsonValueKind.Number)
                {
                    prompts.Add(TokenIds(prompt, "prompt", server));
                    texts.Add(null);
                    break;
                }

                if (count > MaxPrompts)
                {
                    throw ApiException.BadRequest($"'prompt' takes at most {MaxPrompts} prompts, got {count}", "prompt");
                }

                var i = 0;
                foreach (var item in prompt.EnumerateArray())
                {
                    var name = $"prompt[{i++}]";
                    if (item.ValueKind == JsonValueKind.String && first == JsonValueKind.String)
                    {
                        AddText(item.GetString()!);
                    }
                    else if (item.ValueKind == JsonValueKind.Array && first == JsonValueKind.Array)
                    {
                        prompts.Add(TokenIds(item, name, server));
                        texts.Add(null);
                    }
                    else
                    {
                        throw ApiException.BadRequest(
                            $"'{name}' must be {(first == JsonValueKind.Array ? "a list of token ids" : "a string")}: a prompt list holds strings, or token ids, or token-id lists, not a mix",
                            "prompt");
                    }
                }

                break;
            default:
                throw JsonFields.WrongType("prompt", "a string, a list of strings, a list of token ids or a list of token-id lists", prompt);
        }

        return (prompts, texts);

        void AddText(string text)
        {
            prompts.Add(server.Tokenizer.Encode(text, addSpecialTokens: true));
            texts.Add(text);
        }
    }

    private static int[] TokenIds(JsonElement list, string name, ServerContext server)
    {
        var vocab = server.Tokenizer.VocabSize;
        var ids = new int[list.GetArrayLength()];
        if (ids.Length == 0)
        {
            throw ApiException.BadRequest($"'{name}' must not be empty", "prompt");
        }

        var i = 0;
        foreach (var item in list.EnumerateArray())
        {
            if (item.ValueKind != JsonValueKind.Number || !item.TryGetInt32(out var id) || id < 0 || id >= vocab)
            {
                throw ApiException.BadRequest($"'{name}[{i}]' must be a token id between 0 and {vocab - 1}, got {ApiText.Truncate(item.GetRawText())}", "prompt");
            }

            ids[i++] = id;
        }

        return ids;
    }
}
