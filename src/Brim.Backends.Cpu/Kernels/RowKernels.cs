using System.Numerics.Tensors;

namespace Brim.Backends.Cpu.Kernels;

/// <summary>Per-token operations. Each call sees exactly one token's row, so its arithmetic cannot depend on the batch.</summary>
internal static class RowKernels
{
    /// <summary>output = weight ⊙ (x / sqrt(mean(x²) + eps)), as llama2.c and transformers compute it in float32.</summary>
    public static void RmsNorm(ReadOnlySpan<float> x, ReadOnlySpan<float> weight, Span<float> output, float epsilon)
    {
        var meanSquare = FixedOrderMath.SumOfSquares(x) / x.Length;
        var inverseRms = 1f / MathF.Sqrt(meanSquare + epsilon);
        TensorPrimitives.Multiply(x, inverseRms, output);
        TensorPrimitives.Multiply(output, weight, output);
    }

    /// <summary>output = silu(gate) ⊙ up, with silu(g) = g · sigmoid(g).</summary>
    public static void SwiGlu(ReadOnlySpan<float> gate, ReadOnlySpan<float> up, Span<float> output)
    {
        // Row by row on purpose: vectorized and scalar sigmoid may round differently, and TensorPrimitives picks
        // the path from the span length, which must therefore not depend on the number of tokens in the step.
        Span<float> sigmoid = stackalloc float[Math.Min(gate.Length, 1024)];
        for (var start = 0; start < gate.Length; start += sigmoid.Length)
        {
            var length = Math.Min(sigmoid.Length, gate.Length - start);
            var g = gate.Slice(start, length);
            var s = sigmoid[..length];
            var o = output.Slice(start, length);
            TensorPrimitives.Sigmoid(g, s);
            TensorPrimitives.Multiply(g, s, o);
            TensorPrimitives.Multiply(o, up.Slice(start, length), o);
        }
    }
}
