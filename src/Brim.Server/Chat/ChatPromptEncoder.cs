using Brim.ChatTemplates;
using Brim.Tokenization;

namespace Brim.Server.Chat;

/// <summary>
/// Turns a conversation into prompt token ids: the model's chat template with the generation prompt, then the
/// tokenizer. Templates of models with a BOS token usually write it themselves (<c>{{ bos_token }}</c>) while the
/// tokenizer adds one too; a doubled BOS changes the model's output, so one of them is dropped.
/// </summary>
public sealed class ChatPromptEncoder(ChatTemplate template, ITokenizer tokenizer)
{
    /// <exception cref="ChatTemplateException">The template refused the conversation.</exception>
    public int[] Encode(IReadOnlyList<ChatMessage> messages)
    {
        var text = template.Render(messages, addGenerationPrompt: true);
        var ids = tokenizer.Encode(text, addSpecialTokens: true);
        if (tokenizer.BosTokenId is { } bos && ids.Length >= 2 && ids[0] == bos && ids[1] == bos)
        {
            return ids[1..];
        }

        return ids;
    }
}
