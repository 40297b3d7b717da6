using Brim.Models;

namespace Brim.Backends.Cpu.Tests;

/// <summary>
/// A random source plus the biases a Llama checkpoint with attention_bias and mlp_bias carries beyond q/k/v
/// (o_proj, gate/up/down), valued so that dropping any of them moves the logits.
/// </summary>
internal sealed class ExtraBiasWeightSource : IWeightSource
{
    private readonly RandomWeightSource _inner;
    private readonly Dictionary<string, TensorInfo> _biases = [];

    public ExtraBiasWeightSource(ModelConfig config, int seed)
    {
        _inner = new RandomWeightSource(config, seed);
        for (var i = 0; i < config.NumLayers; i++)
        {
            var p = $"model.layers.{i}.";
            Add(p + "self_attn.o_proj.bias", config.HiddenSize);
            Add(p + "mlp.gate_proj.bias", config.IntermediateSize);
            Add(p + "mlp.up_proj.bias", config.IntermediateSize);
            Add(p + "mlp.down_proj.bias", config.HiddenSize);
        }
    }

    public IReadOnlyCollection<TensorInfo> Tensors => [.. _inner.Tensors, .. _biases.Values];

    public int? DummySeed => null;

    public bool Contains(string name) => _biases.ContainsKey(name) || _inner.Contains(name);

    public TensorInfo GetInfo(string name) => _biases.TryGetValue(name, out var info) ? info : _inner.GetInfo(name);

    public void ReadRaw(string name, long byteOffset, Span<byte> destination) => throw new NotSupportedException("tests read float32 only");

    public void ReadAsFloat32(string name, Span<float> destination)
    {
        if (!_biases.ContainsKey(name))
        {
            _inner.ReadAsFloat32(name, destination);
            return;
        }

        for (var i = 0; i < destination.Length; i++)
        {
            destination[i] = 0.05f * MathF.Sin((i * 0.7f) + name.Length);
        }
    }

    public void Dispose() => _inner.Dispose();

    private void Add(string name, int length) => _biases.Add(name, new TensorInfo(name, TensorDType.F32, [length]));
}
