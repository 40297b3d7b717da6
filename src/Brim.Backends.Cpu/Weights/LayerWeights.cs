namespace Brim.Backends.Cpu.Weights;

/// <summary>One decoder layer's tensors as float32; linear weights are [out, in] row-major.</summary>
internal sealed record LayerWeights(
    float[] AttentionNorm,
    float[] Query,
    float[] Key,
    float[] Value,
    float[]? QueryBias,
    float[]? KeyBias,
    float[]? ValueBias,
    float[] Output,
    float[] FeedForwardNorm,
    float[] Gate,
    float[] Up,
    float[] Down);
