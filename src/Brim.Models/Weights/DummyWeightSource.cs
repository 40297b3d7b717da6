namespace Brim.Models;

/// <summary>
/// Synthetic weights of the right shapes for a config (the <c>dummy</c> load format): every tensor of the
/// <see cref="WeightManifest"/>, generated on demand by <see cref="DummyWeights"/>. Nothing is held in memory, so a
/// Llama-3.1-8B-shaped model costs no RAM until a backend reads it.
/// </summary>
public sealed class DummyWeightSource : IWeightSource
{
    // Elements generated per step of ReadRaw; small enough for the stack.
    private const int ChunkElements = 1024;

    private readonly Dictionary<string, TensorInfo> _tensors;
    private readonly int _seed;

    public DummyWeightSource(ModelConfig config, int seed)
    {
        _tensors = WeightManifest.For(config).ToDictionary(t => t.Name, StringComparer.Ordinal);
        Tensors = _tensors.Values.ToArray();
        DummySeed = _seed = seed;
    }

    public IReadOnlyCollection<TensorInfo> Tensors { get; }

    public int? DummySeed { get; }

    public bool Contains(string name) => _tensors.ContainsKey(name);

    public TensorInfo GetInfo(string name) =>
        _tensors.TryGetValue(name, out var info) ? info : throw new ModelLoadException($"tensor {name} is not in this model");

    public void ReadRaw(string name, long byteOffset, Span<byte> destination)
    {
        var info = GetInfo(name);
        WeightSourceChecks.CheckRawRange(info, byteOffset, destination.Length);
        var elementSize = info.DType.ByteSize();
        if (byteOffset % elementSize != 0 || destination.Length % elementSize != 0)
        {
            throw new ArgumentException($"dummy {info} is read in whole {elementSize}-byte elements; got offset {byteOffset}, length {destination.Length}");
        }

        Span<float> values = stackalloc float[ChunkElements];
        var first = byteOffset / elementSize;
        var count = destination.Length / elementSize;
        for (var done = 0; done < count; done += ChunkElements)
        {
            var chunk = values[..Math.Min(ChunkElements, count - done)];
            DummyWeights.Fill(_seed, info, first + done, chunk);
            DTypeConversion.FromFloat32(chunk, info.DType, destination.Slice(done * elementSize, chunk.Length * elementSize));
        }
    }

    /// <summary>The float32 values as stored: rounded through the config's dtype, exactly what <see cref="ReadRaw"/> yields.</summary>
    public void ReadAsFloat32(string name, Span<float> destination)
    {
        var info = GetInfo(name);
        WeightSourceChecks.CheckFloatLength(info, destination.Length);
        DummyWeights.Fill(_seed, info, 0, destination);
        if (info.DType != TensorDType.F32)
        {
            RoundThrough(info.DType, destination);
        }
    }

    public void Dispose()
    {
    }

    private static void RoundThrough(TensorDType dtype, Span<float> values)
    {
        Span<byte> stored = stackalloc byte[ChunkElements * sizeof(float)];
        for (var start = 0; start < values.Length; start += ChunkElements)
        {
            var chunk = values.Slice(start, Math.Min(ChunkElements, values.Length - start));
            var bytes = stored[..(chunk.Length * dtype.ByteSize())];
            DTypeConversion.FromFloat32(chunk, dtype, bytes);
            DTypeConversion.ToFloat32(bytes, dtype, chunk);
        }
    }
}
