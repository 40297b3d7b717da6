namespace Brim.Backends.Cpu.Weights;

/// <summary>
/// One decoder layer's tensors as float32; linear weights are [out, in] row-major. Projections that read the same
/// input are stacked into one matrix (q, k, v → <see cref="QueryKeyValue"/>; gate, up → <see cref="GateUp"/>) so one
/// parallel pass computes them: stacking rows changes no output element's arithmetic.
/// </summary>
internal sealed record LayerWeights(
    float[] AttentionNorm,
    float[] QueryKeyValue,
    float[]? QueryKeyValueBias,
    float[] Output,
    float[] FeedForwardNorm,
    float[] GateUp,
    float[] Down);
