using System.Runtime.InteropServices;
using Brim.Models;

namespace Brim.Backends.Cpu;

/// <summary>
/// Seeded random float32 weights for any <see cref="ModelConfig"/>, under the Hugging Face tensor names a Llama-family
/// backend reads. Values are generated on demand from (seed, tensor name), so nothing is stored and a source for a
/// billion-parameter shape costs no memory. For tests and benchmarks of components that need a model but not a
/// trained one. Scales keep activations O(1): linear weights ~ U(-1, 1) / sqrt(in), norms ~ 1 ± 0.1.
/// </summary>
public sealed class RandomWeightSource : IWeightSource
{
    private readonly Dictionary<string, TensorInfo> _tensors;
    private readonly int _seed;

    public RandomWeightSource(ModelConfig config, int seed)
    {
        ArgumentNullException.ThrowIfNull(config);
        config.Validate();
        _seed = seed;
        _tensors = [];
        int h = config.HiddenSize, q = config.QueryDim, kv = config.KvDim, ff = config.IntermediateSize, v = config.VocabSize;
        Add("model.embed_tokens.weight", v, h);
        for (var i = 0; i < config.NumLayers; i++)
        {
            var p = $"model.layers.{i}.";
            Add(p + "input_layernorm.weight", h);
            Add(p + "self_attn.q_proj.weight", q, h);
            Add(p + "self_attn.k_proj.weight", kv, h);
            Add(p + "self_attn.v_proj.weight", kv, h);
            if (config.AttentionBias)
            {
                Add(p + "self_attn.q_proj.bias", q);
                Add(p + "self_attn.k_proj.bias", kv);
                Add(p + "self_attn.v_proj.bias", kv);
            }

            Add(p + "self_attn.o_proj.weight", h, q);
            Add(p + "post_attention_layernorm.weight", h);
            Add(p + "mlp.gate_proj.weight", ff, h);
            Add(p + "mlp.up_proj.weight", ff, h);
            Add(p + "mlp.down_proj.weight", h, ff);
        }

        Add("model.norm.weight", h);
        if (!config.TieWordEmbeddings)
        {
            Add("lm_head.weight", v, h);
        }
    }

    public IReadOnlyCollection<TensorInfo> Tensors => _tensors.Values;

    /// <summary>Null: these values are not those of the <c>dummy</c> load format, read them through this source.</summary>
    public int? DummySeed => null;

    public bool Contains(string name) => _tensors.ContainsKey(name);

    public TensorInfo GetInfo(string name) =>
        _tensors.TryGetValue(name, out var info) ? info : throw new ModelLoadException($"tensor {name} is not in the random weight source");

    public void ReadRaw(string name, long byteOffset, Span<byte> destination)
    {
        var info = GetInfo(name);
        if (byteOffset < 0 || byteOffset + destination.Length > info.ByteCount)
        {
            throw new ArgumentOutOfRangeException(nameof(byteOffset), $"bytes {byteOffset}..{byteOffset + destination.Length} are outside {info}");
        }

        var all = new float[info.ElementCount];
        ReadAsFloat32(name, all);
        MemoryMarshal.AsBytes(all.AsSpan()).Slice((int)byteOffset, destination.Length).CopyTo(destination);
    }

    public void ReadAsFloat32(string name, Span<float> destination)
    {
        var info = GetInfo(name);
        if (destination.Length != info.ElementCount)
        {
            throw new ArgumentException($"destination has {destination.Length} elements, {info} has {info.ElementCount}", nameof(destination));
        }

        var state = (ulong)(uint)_seed << 32 ^ StableHash(name);
        if (name.EndsWith("norm.weight", StringComparison.Ordinal))
        {
            Fill(destination, ref state, center: 1f, halfWidth: 0.1f);
        }
        else if (name.EndsWith(".bias", StringComparison.Ordinal))
        {
            Fill(destination, ref state, center: 0f, halfWidth: 0.1f);
        }
        else if (name == "model.embed_tokens.weight")
        {
            Fill(destination, ref state, center: 0f, halfWidth: 1f);
        }
        else
        {
            Fill(destination, ref state, center: 0f, halfWidth: 1f / MathF.Sqrt(info.Shape[1]));
        }
    }

    public void Dispose()
    {
    }

    private void Add(string name, params long[] shape) => _tensors.Add(name, new TensorInfo(name, TensorDType.F32, shape));

    private static void Fill(Span<float> destination, ref ulong state, float center, float halfWidth)
    {
        for (var i = 0; i < destination.Length; i++)
        {
            // SplitMix64: fast, and the same sequence on every platform and runtime version.
            state += 0x9E3779B97F4A7C15UL;
            var z = state;
            z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
            z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
            z ^= z >> 31;
            var unit = (z >> 40) * (1f / (1 << 24)); // [0, 1) with 24 random bits
            destination[i] = center + (halfWidth * ((2f * unit) - 1f));
        }
    }

    /// <summary>FNV-1a over the name: string.GetHashCode is randomized per process.</summary>
    private static ulong StableHash(string name)
    {
        var hash = 0xCBF29CE484222325UL;
        foreach (var c in name)
        {
            hash = (hash ^ c) * 0x100000001B3UL;
        }

        return hash;
    }
}
