using Brim.Backends.Cuda.Interop;
using Brim.Backends.Cuda.Weights;

namespace Brim.Backends.Cuda.Kernels;

/// <summary>
/// Launcher for quant_mma.cu: quantized linear layers on tensor cores for steps past <see cref="QuantGemvKernel.MaxRows"/>
/// rows, the weights dequantized in registers into the mma fragments (read once per 64 tokens). Beyond
/// <see cref="DefaultMaxRows"/> rows the weight is dequantized to bf16 for cuBLAS instead (prefill-sized, compute-bound).
/// </summary>
internal sealed class QuantMmaKernel : IDisposable
{
    /// <summary>
    /// Most token rows this kernel takes by default; beyond, dequantizing for cuBLAS is faster. H100, 8B shape, int4
    /// (2026-12-07): steps of 16 rows 9.2 ms here against about 14 dequantized (bf16 7.0 + the 7.5 ms pass over the
    /// weights), of 64 rows 22.2 ms here against about 16.5: the crossover lies between, 32 taken.
    /// </summary>
    public const int DefaultMaxRows = 32;

    private const int Threads = 128;
    private const int RowsPerBlock = 16;
    private readonly CudaModule _module;
    private readonly Dictionary<int, KernelFunction> _byTiles;

    public QuantMmaKernel(CudaDevice device, KernelCompiler compiler, WeightFormat format)
    {
        if (format == WeightFormat.Bf16)
        {
            throw new ArgumentException("quant_mma runs quantized formats", nameof(format));
        }

        Format = format;
        _module = new CudaModule(device, compiler.Compile("quant_mma.cu", new Dictionary<string, int> { ["QUANT_FORMAT"] = (int)format }), $"quant_mma.cu ({format})");
        _byTiles = new[] { 1, 2, 4, 8 }.ToDictionary(nt => nt, nt => _module.GetFunction($"quant_mma_{nt}"));
    }

    public WeightFormat Format { get; }

    /// <summary>y[rows, outFeatures] = x[rows, inFeatures] · wᵀ, y bf16.</summary>
    public void Linear(CudaStream stream, LinearWeight w, ulong x, ulong y, int rows, int inFeatures, int outFeatures)
    {
        Launch.Positive(rows, nameof(rows));
        Launch.Positive(outFeatures, nameof(outFeatures));
        if (w.Format != Format || LinearWeight.Unsupported(Format, inFeatures, w.GroupWidth) is not null)
        {
            throw new ArgumentException($"quant_mma ({Format}) cannot run a {w.Format} weight of {inFeatures} inputs in groups of {w.GroupWidth}");
        }

        if ((w.Codes | x) % 16 != 0 || w.Scales % 4 != 0)
        {
            throw new ArgumentException("quant_mma needs 16-byte aligned codes and activations, 4-byte aligned scales");
        }

        // n8 tiles per CTA: the fewest that cover the rows, at most 8 (64 tokens); more rows take more CTAs along y.
        var tiles = Math.Min(8, (int)System.Numerics.BitOperations.RoundUpToPowerOf2((uint)((rows + 7) / 8)));
        var tokenBlocks = (rows + (8 * tiles) - 1) / (8 * tiles);
        var a = w.KernelArguments(x, y);
        a.Add(rows);
        a.Add(outFeatures);
        a.Add(inFeatures);
        a.Add(w.GroupWidth);
        _byTiles[tiles].Launch(stream, ((outFeatures + RowsPerBlock - 1) / RowsPerBlock, tokenBlocks, 1), Threads, ref a);
    }

    public void Dispose() => _module.Dispose();
}
