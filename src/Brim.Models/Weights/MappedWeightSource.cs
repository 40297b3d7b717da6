namespace Brim.Models;

/// <summary>Where one tensor's bytes lie: a file and a byte offset in it.</summary>
internal readonly record struct MappedTensor(TensorInfo Info, MappedFile File, long Offset);

/// <summary>
/// Tensors that lie in memory-mapped files (llama2.c checkpoints, safetensors shards). Reads are plain copies out of
/// the page cache, safe from any number of threads.
/// </summary>
internal sealed class MappedWeightSource : IWeightSource
{
    private const int ChunkElements = 1 << 24;

    private readonly Dictionary<string, MappedTensor> _tensors;
    private readonly IReadOnlyList<MappedFile> _files;

    /// <param name="tensors">Tensors by name; every range must already be checked against its file's length.</param>
    /// <param name="files">The files this source owns and disposes.</param>
    public MappedWeightSource(IEnumerable<MappedTensor> tensors, IReadOnlyList<MappedFile> files)
    {
        _tensors = tensors.ToDictionary(t => t.Info.Name, StringComparer.Ordinal);
        _files = files;
        foreach (var tensor in _tensors.Values)
        {
            if (tensor.Offset < 0 || tensor.Offset + tensor.Info.ByteCount > tensor.File.Length)
            {
                throw new ModelLoadException($"{tensor.File.Path}: tensor {tensor.Info.Name} lies outside the file (truncated?)");
            }
        }

        Tensors = _tensors.Values.Select(t => t.Info).ToArray();
    }

    public IReadOnlyCollection<TensorInfo> Tensors { get; }

    public int? DummySeed => null;

    public bool Contains(string name) => _tensors.ContainsKey(name);

    public TensorInfo GetInfo(string name) => Get(name).Info;

    public void ReadRaw(string name, long byteOffset, Span<byte> destination)
    {
        var tensor = Get(name);
        WeightSourceChecks.CheckRawRange(tensor.Info, byteOffset, destination.Length);
        tensor.File.Span(tensor.Offset + byteOffset, destination.Length).CopyTo(destination);
    }

    public void ReadAsFloat32(string name, Span<float> destination)
    {
        var tensor = Get(name);
        WeightSourceChecks.CheckFloatLength(tensor.Info, destination.Length);
        var elementSize = tensor.Info.DType.ByteSize();

        // Chunked because a span of the stored bytes of a large float32 tensor could exceed int.MaxValue.
        for (var start = 0; start < destination.Length; start += ChunkElements)
        {
            var count = Math.Min(ChunkElements, destination.Length - start);
            var stored = tensor.File.Span(tensor.Offset + ((long)start * elementSize), count * elementSize);
            DTypeConversion.ToFloat32(stored, tensor.Info.DType, destination.Slice(start, count));
        }
    }

    public void Dispose()
    {
        foreach (var file in _files)
        {
            file.Dispose();
        }
    }

    private MappedTensor Get(string name) =>
        _tensors.TryGetValue(name, out var tensor)
            ? tensor
            : throw new ModelLoadException($"tensor {name} is not in this model");
}
