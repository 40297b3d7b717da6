namespace Brim.Models;

/// <summary>
/// A weight source that reports the bytes read through it, against the stored bytes of the tensors the model needs (its
/// <see cref="WeightManifest"/>): what a backend reads while loading, whichever backend it is, without the backend
/// knowing. Reads of tensors outside the manifest are not counted (a loader never makes them).
/// </summary>
internal sealed class ReportingWeightSource : IWeightSource
{
    private readonly IWeightSource _inner;
    private readonly IProgress<LoadProgress> _progress;
    private readonly HashSet<string> _counted;
    private readonly long _total;
    private long _read;

    public ReportingWeightSource(IWeightSource inner, ModelConfig config, IProgress<LoadProgress> progress)
    {
        _inner = inner;
        _progress = progress;
        _counted = WeightManifest.For(config).Select(t => t.Name).Where(inner.Contains).ToHashSet(StringComparer.Ordinal);
        _total = _counted.Sum(name => inner.GetInfo(name).ByteCount);
    }

    public IReadOnlyCollection<TensorInfo> Tensors => _inner.Tensors;

    public int? DummySeed => _inner.DummySeed;

    public bool Contains(string name) => _inner.Contains(name);

    public TensorInfo GetInfo(string name) => _inner.GetInfo(name);

    public void ReadRaw(string name, long byteOffset, Span<byte> destination)
    {
        _inner.ReadRaw(name, byteOffset, destination);
        Count(name, destination.Length);
    }

    public void ReadAsFloat32(string name, Span<float> destination)
    {
        _inner.ReadAsFloat32(name, destination);
        Count(name, (long)destination.Length * _inner.GetInfo(name).DType.ByteSize());
    }

    public void Dispose() => _inner.Dispose();

    private void Count(string name, long bytes)
    {
        if (_counted.Contains(name))
        {
            _progress.Report(new LoadProgress(LoadPhase.Weights, Interlocked.Add(ref _read, bytes), _total));
        }
    }
}
