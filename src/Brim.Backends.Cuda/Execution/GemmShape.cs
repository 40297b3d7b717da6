namespace Brim.Backends.Cuda.Execution;

/// <summary>
/// One linear layer's product as cuBLAS sees it: y[Rows, OutFeatures] = x[Rows, InFeatures] · w[OutFeatures, InFeatures]ᵀ,
/// bf16 operands, fp32 accumulation, y bf16 or fp32 (logits). Algorithms are chosen per shape.
/// </summary>
internal readonly record struct GemmShape(int Rows, int OutFeatures, int InFeatures, bool Fp32Output)
{
    public double Flops => 2.0 * Rows * OutFeatures * InFeatures;

    public long WeightBytes => 2L * OutFeatures * InFeatures;

    /// <summary>The least a product moves: the weight, the activations in, the output.</summary>
    public long Bytes => WeightBytes + (2L * Rows * InFeatures) + ((Fp32Output ? 4L : 2L) * Rows * OutFeatures);

    public override string ToString() => $"rows {Rows}, out {OutFeatures}, in {InFeatures}{(Fp32Output ? ", fp32 out" : string.Empty)}";
}
