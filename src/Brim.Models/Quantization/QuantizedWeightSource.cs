using System.Runtime.InteropServices;

namespace Brim.Models;

/// <summary>
/// The weights of a quantized checkpoint under the names every backend knows: each quantized linear reads as its float32
/// weight [out, in], dequantized from the raw tensors on every read (dequantize on load: the CPU backend reads each
/// weight once); every other tensor (embeddings, norms, a float lm_head) passes through. The raw tensors stay reachable
/// through <see cref="Packed"/> for a backend that runs the packed form.
/// </summary>
internal sealed class QuantizedWeightSource : IWeightSource
{
    private readonly Dictionary<string, QuantizedLinear> _linears;
    private readonly Dictionary<string, TensorInfo> _tensors;

    public QuantizedWeightSource(IWeightSource packed, IReadOnlyList<QuantizedLinear> linears)
    {
        Packed = packed;
        _linears = linears.ToDictionary(l => l.WeightName, StringComparer.Ordinal);
        var consumed = linears.SelectMany(l => new[] { l.Codes, l.Scales, l.Zeros, l.GroupIndex, l.InputScale }).OfType<string>().ToHashSet(StringComparer.Ordinal);
        _tensors = packed.Tensors.Where(t => !consumed.Contains(t.Name)).ToDictionary(t => t.Name, StringComparer.Ordinal);
        foreach (var linear in linears)
        {
            _tensors[linear.WeightName] = new TensorInfo(linear.WeightName, TensorDType.F32, [linear.OutFeatures, linear.InFeatures]);
        }

        Tensors = _tensors.Values.ToArray();
    }

    /// <summary>The checkpoint's tensors as stored (qweight, qzeros, scales, F8_E4M3 weights, ...).</summary>
    public IWeightSource Packed { get; }

    public IReadOnlyCollection<TensorInfo> Tensors { get; }

    public int? DummySeed => null;

    public bool Contains(string name) => _tensors.ContainsKey(name);

    public TensorInfo GetInfo(string name) =>
        _tensors.TryGetValue(name, out var info) ? info : throw new ModelLoadException($"tensor {name} is not in this model");

    /// <summary>A quantized linear's bytes are those of its float32 weight (dequantized whole, then copied).</summary>
    public void ReadRaw(string name, long byteOffset, Span<byte> destination)
    {
        if (!_linears.TryGetValue(name, out var linear))
        {
            Packed.ReadRaw(name, byteOffset, destination);
            return;
        }

        var info = GetInfo(name);
        WeightSourceChecks.CheckRawRange(info, byteOffset, destination.Length);
        var values = new float[info.ElementCount];
        linear.Dequantize(Packed, values);
        MemoryMarshal.AsBytes(values.AsSpan()).Slice((int)byteOffset, destination.Length).CopyTo(destination);
    }

    public void ReadAsFloat32(string name, Span<float> destination)
    {
        if (!_linears.TryGetValue(name, out var linear))
        {
            Packed.ReadAsFloat32(name, destination);
            return;
        }

        WeightSourceChecks.CheckFloatLength(GetInfo(name), destination.Length);
        linear.Dequantize(Packed, destination);
    }

    public void Dispose() => Packed.Dispose();
}
