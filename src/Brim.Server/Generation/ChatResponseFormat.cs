using System.Text;
using System.Text.Json;
using Brim.Engine;
using Brim.Server.Api;
using Brim.Tokenization;

namespace Brim.Server.Generation;

/// <summary>/v1/chat/completions: <c>message</c> in full responses, <c>delta</c> in chunks, logprobs as <c>content</c> entries.</summary>
internal sealed class ChatResponseFormat(GenerationSpec spec, string id, ITokenizer tokenizer) : ResponseFormat(spec, id, tokenizer)
{
    private static readonly JsonEncodedText DeltaName = JsonEncodedText.Encode("delta");
    private static readonly JsonEncodedText ContentName = JsonEncodedText.Encode("content");
    private static readonly JsonEncodedText RoleName = JsonEncodedText.Encode("role");
    private static readonly JsonEncodedText Assistant = JsonEncodedText.Encode("assistant");

    protected override string FullObject => "chat.completion";

    protected override string ChunkObject => "chat.completion.chunk";

    protected override void WriteFullChoice(Utf8JsonWriter json, int choice, ChoiceResult result)
    {
        json.WriteStartObject("message");
        json.WriteString(RoleName, Assistant);
        json.WriteString(ContentName, result.Text.ToString());
        json.WriteEndObject();
        WriteLogprobs(json, result.Logprobs);
    }

    protected override void WriteChunkChoice(Utf8JsonWriter json, int choice, string text, IReadOnlyList<TokenLogprobs>? logprobs, bool first)
    {
        json.WriteStartObject(DeltaName);
        if (first)
        {
            json.WriteString(RoleName, Assistant);
        }

        if (first || text.Length > 0)
        {
            json.WriteString(ContentName, text);
        }

        json.WriteEndObject();
        WriteLogprobs(json, logprobs);
    }

    private void WriteLogprobs(Utf8JsonWriter json, IReadOnlyList<TokenLogprobs>? logprobs)
    {
        if (!Spec.Logprobs || logprobs is null)
        {
            json.WriteNull(LogprobsName);
            return;
        }

        json.WriteStartObject(LogprobsName);
        json.WriteStartArray(ContentName);
        foreach (var entry in logprobs)
        {
            json.WriteStartObject();
            WriteToken(json, entry.TokenId, entry.Logprob);
            json.WriteStartArray("top_logprobs");
            foreach (var (token, logprob) in entry.Top)
            {
                json.WriteStartObject();
                WriteToken(json, token, logprob);
                json.WriteEndObject();
            }

            json.WriteEndArray();
            json.WriteEndObject();
        }

        json.WriteEndArray();
        json.WriteNull("refusal");
        json.WriteEndObject();
    }

    private void WriteToken(Utf8JsonWriter json, int token, float logprob)
    {
        var text = TokenText(token);
        json.WriteString("token", text);
        json.WriteNumber("logprob", Finite(logprob));
        json.WriteStartArray("bytes");
        foreach (var b in Encoding.UTF8.GetBytes(text))
        {
            json.WriteNumberValue(b);
        }

        json.WriteEndArray();
    }
}
