using Brim.Backends.Cuda.Interop;

namespace Brim.Backends.Cuda.Kernels;

/// <summary>
/// Launcher for gemv.cu: linear layers over at most <see cref="MaxRows"/> token rows on CUDA cores, one warp per weight
/// row reading 512 contiguous bytes per load (decode steps of small batches are pure weight streaming). Variants fuse
/// SwiGLU into the gate/up projection and the residual add into the output projections.
/// </summary>
internal sealed class GemvKernel : IDisposable
{
    /// <summary>Most token rows one launch covers (each row adds fp32 work per weight byte; beyond this cuBLAS wins).</summary>
    public const int MaxRows = 8;

    private const int Warps = 8;
    private const int ModeBf16 = 0, ModeF32 = 1, ModeGated = 2, ModeResidual = 3;
    private readonly CudaModule _module;
    private readonly KernelFunction[] _byRows;

    public GemvKernel(CudaDevice device, KernelCompiler compiler)
    {
        _module = new CudaModule(device, compiler.Compile("gemv.cu"), "gemv.cu");
        _byRows = [.. Enumerable.Range(1, MaxRows).Select(m => _module.GetFunction($"gemv_{m}").WithProgrammaticLaunch())];
    }

    /// <summary>Whether a layer of this shape can run here: few rows, and rows of whole 16-byte chunks.</summary>
    public static bool Fits(int rows, int inFeatures) => rows is > 0 and <= MaxRows && inFeatures % 8 == 0;

    /// <summary>y[rows, outFeatures] = x[rows, inFeatures] · w[outFeatures, inFeatures]ᵀ, bf16 operands, y bf16 or fp32.</summary>
    public void Linear(CudaStream stream, ulong w, ulong x, ulong y, int rows, int inFeatures, int outFeatures, bool fp32Output = false)
        => Run(stream, w, x, y, rows, inFeatures, outFeatures, fp32Output ? ModeF32 : ModeBf16);

    /// <summary>residual[rows, outFeatures] += x · wᵀ, with the fp32 residual stream updated in place.</summary>
    public void AddInto(CudaStream stream, ulong w, ulong x, ulong residual, int rows, int inFeatures, int outFeatures)
        => Run(stream, w, x, residual, rows, inFeatures, outFeatures, ModeResidual);

    /// <summary>
    /// output[rows, ff] = silu(x · gateᵀ) * (x · upᵀ) where <paramref name="gateUp"/> is [2·ff, inFeatures]: the ff gate
    /// rows, then the ff up rows (the fused SwiGLU projection).
    /// </summary>
    public void GateUpSilu(CudaStream stream, ulong gateUp, ulong x, ulong output, int rows, int inFeatures, int ff)
        => Run(stream, gateUp, x, output, rows, inFeatures, ff, ModeGated);

    public void Dispose() => _module.Dispose();

    private void Run(CudaStream stream, ulong w, ulong x, ulong y, int rows, int inFeatures, int outputs, int mode)
    {
        Launch.Positive(outputs, nameof(outputs));
        if (!Fits(rows, inFeatures))
        {
            throw new ArgumentException($"gemv needs 1..{MaxRows} rows and in_features a multiple of 8, got rows {rows}, in {inFeatures}");
        }

        if ((w | x) % 16 != 0)
        {
            throw new ArgumentException("gemv needs 16-byte aligned weights and activations");
        }

        var a = default(KernelArguments);
        a.Add(w);
        a.Add(x);
        a.Add(y);
        a.Add(outputs);
        a.Add(inFeatures);
        a.Add(mode);
        _byRows[rows - 1].Launch(stream, (outputs + Warps - 1) / Warps, Warps * 32, ref a);
    }
}
