using Brim.Backends.Cuda.Interop;
using Brim.Backends.Cuda.Tests.Reference;
using Brim.Backends.Cuda.Weights;

namespace Brim.Backends.Cuda.Tests.Support;

/// <summary>A random quantized weight [rows, inFeatures] uploaded to the device, with the float weights its CPU twin reads.</summary>
internal sealed class DeviceLayout : IDisposable
{
    private readonly DeviceBuffer _codes;
    private readonly DeviceBuffer _scales;

    public DeviceLayout(GpuFixture gpu, Random random, WeightFormat format, int rows, int inFeatures, int group)
    {
        var (codes, scales) = QuantLayouts.Random(random, format, rows, inFeatures, group);
        _codes = gpu.Upload<byte>(codes);
        _scales = gpu.Upload<byte>(scales);
        Weight = new LinearWeight(_codes.Pointer, _scales.Pointer, format, group);
        Floats = QuantLayouts.Dequantize(format, codes, scales, rows, inFeatures, group);
    }

    public LinearWeight Weight { get; }

    /// <summary>The weight as <see cref="QuantLayouts.Dequantize"/> computes it, [rows, inFeatures].</summary>
    public float[] Floats { get; }

    public void Dispose()
    {
        _codes.Dispose();
        _scales.Dispose();
    }
}
