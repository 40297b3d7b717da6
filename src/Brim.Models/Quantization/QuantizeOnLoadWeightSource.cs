namespace Brim.Models;

/// <summary>
/// A float checkpoint (or dummy weights) with its decoder's linear weights rounded through a quantized format as they
/// are read (<see cref="WeightQuantizer"/>): they read as float32 holding only values the format can represent.
/// Embeddings, norms and lm_head stay as they are, as AWQ, GPTQ and vLLM's on-load FP8 leave them.
/// </summary>
internal sealed class QuantizeOnLoadWeightSource : IWeightSource
{
    private readonly IWeightSource _inner;
    private readonly WeightQuantization _kind;
    private readonly Dictionary<string, TensorInfo> _linears;

    public QuantizeOnLoadWeightSource(IWeightSource inner, ModelConfig config, WeightQuantization kind)
    {
        _inner = inner;
        _kind = kind;
        _linears = DecoderLinears(config).Where(inner.Contains)
            .Select(name => inner.GetInfo(name) with { DType = TensorDType.F32 })
            .ToDictionary(t => t.Name, StringComparer.Ordinal);
        Tensors = inner.Tensors.Select(t => _linears.GetValueOrDefault(t.Name, t)).ToArray();
    }

    public IReadOnlyCollection<TensorInfo> Tensors { get; }

    /// <summary>Null even over dummy weights: a backend that generates dummy weights itself would skip the rounding.</summary>
    public int? DummySeed => null;

    /// <summary>The q/k/v/o and gate/up/down weights of every layer.</summary>
    public static IEnumerable<string> DecoderLinears(ModelConfig config) =>
        Enumerable.Range(0, config.NumLayers).SelectMany(layer => new[]
        {
            LlamaTensorNames.QueryWeight(layer), LlamaTensorNames.KeyWeight(layer), LlamaTensorNames.ValueWeight(layer), LlamaTensorNames.OutputWeight(layer),
            LlamaTensorNames.GateWeight(layer), LlamaTensorNames.UpWeight(layer), LlamaTensorNames.DownWeight(layer),
        });

    public bool Contains(string name) => _inner.Contains(name);

    public TensorInfo GetInfo(string name) => _linears.TryGetValue(name, out var info) ? info : _inner.GetInfo(name);

    public void ReadRaw(string name, long byteOffset, Span<byte> destination)
    {
        if (!_linears.TryGetValue(name, out var info))
        {
            _inner.ReadRaw(name, byteOffset, destination);
            return;
        }

        WeightSourceChecks.CheckRawRange(info, byteOffset, destination.Length);
        var values = new float[info.ElementCount];
        ReadAsFloat32(name, values);
        System.Runtime.InteropServices.MemoryMarshal.AsBytes(values.AsSpan()).Slice((int)byteOffset, destination.Length).CopyTo(destination);
    }

    public void ReadAsFloat32(string name, Span<float> destination)
    {
        _inner.ReadAsFloat32(name, destination);
        if (_linears.TryGetValue(name, out var info))
        {
            WeightQuantizer.RoundTrip(_kind, destination, (int)info.Shape[0], (int)info.Shape[1]);
        }
    }

    public void Dispose() => _inner.Dispose();
}
