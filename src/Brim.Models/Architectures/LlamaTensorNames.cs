namespace Brim.Models;

/// <summary>
/// Hugging Face names of the tensors of a Llama-family decoder. Every format is exposed under these names, so backends
/// know one naming scheme whatever the file on disk.
/// </summary>
public static class LlamaTensorNames
{
    public const string Embedding = "model.embed_tokens.weight";

    public const string FinalNorm = "model.norm.weight";

    /// <summary>Present only when the output projection is not tied to the embedding.</summary>
    public const string LmHead = "lm_head.weight";

    public static string InputNorm(int layer) => $"model.layers.{layer}.input_layernorm.weight";

    public static string PostAttentionNorm(int layer) => $"model.layers.{layer}.post_attention_layernorm.weight";

    public static string QueryWeight(int layer) => $"model.layers.{layer}.self_attn.q_proj.weight";

    public static string KeyWeight(int layer) => $"model.layers.{layer}.self_attn.k_proj.weight";

    public static string ValueWeight(int layer) => $"model.layers.{layer}.self_attn.v_proj.weight";

    public static string OutputWeight(int layer) => $"model.layers.{layer}.self_attn.o_proj.weight";

    public static string QueryBias(int layer) => $"model.layers.{layer}.self_attn.q_proj.bias";

    public static string KeyBias(int layer) => $"model.layers.{layer}.self_attn.k_proj.bias";

    public static string ValueBias(int layer) => $"model.layers.{layer}.self_attn.v_proj.bias";

    public static string OutputBias(int layer) => $"model.layers.{layer}.self_attn.o_proj.bias";

    /// <summary>llama2.c's w1.</summary>
    public static string GateWeight(int layer) => $"model.layers.{layer}.mlp.gate_proj.weight";

    /// <summary>llama2.c's w3.</summary>
    public static string UpWeight(int layer) => $"model.layers.{layer}.mlp.up_proj.weight";

    /// <summary>llama2.c's w2.</summary>
    public static string DownWeight(int layer) => $"model.layers.{layer}.mlp.down_proj.weight";
}
