using System.Text.Json;
using Brim.Core;
using Brim.Engine;
using Brim.Server.Api;
using Brim.Tokenization;

namespace Brim.Server.Generation;

/// <summary>
/// The JSON shapes of one endpoint: the full response, the streamed chunks and their logprobs. Writes straight into
/// a <see cref="Utf8JsonWriter"/> over the response body; property names are pre-encoded.
/// </summary>
internal abstract class ResponseFormat(GenerationSpec spec, string id, ITokenizer tokenizer)
{
    protected static readonly JsonEncodedText IdName = JsonEncodedText.Encode("id");
    protected static readonly JsonEncodedText ObjectName = JsonEncodedText.Encode("object");
    protected static readonly JsonEncodedText CreatedName = JsonEncodedText.Encode("created");
    protected static readonly JsonEncodedText ModelName = JsonEncodedText.Encode("model");
    protected static readonly JsonEncodedText ChoicesName = JsonEncodedText.Encode("choices");
    protected static readonly JsonEncodedText IndexName = JsonEncodedText.Encode("index");
    protected static readonly JsonEncodedText TextName = JsonEncodedText.Encode("text");
    protected static readonly JsonEncodedText LogprobsName = JsonEncodedText.Encode("logprobs");
    protected static readonly JsonEncodedText FinishReasonName = JsonEncodedText.Encode("finish_reason");

    /// <summary>Logprobs of impossible tokens are -inf, which JSON cannot carry; vLLM sends this instead.</summary>
    private const float LowestLogprob = -9999f;

    private readonly JsonEncodedText _id = JsonEncodedText.Encode(id);
    private readonly JsonEncodedText _model = JsonEncodedText.Encode(spec.Model);
    private readonly long _created = ServerContext.UnixNow();

    public static ResponseFormat For(GenerationSpec spec, string id, ITokenizer tokenizer) =>
        spec.Kind == ApiKind.Chat ? new ChatResponseFormat(spec, id, tokenizer) : new CompletionResponseFormat(spec, id, tokenizer);

    public static string NewId(ApiKind kind) => (kind == ApiKind.Chat ? "chatcmpl-" : "cmpl-") + Guid.NewGuid().ToString("N");

    protected GenerationSpec Spec { get; } = spec;

    protected ITokenizer Tokenizer { get; } = tokenizer;

    protected abstract string FullObject { get; }

    protected abstract string ChunkObject { get; }

    /// <summary>Writes the whole non-streaming response.</summary>
    public void WriteFull(Utf8JsonWriter json, IReadOnlyList<ChoiceResult> choices)
    {
        WriteHeader(json, FullObject);
        json.WriteStartArray(ChoicesName);
        for (var i = 0; i < choices.Count; i++)
        {
            json.WriteStartObject();
            json.WriteNumber(IndexName, i);
            WriteFullChoice(json, i, choices[i]);
            json.WriteString(FinishReasonName, FinishName(choices[i].FinishReason));
            json.WriteEndObject();
        }

        json.WriteEndArray();
        WriteUsage(json, PromptTokens(), choices.Sum(c => c.CompletionTokens), CachedPromptTokens(choices.Select(c => c.CachedPromptTokens).ToArray()));
        json.WriteEndObject();
    }

    /// <summary>Writes one chunk object carrying one choice's delta.</summary>
    public void WriteChunk(Utf8JsonWriter json, int choice, string text, IReadOnlyList<TokenLogprobs>? logprobs, FinishReason? finish, bool first)
    {
        WriteHeader(json, ChunkObject);
        json.WriteStartArray(ChoicesName);
        json.WriteStartObject();
        json.WriteNumber(IndexName, choice);
        WriteChunkChoice(json, choice, text, logprobs, first);
        if (finish is null)
        {
            json.WriteNull(FinishReasonName);
        }
        else
        {
            json.WriteString(FinishReasonName, FinishName(finish));
        }

        json.WriteEndObject();
        json.WriteEndArray();
        json.WriteEndObject();
    }

    /// <summary>The last chunk of <c>stream_options.include_usage</c>: no choices, the usage of the whole request.</summary>
    public void WriteUsageChunk(Utf8JsonWriter json, int promptTokens, int completionTokens, int cachedPromptTokens)
    {
        WriteHeader(json, ChunkObject);
        json.WriteStartArray(ChoicesName);
        json.WriteEndArray();
        WriteUsage(json, promptTokens, completionTokens, cachedPromptTokens);
        json.WriteEndObject();
    }

    protected abstract void WriteFullChoice(Utf8JsonWriter json, int choice, ChoiceResult result);

    protected abstract void WriteChunkChoice(Utf8JsonWriter json, int choice, string text, IReadOnlyList<TokenLogprobs>? logprobs, bool first);

    /// <summary>Prompt tokens count once per prompt, not once per choice, as the OpenAI API counts them.</summary>
    public int PromptTokens()
    {
        var total = 0;
        for (var p = 0; p < Spec.Prompts.Count; p++)
        {
            total += Spec.Prompts[p].Length;
        }

        return total;
    }

    /// <summary>
    /// Prompt tokens served from the prefix cache, counted like <see cref="PromptTokens"/> once per prompt: each
    /// prompt's first choice (its siblings wait for that one's blocks, so they would count the same prompt twice).
    /// </summary>
    public int CachedPromptTokens(IReadOnlyList<int> cachedByChoice)
    {
        var total = 0;
        for (var p = 0; p < Spec.Prompts.Count; p++)
        {
            total += cachedByChoice[p * Spec.N];
        }

        return total;
    }

    public static string FinishName(FinishReason? reason) => reason switch
    {
        FinishReason.Stop => "stop",
        FinishReason.Length => "length",
        FinishReason.Cancelled => "abort",
        FinishReason.Error => "error",
        _ => "stop",
    };

    protected string TokenText(int token) => Tokenizer.Decode([token], skipSpecialTokens: false);

    protected static float Finite(float logprob) => float.IsFinite(logprob) ? logprob : LowestLogprob;

    private void WriteHeader(Utf8JsonWriter json, string objectName)
    {
        json.WriteStartObject();
        json.WriteString(IdName, _id);
        json.WriteString(ObjectName, objectName);
        json.WriteNumber(CreatedName, _created);
        json.WriteString(ModelName, _model);
        if (Spec.ServiceTier is { } tier)
        {
            json.WriteString("service_tier", tier);
        }
    }

    private static void WriteUsage(Utf8JsonWriter json, int promptTokens, int completionTokens, int cachedPromptTokens)
    {
        json.WriteStartObject("usage");
        json.WriteNumber("prompt_tokens", promptTokens);
        json.WriteNumber("completion_tokens", completionTokens);
        json.WriteNumber("total_tokens", promptTokens + completionTokens);
        json.WriteStartObject("prompt_tokens_details");
        json.WriteNumber("cached_tokens", cachedPromptTokens);
        json.WriteEndObject();
        json.WriteEndObject();
    }
}
