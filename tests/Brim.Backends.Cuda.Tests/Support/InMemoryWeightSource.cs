using Brim.Models;

namespace Brim.Backends.Cuda.Tests.Support;

/// <summary>Tensors held as stored bytes in memory (BF16, F16 or F32): a real <see cref="IWeightSource"/> for tests.</summary>
internal sealed class InMemoryWeightSource : IWeightSource
{
    private readonly Dictionary<string, (TensorInfo Info, byte[] Bytes)> _tensors = new(StringComparer.Ordinal);

    public IReadOnlyCollection<TensorInfo> Tensors => _tensors.Values.Select(t => t.Info).ToArray();

    public int? DummySeed => null;

    public void Add(string name, TensorDType dtype, long[] shape, ReadOnlySpan<float> values)
    {
        var info = new TensorInfo(name, dtype, shape);
        Assert.Equal(info.ElementCount, values.Length);
        var bytes = new byte[info.ByteCount];
        DTypeConversion.FromFloat32(values, dtype, bytes);
        _tensors[name] = (info, bytes);
    }

    public bool Contains(string name) => _tensors.ContainsKey(name);

    public TensorInfo GetInfo(string name)
        => _tensors.TryGetValue(name, out var t) ? t.Info : throw new ModelLoadException($"tensor {name} not found");

    public void ReadRaw(string name, long byteOffset, Span<byte> destination)
        => _tensors[name].Bytes.AsSpan((int)byteOffset, destination.Length).CopyTo(destination);

    public void ReadAsFloat32(string name, Span<float> destination)
    {
        var (info, bytes) = _tensors[name];
        DTypeConversion.ToFloat32(bytes, info.DType, destination);
    }

    public void Dispose()
    {
    }
}
