using Brim.Backends.Cuda.Interop;

namespace Brim.Backends.Cuda.Kernels;

/// <summary>Launchers for convert.cu and dummy.cu: producing bf16 weights on the device.</summary>
internal sealed class WeightKernels : IDisposable
{
    private readonly CudaModule _convert;
    private readonly CudaModule _dummy;
    private readonly KernelFunction _f32ToBf16;
    private readonly KernelFunction _f16ToBf16;
    private readonly KernelFunction _dummyFill;

    public WeightKernels(CudaDevice device, KernelCompiler compiler)
    {
        _convert = new CudaModule(device, compiler.Compile("convert.cu"), "convert.cu");
        _dummy = new CudaModule(device, compiler.Compile("dummy.cu"), "dummy.cu");
        _f32ToBf16 = _convert.GetFunction("f32_to_bf16");
        _f16ToBf16 = _convert.GetFunction("f16_to_bf16");
        _dummyFill = _dummy.GetFunction("dummy_fill");
    }

    /// <summary>Which formula of the dummy spec a tensor follows.</summary>
    public enum DummyKind
    {
        NormWeight = 0,
        Bias = 1,
        Matrix = 2,
    }

    public void F32ToBf16(CudaStream stream, ulong source, ulong destination, long elements) => Convert(_f32ToBf16, stream, source, destination, elements);

    public void F16ToBf16(CudaStream stream, ulong source, ulong destination, long elements) => Convert(_f16ToBf16, stream, source, destination, elements);

    /// <summary>Writes elements 0..count-1 of the dummy tensor with FNV-1a name hash <paramref name="nameHash"/> as bf16.</summary>
    public void DummyFill(CudaStream stream, ulong destination, long count, int seed, ulong nameHash, DummyKind kind, long columns, bool storedAsF16)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(count);
        var a = default(KernelArguments);
        a.Add(destination);
        a.Add(count);
        a.Add((ulong)(long)seed);
        a.Add(nameHash);
        a.Add((int)kind);
        a.Add(MathF.Sqrt(columns));
        a.Add(storedAsF16 ? 1 : 0);
        _dummyFill.Launch(stream, Launch.GridStrideBlocks(count), 256, ref a);
    }

    public void Dispose()
    {
        _convert.Dispose();
        _dummy.Dispose();
    }

    private static void Convert(KernelFunction function, CudaStream stream, ulong source, ulong destination, long elements)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(elements);
        var a = default(KernelArguments);
        a.Add(source);
        a.Add(destination);
        a.Add(elements);
        function.Launch(stream, Launch.GridStrideBlocks(elements), 256, ref a);
    }
}
