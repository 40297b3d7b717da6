namespace Brim.Models;

/// <summary>How rotary embeddings pair the dimensions of a head.</summary>
public enum RopeStyle
{
    /// <summary>llama2.c / Meta's original: dimensions (2i, 2i+1) rotate together.</summary>
    Interleaved,

    /// <summary>Hugging Face transformers: dimensions (i, i + headDim/2) rotate together ("rotate_half").</summary>
    RotateHalf,
}

/// <summary>Llama 3.x frequency scaling of rotary embeddings (<c>rope_scaling.rope_type == "llama3"</c>).</summary>
public sealed record Llama3RopeScaling(double Factor, double LowFreqFactor, double HighFreqFactor, int OriginalMaxPositions);

/// <summary>
/// The shape of a Llama-family decoder (Llama 2/3/3.1, Mistral, Qwen2, llama2.c). Everything a backend needs to
/// size buffers and run the forward pass; nothing about where the weights come from.
/// </summary>
public sealed record ModelConfig
{
    /// <summary>The Hugging Face architecture name (LlamaForCausalLM, MistralForCausalLM, Qwen2ForCausalLM) or "llama2.c".</summary>
    public required string Architecture { get; init; }

    public required int HiddenSize { get; init; }

    public required int IntermediateSize { get; init; }

    public required int NumLayers { get; init; }

    public required int NumHeads { get; init; }

    public required int NumKvHeads { get; init; }

    public required int HeadDim { get; init; }

    public required int VocabSize { get; init; }

    /// <summary>Longest sequence (prompt + output) the model supports.</summary>
    public required int MaxPositions { get; init; }

    public float RmsNormEps { get; init; } = 1e-5f;

    public double RopeTheta { get; init; } = 10000.0;

    public Llama3RopeScaling? RopeScaling { get; init; }

    public RopeStyle RopeStyle { get; init; } = RopeStyle.RotateHalf;

    /// <summary>The output projection reuses the embedding matrix (no lm_head.weight).</summary>
    public bool TieWordEmbeddings { get; init; }

    /// <summary>q/k/v projections carry biases (Qwen2).</summary>
    public bool AttentionBias { get; init; }

    /// <summary>The attention output projection carries a bias (Llama with <c>attention_bias: true</c>; never Qwen2).</summary>
    public bool AttentionOutputBias { get; init; }

    public int? BosTokenId { get; init; }

    public IReadOnlyList<int> EosTokenIds { get; init; } = [];

    /// <summary>The dtype the checkpoint stores (config.json's torch_dtype); dummy weights use it too.</summary>
    public TensorDType WeightDType { get; init; } = TensorDType.BF16;

    public int QueryDim => NumHeads * HeadDim;

    public int KvDim => NumKvHeads * HeadDim;

    /// <summary>Weights of the decoder, embeddings and (untied) output projection.</summary>
    public long ParameterCount
    {
        get
        {
            long h = HiddenSize, q = QueryDim, kv = KvDim, ff = IntermediateSize, v = VocabSize;
            var perLayer = (h * q) + (2 * h * kv) + (q * h) + (3 * h * ff) + (2 * h);
            if (AttentionBias)
            {
                perLayer += q + (2 * kv);
            }

            if (AttentionOutputBias)
            {
                perLayer += h;
            }

            return (NumLayers * perLayer) + (v * h) + h + (TieWordEmbeddings ? 0 : v * h);
        }
    }

    /// <summary>Throws <see cref="ModelLoadException"/> when the shape cannot be a valid decoder.</summary>
    public void Validate()
    {
        Check(HiddenSize > 0 && IntermediateSize > 0 && NumLayers > 0 && VocabSize > 0 && MaxPositions > 0, "dimensions must be positive");
        Check(NumHeads > 0 && NumKvHeads > 0 && NumHeads % NumKvHeads == 0, $"num_attention_heads ({NumHeads}) must be a multiple of num_key_value_heads ({NumKvHeads})");
        Check(HeadDim > 0 && HeadDim % 2 == 0, $"head_dim ({HeadDim}) must be positive and even for rotary embeddings");
    }

    private void Check(bool condition, string message)
    {
        if (!condition)
        {
            throw new ModelLoadException($"invalid {Architecture} config: {message}");
        }
    }
}
