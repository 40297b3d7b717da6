namespace Brim.Backends.Cuda.Weights;

/// <summary>
/// Device addresses of one decoder layer's weights: norms and biases in bf16, the projections (fused where they share
/// an input) bf16 or quantized.
/// </summary>
internal readonly record struct LayerWeights(
    ulong InputNorm,
    LinearWeight Qkv,
    ulong QkvBias,
    LinearWeight Output,
    ulong PostAttentionNorm,
    LinearWeight GateUp,
    LinearWeight Down);
