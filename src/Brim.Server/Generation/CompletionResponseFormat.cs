using System.Text.Json;
using Brim.Engine;
using Brim.Server.Api;
using Brim.Tokenization;

namespace Brim.Server.Generation;

/// <summary>/v1/completions: <c>text</c> per choice, legacy logprobs (tokens, token_logprobs, top_logprobs, text_offset).</summary>
internal sealed class CompletionResponseFormat : ResponseFormat
{
    private readonly int[] _textOffsets; // per choice: characters streamed so far, for text_offset

    public CompletionResponseFormat(GenerationSpec spec, string id, ITokenizer tokenizer)
        : base(spec, id, tokenizer)
    {
        _textOffsets = new int[spec.ChoiceCount];
    }

    protected override string FullObject => "text_completion";

    protected override string ChunkObject => "text_completion";

    /// <summary>The echoed prompt that starts a choice's text, or "".</summary>
    public string EchoFor(int choice) => Spec.EchoTexts?[choice / Spec.N] ?? string.Empty;

    protected override void WriteFullChoice(Utf8JsonWriter json, int choice, ChoiceResult result)
    {
        var echo = EchoFor(choice);
        json.WriteString(TextName, echo + result.Text.ToString());
        _textOffsets[choice] = echo.Length;
        WriteLogprobs(json, choice, result.Logprobs);
    }

    protected override void WriteChunkChoice(Utf8JsonWriter json, int choice, string text, IReadOnlyList<TokenLogprobs>? logprobs, bool first)
    {
        if (first && EchoFor(choice) is { Length: > 0 } echo)
        {
            text = echo + text;
            _textOffsets[choice] = echo.Length;
        }

        json.WriteString(TextName, text);
        WriteLogprobs(json, choice, logprobs);
    }

    private void WriteLogprobs(Utf8JsonWriter json, int choice, IReadOnlyList<TokenLogprobs>? logprobs)
    {
        if (!Spec.Logprobs || logprobs is null)
        {
            json.WriteNull(LogprobsName);
            return;
        }

        var texts = logprobs.Select(l => TokenText(l.TokenId)).ToArray();
        json.WriteStartObject(LogprobsName);
        json.WriteStartArray("tokens");
        foreach (var text in texts)
        {
            json.WriteStringValue(text);
        }

        json.WriteEndArray();
        json.WriteStartArray("token_logprobs");
        foreach (var entry in logprobs)
        {
            json.WriteNumberValue(Finite(entry.Logprob));
        }

        json.WriteEndArray();
        json.WriteStartArray("top_logprobs");
        foreach (var entry in logprobs)
        {
            json.WriteStartObject();
            foreach (var (token, logprob) in entry.Top)
            {
                json.WriteNumber(TokenText(token), Finite(logprob));
            }

            json.WriteEndObject();
        }

        json.WriteEndArray();
        json.WriteStartArray("text_offset");
        foreach (var text in texts)
        {
            json.WriteNumberValue(_textOffsets[choice]);
            _textOffsets[choice] += text.Length;
        }

        json.WriteEndArray();
        json.WriteEndObject();
    }
}
