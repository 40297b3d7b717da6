namespace Brim.Models.Tests;

/// <summary>Configs and config.json texts shared by the tests.</summary>
internal static class SmallConfigs
{
    /// <summary>Llama-3.1-8B's config.json (shape fields as published; no weights exist here).</summary>
    public const string Llama31_8BConfigJson = """
        {
          "architectures": ["LlamaForCausalLM"], "hidden_size": 4096, "intermediate_size": 14336, "num_hidden_layers": 32,
          "num_attention_heads": 32, "num_key_value_heads": 8, "vocab_size": 128256, "max_position_embeddings": 131072,
          "rms_norm_eps": 1e-05, "rope_theta": 500000.0, "tie_word_embeddings": false, "torch_dtype": "bfloat16",
          "rope_scaling": {"factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0, "original_max_position_embeddings": 8192, "rope_type": "llama3"},
          "bos_token_id": 128000, "eos_token_id": [128001, 128008, 128009], "hidden_act": "silu"
        }
        """;

    public static ModelConfig Llama(TensorDType dtype) => new()
    {
        Architecture = "LlamaForCausalLM",
        HiddenSize = 32,
        IntermediateSize = 48,
        NumLayers = 2,
        NumHeads = 4,
        NumKvHeads = 2,
        HeadDim = 8,
        VocabSize = 100,
        MaxPositions = 64,
        TieWordEmbeddings = true,
        WeightDType = dtype,
    };
}
