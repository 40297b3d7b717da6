namespace Brim.Backends.Cpu.Weights;

/// <summary>
/// One decoder layer's tensors as float32; linear weights are [out, in] row-major. Projections that read the same
/// input are stacked into one matrix (q, k, v → <see cref="QueryKeyValue"/>; gate, up → <see cref="GateUp"/>) so one
/// parallel pass computes them: stacking rows changes no output element's arithmetic. Biases are null when absent
/// (q/k/v biases come with Qwen2; o_proj and MLP biases with Llama's attention_bias / mlp_bias).
/// </summary>
internal sealed record LayerWeights(
    float[] AttentionNorm,
    float[] QueryKeyValue,
    float[]? QueryKeyValueBias,
    float[] Output,
    float[]? OutputBias,
    float[] FeedForwardNorm,
    float[] GateUp,
    float[]? GateUpBias,
    float[] Down,
    float[]? DownBias);
