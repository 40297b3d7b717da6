using System.Text;

namespace Brim.Models;

/// <summary>How a dummy tensor's values are scaled (see <see cref="DummyWeights"/>).</summary>
public enum DummyTensorKind
{
    /// <summary>1-D tensor whose name ends with "norm.weight": 1 + 0.1 r.</summary>
    Norm,

    /// <summary>Any other 1-D tensor (biases): 0.02 r.</summary>
    Bias,

    /// <summary>2-D tensor (linear weight [out, in], embedding [vocab, hidden]): r / sqrt(shape[1]).</summary>
    Matrix,
}

/// <summary>
/// The values of the <c>dummy</c> load format. The CUDA backend generates the same function on the device, so both
/// backends see the same model; change nothing here without changing the kernel. The specification, to the bit:
/// <code>
/// element i (row-major, 0-based) of tensor `name` for seed `seed`:
///   h = FNV-1a 64 of the UTF-8 bytes of name (offset 0xcbf29ce484222325, prime 0x100000001b3)
///   z = (ulong)seed ^ h ^ ((ulong)i * 0x9E3779B97F4A7C15)          (seed sign-extended to 64 bits; wrapping multiply)
///   z += 0x9E3779B97F4A7C15; z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9; z = (z ^ (z >> 27)) * 0x94D049BB133111EB; z ^= z >> 31
///   u = (float)(z >> 40) * 2^-24                       (uniform in [0, 1))
///   r = 2u - 1                                          (uniform in [-1, 1))
///   value = 1 + 0.1 r          for 1-D tensors whose name ends with "norm.weight"
///         = 0.02 r             for other 1-D tensors (biases)
///         = r / sqrt(shape[1]) for 2-D tensors (linear weights [out, in] and embeddings [vocab, hidden])
///   stored in the config's dtype (bf16/f16 by round-to-nearest-even from the float32 value).
/// </code>
/// All arithmetic after <c>u</c> is float32, correctly rounded, one operation at a time: 0.1 and 0.02 are the float32
/// constants <c>0.1f</c>/<c>0.02f</c>, sqrt is the correctly rounded float32 sqrt of (float)shape[1], and nothing is
/// fused (a device compiler must not contract <c>1 + 0.1f * r</c> into an FMA: use __fmul_rn/__fadd_rn or --fmad=false).
/// u and r are exact, so only the last one or two roundings matter.
/// </summary>
public static class DummyWeights
{
    private const ulong FnvOffset = 0xcbf29ce484222325;
    private const ulong FnvPrime = 0x100000001b3;
    private const ulong Golden = 0x9E3779B97F4A7C15;
    private const float TwoToMinus24 = 1f / (1 << 24);

    /// <summary>FNV-1a 64 of the UTF-8 bytes of a tensor name.</summary>
    public static ulong HashName(string name)
    {
        var hash = FnvOffset;
        foreach (var b in Encoding.UTF8.GetBytes(name))
        {
            hash = (hash ^ b) * FnvPrime;
        }

        return hash;
    }

    /// <summary>The scaling rule of a tensor: by rank, and for 1-D tensors by name.</summary>
    public static DummyTensorKind KindOf(TensorInfo tensor) => tensor.Shape.Length switch
    {
        1 => tensor.Name.EndsWith("norm.weight", StringComparison.Ordinal) ? DummyTensorKind.Norm : DummyTensorKind.Bias,
        2 => DummyTensorKind.Matrix,
        _ => throw new ModelLoadException($"dummy weights are defined for 1-D and 2-D tensors only, not {tensor}"),
    };

    /// <summary>Element <paramref name="index"/> of a tensor whose name hashes to <paramref name="nameHash"/>.</summary>
    /// <param name="columns">shape[1] of a <see cref="DummyTensorKind.Matrix"/>; ignored otherwise.</param>
    public static float Value(int seed, ulong nameHash, long index, DummyTensorKind kind, long columns)
    {
        var r = Uniform(seed, nameHash, index);
        return kind switch
        {
            DummyTensorKind.Norm => 1f + (0.1f * r),
            DummyTensorKind.Bias => 0.02f * r,
            DummyTensorKind.Matrix => r / MathF.Sqrt(columns),
            _ => throw new ArgumentOutOfRangeException(nameof(kind)),
        };
    }

    /// <summary>Elements [firstElement, firstElement + destination.Length) of <paramref name="tensor"/> as float32.</summary>
    public static void Fill(int seed, TensorInfo tensor, long firstElement, Span<float> destination)
    {
        var kind = KindOf(tensor);
        var hash = HashName(tensor.Name);
        var columns = kind == DummyTensorKind.Matrix ? tensor.Shape[1] : 1;
        for (var i = 0; i < destination.Length; i++)
        {
            destination[i] = Value(seed, hash, firstElement + i, kind, columns);
        }
    }

    /// <summary>r in [-1, 1): splitmix64 of (seed, name, index), top 24 bits.</summary>
    private static float Uniform(int seed, ulong nameHash, long index)
    {
        var z = (ulong)seed ^ nameHash ^ unchecked((ulong)index * Golden);
        z = unchecked(z + Golden);
        z = unchecked((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9);
        z = unchecked((z ^ (z >> 27)) * 0x94D049BB133111EB);
        z ^= z >> 31;
        var u = (z >> 40) * TwoToMinus24;
        return (2f * u) - 1f;
    }
}
