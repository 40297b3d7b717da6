using System.Text.Json;

namespace Brim.Models;

/// <summary>
/// Turns a Hugging Face config.json (+ generation_config.json) into a <see cref="ModelConfig"/>. Reads both the
/// transformers 4.x layout (rope_theta, rope_scaling, torch_dtype) and the 5.x one (rope_parameters, dtype). Anything
/// the backends would silently get wrong (other activations, sliding windows, MLP biases, other rope scalings) is
/// rejected with a message that says what is unsupported.
/// </summary>
internal static class HuggingFaceConfig
{
    public const string Llama = "LlamaForCausalLM";
    public const string Mistral = "MistralForCausalLM";
    public const string Qwen2 = "Qwen2ForCausalLM";

    public static readonly IReadOnlyList<string> SupportedArchitectures = [Llama, Mistral, Qwen2];

    /// <param name="configJson">Text of config.json.</param>
    /// <param name="generationConfigJson">Text of generation_config.json, whose eos/bos ids win when present.</param>
    /// <param name="origin">Named in error messages (the directory).</param>
    public static ModelConfig Parse(string configJson, string? generationConfigJson, string origin)
    {
        using var config = ParseJson(configJson, $"{origin}/config.json");
        using var generation = generationConfigJson is null ? null : ParseJson(generationConfigJson, $"{origin}/generation_config.json");
        var reader = new JsonFields(config.RootElement, $"{origin}/config.json");
        var architecture = ReadArchitecture(reader);

        var hidden = reader.RequiredInt("hidden_size");
        var heads = reader.RequiredInt("num_attention_heads");
        var maxPositions = reader.RequiredInt("max_position_embeddings");
        RejectUnsupportedFeatures(reader, architecture, maxPositions);

        var (ropeTheta, ropeScaling) = ReadRope(reader);
        var attentionBias = architecture == Qwen2 || (reader.OptionalBool("attention_bias") ?? false);
        var generationFields = generation is null ? (JsonFields?)null : new JsonFields(generation.RootElement, $"{origin}/generation_config.json");

        var result = new ModelConfig
        {
            Architecture = architecture,
            HiddenSize = hidden,
            IntermediateSize = reader.RequiredInt("intermediate_size"),
            NumLayers = reader.RequiredInt("num_hidden_layers"),
            NumHeads = heads,
            NumKvHeads = reader.OptionalInt("num_key_value_heads") ?? heads,
            HeadDim = reader.OptionalInt("head_dim") ?? DefaultHeadDim(reader, hidden, heads),
            VocabSize = reader.RequiredInt("vocab_size"),
            MaxPositions = maxPositions,
            RmsNormEps = (float)(reader.OptionalDouble("rms_norm_eps") ?? 1e-6),
            RopeTheta = ropeTheta,
            RopeScaling = ropeScaling,
            RopeStyle = RopeStyle.RotateHalf,
            TieWordEmbeddings = reader.OptionalBool("tie_word_embeddings") ?? false,
            AttentionBias = attentionBias,

            // Llama's attention_bias also puts a bias on o_proj; Qwen2's o_proj never has one.
            AttentionOutputBias = architecture != Qwen2 && attentionBias,
            BosTokenId = generationFields?.OptionalInt("bos_token_id") ?? reader.OptionalInt("bos_token_id"),
            EosTokenIds = generationFields?.OptionalIntList("eos_token_id") ?? reader.OptionalIntList("eos_token_id") ?? [],
            WeightDType = ReadDType(reader),
        };
        result.Validate();
        return result;
    }

    /// <summary>config.json's quantization_config, checked; null when the checkpoint is not quantized.</summary>
    public static QuantizationScheme? ParseQuantization(string configJson, string origin)
    {
        using var config = ParseJson(configJson, $"{origin}/config.json");
        return QuantizationConfigReader.Read(new JsonFields(config.RootElement, $"{origin}/config.json"));
    }

    /// <summary>Without head_dim, transformers uses hidden_size / num_attention_heads, which must then divide evenly.</summary>
    private static int DefaultHeadDim(JsonFields reader, int hidden, int heads) =>
        heads > 0 && hidden % heads == 0
            ? hidden / heads
            : throw new ModelLoadException($"{reader.Origin}: hidden_size {hidden} is not a multiple of num_attention_heads {heads} and no head_dim is given");

    private static string ReadArchitecture(JsonFields reader)
    {
        var architectures = reader.OptionalStringList("architectures");
        if (architectures is null || architectures.Count == 0)
        {
            throw new ModelLoadException($"{reader.Origin} names no architecture (\"architectures\"); supported: {string.Join(", ", SupportedArchitectures)}");
        }

        var architecture = architectures[0];
        if (!SupportedArchitectures.Contains(architecture))
        {
            throw new ModelLoadException($"{reader.Origin}: architecture {architecture} is not supported; supported: {string.Join(", ", SupportedArchitectures)}");
        }

        return architecture;
    }

    private static void RejectUnsupportedFeatures(JsonFields reader, string architecture, int maxPositions)
    {
        var activation = reader.OptionalString("hidden_act");
        if (activation is not null && activation != "silu")
        {
            throw new ModelLoadException($"{reader.Origin}: hidden_act {activation} is not supported (only silu)");
        }

        if (reader.OptionalBool("mlp_bias") == true)
        {
            throw new ModelLoadException($"{reader.Origin}: mlp_bias is not supported yet");
        }

        // Qwen2 carries a sliding_window value but uses it only when use_sliding_window is set.
        var slidingWindowUsed = architecture == Mistral || (architecture == Qwen2 && reader.OptionalBool("use_sliding_window") == true);
        var window = reader.OptionalInt("sliding_window");
        if (slidingWindowUsed && window is { } w && w < maxPositions)
        {
            throw new ModelLoadException(
                $"{reader.Origin}: sliding-window attention (sliding_window {w} < max_position_embeddings {maxPositions}) is not supported yet");
        }
    }

    /// <summary>rope_theta and llama3 scaling, from rope_parameters (transformers 5) or rope_theta + rope_scaling (4.x).</summary>
    private static (double Theta, Llama3RopeScaling? Scaling) ReadRope(JsonFields reader)
    {
        var parameters = reader.OptionalObject("rope_parameters");
        var theta = parameters?.OptionalDouble("rope_theta") ?? reader.OptionalDouble("rope_theta") ?? 10000.0;
        var scaling = parameters ?? reader.OptionalObject("rope_scaling");
        if (scaling is not { } s)
        {
            return (theta, null);
        }

        var type = s.OptionalString("rope_type") ?? s.OptionalString("type") ?? "default";
        return type switch
        {
            "default" => (theta, null),
            "llama3" => (theta, new Llama3RopeScaling(
                s.RequiredDouble("factor"),
                s.RequiredDouble("low_freq_factor"),
                s.RequiredDouble("high_freq_factor"),
                s.RequiredInt("original_max_position_embeddings"))),
            _ => throw new ModelLoadException($"{reader.Origin}: rope scaling type {type} is not supported (supported: llama3)"),
        };
    }

    private static TensorDType ReadDType(JsonFields reader)
    {
        // No dtype means transformers' default, float32.
        var name = reader.OptionalString("dtype") ?? reader.OptionalString("torch_dtype") ?? "float32";
        return name switch
        {
            "float32" => TensorDType.F32,
            "float16" => TensorDType.F16,
            "bfloat16" => TensorDType.BF16,
            _ => throw new ModelLoadException($"{reader.Origin}: torch_dtype {name} is not supported (float32, float16, bfloat16)"),
        };
    }

    private static JsonDocument ParseJson(string json, string origin)
    {
        try
        {
            return JsonDocument.Parse(json, new JsonDocumentOptions { AllowTrailingCommas = true, CommentHandling = JsonCommentHandling.Skip });
        }
        catch (JsonException e)
        {
            throw new ModelLoadException($"{origin} is not valid JSON: {e.Message}", e);
        }
    }
}
