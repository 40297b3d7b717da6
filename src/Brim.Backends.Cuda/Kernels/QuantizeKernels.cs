using Brim.Backends.Cuda.Interop;
using Brim.Backends.Cuda.Weights;

namespace Brim.Backends.Cuda.Kernels;

/// <summary>
/// Launchers for quant_convert.cu: bf16 rows into a quantized layout (on load, the CPU's <c>WeightQuantizer</c> math),
/// and a quantized weight back to bf16 (for steps whose product runs on cuBLAS).
/// </summary>
internal sealed class QuantizeKernels : IDisposable
{
    private const int Threads = 256;
    private readonly CudaModule _module;
    private readonly int _computeCapability;
    private readonly Dictionary<string, KernelFunction> _functions;

    public QuantizeKernels(CudaDevice device, KernelCompiler compiler)
    {
        _computeCapability = compiler.ComputeCapability;
        _module = new CudaModule(device, compiler.Compile("quant_convert.cu"), "quant_convert.cu");
        _functions = new[] { "quantize_rows_fp8", "quantize_rows_int8", "quantize_groups_int4", "dequantize_fp8", "dequantize_int8", "dequantize_int4" }
            .ToDictionary(name => name, _module.GetFunction, StringComparer.Ordinal);
    }

    /// <summary>
    /// Quantizes bf16 <paramref name="source"/> [rows, inFeatures] into <paramref name="target"/>'s layout at row
    /// <paramref name="firstRow"/> (fused projections fill their parts one after another).
    /// </summary>
    public void Quantize(CudaStream stream, ulong source, LinearWeight target, int firstRow, int rows, int inFeatures)
    {
        Launch.Positive(rows, nameof(rows));
        if (LinearWeight.Unsupported(target.Format, inFeatures, target.GroupWidth) is { } why)
        {
            throw new ArgumentException(why);
        }

        var codes = target.Codes + (ulong)LinearWeight.CodeBytes(target.Format, firstRow, inFeatures);
        var scales = target.Scales + (ulong)LinearWeight.ScaleBytes(target.Format, firstRow, inFeatures, target.GroupWidth);
        var a = default(KernelArguments);
        a.Add(source);
        a.Add(codes);
        a.Add(scales);
        switch (target.Format)
        {
            case WeightFormat.Fp8:
                if (_computeCapability < CudaBackend.MinFp8ComputeCapability)
                {
                    throw new NotSupportedException($"fp8 weights need compute capability 8.9 or newer for E4M3 conversion, this GPU is {_computeCapability / 10}.{_computeCapability % 10}");
                }

                if (inFeatures % 8 != 0 || source % 16 != 0)
                {
                    throw new ArgumentException($"fp8 quantization reads rows in 16-byte chunks: {inFeatures} inputs a row (a multiple of 8) from a 16-byte aligned source");
                }

                a.Add(inFeatures);
                _functions["quantize_rows_fp8"].Launch(stream, rows, Threads, ref a);
                break;
            case WeightFormat.Int8:
                a.Add(inFeatures);
                _functions["quantize_rows_int8"].Launch(stream, rows, Threads, ref a);
                break;
            case WeightFormat.Int4:
                a.Add(rows);
                a.Add(inFeatures);
                a.Add(target.GroupWidth);
                var warps = (long)rows * (inFeatures / target.GroupWidth);
                _functions["quantize_groups_int4"].Launch(stream, (int)((warps + (Threads / 32) - 1) / (Threads / 32)), Threads, ref a);
                break;
            default:
                throw new ArgumentException($"cannot quantize into {target.Format}");
        }
    }

    /// <summary>Writes <paramref name="weight"/> [rows, inFeatures] as bf16 at <paramref name="destination"/>.</summary>
    public void Dequantize(CudaStream stream, LinearWeight weight, ulong destination, int rows, int inFeatures)
    {
        Launch.Positive(rows, nameof(rows));
        var function = weight.Format switch
        {
            WeightFormat.Fp8 => "dequantize_fp8",
            WeightFormat.Int8 => "dequantize_int8",
            WeightFormat.Int4 => "dequantize_int4",
            _ => throw new ArgumentException($"{weight.Format} is not quantized"),
        };
        var a = default(KernelArguments);
        a.Add(weight.Codes);
        a.Add(weight.Scales);
        a.Add(destination);
        a.Add(rows);
        a.Add(inFeatures);
        a.Add(weight.GroupWidth);
        _functions[function].Launch(stream, Launch.GridStrideBlocks((long)rows * inFeatures / 8, Threads), Threads, ref a);
    }

    public void Dispose() => _module.Dispose();
}
