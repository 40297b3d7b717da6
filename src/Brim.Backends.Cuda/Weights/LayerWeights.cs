namespace Brim.Backends.Cuda.Weights;

/// <summary>Device addresses of one decoder layer's bf16 weights (projections fused where they share an input).</summary>
internal readonly record struct LayerWeights(
    ulong InputNorm,
    ulong Qkv,
    ulong QkvBias,
    ulong Output,
    ulong PostAttentionNorm,
    ulong GateUp,
    ulong Down);
