using Brim.Models;

namespace Brim.Backends.Cuda.Tests.Reference;

/// <summary>
/// A plain fp32 Llama-family forward pass over one whole sequence (no cache, no batching): the twin the CUDA backend
/// is checked against. Reads its weights through <see cref="IWeightSource.ReadAsFloat32"/>.
/// </summary>
internal sealed class ReferenceLlama
{
    private readonly ModelConfig _c;
    private readonly Func<string, float[]> _tensor;
    private readonly float[] _inverseFrequencies;

    public ReferenceLlama(ModelConfig config, IWeightSource weights)
    {
        _c = config;
        var cache = new Dictionary<string, float[]>();
        _tensor = name =>
        {
            if (!cache.TryGetValue(name, out var values))
            {
                values = new float[weights.GetInfo(name).ElementCount];
                weights.ReadAsFloat32(name, values);
                cache[name] = values;
            }

            return values;
        };
        _inverseFrequencies = RopeFrequencies.Compute(config);
    }

    /// <summary>Logits of every position of <paramref name="tokens"/>, [tokens.Length, vocab].</summary>
    public float[] Logits(IReadOnlyList<int> tokens)
    {
        int n = tokens.Count, h = _c.HiddenSize, d = _c.HeadDim, group = _c.NumHeads / _c.NumKvHeads;
        var embedding = _tensor(LlamaTensorNames.Embedding);
        var x = new float[n * h];
        for (var t = 0; t < n; t++)
        {
            embedding.AsSpan(tokens[t] * h, h).CopyTo(x.AsSpan(t * h, h));
        }

        for (var l = 0; l < _c.NumLayers; l++)
        {
            var normed = KernelReferences.AddRmsNorm(x, null, _tensor(LlamaTensorNames.InputNorm(l)), n, h, _c.RmsNormEps);
            var q = Project(normed, LlamaTensorNames.QueryWeight(l), LlamaTensorNames.QueryBias(l), n, h, _c.QueryDim);
            var k = Project(normed, LlamaTensorNames.KeyWeight(l), LlamaTensorNames.KeyBias(l), n, h, _c.KvDim);
            var v = Project(normed, LlamaTensorNames.ValueWeight(l), LlamaTensorNames.ValueBias(l), n, h, _c.KvDim);
            var interleaved = _c.RopeStyle == RopeStyle.Interleaved;
            for (var t = 0; t < n; t++)
            {
                for (var head = 0; head < _c.NumHeads; head++)
                {
                    KernelReferences.Rotate(q.AsSpan((t * _c.QueryDim) + (head * d), d), t, _inverseFrequencies, interleaved);
                }

                for (var head = 0; head < _c.NumKvHeads; head++)
                {
                    KernelReferences.Rotate(k.AsSpan((t * _c.KvDim) + (head * d), d), t, _inverseFrequencies, interleaved);
                }
            }

            var attention = new float[n * _c.QueryDim];
            for (var kh = 0; kh < _c.NumKvHeads; kh++)
            {
                var keys = Enumerable.Range(0, n).Select(p => k.AsSpan((p * _c.KvDim) + (kh * d), d).ToArray()).ToArray();
                var values = Enumerable.Range(0, n).Select(p => v.AsSpan((p * _c.KvDim) + (kh * d), d).ToArray()).ToArray();
                for (var t = 0; t < n; t++)
                {
                    for (var g = 0; g < group; g++)
                    {
                        var head = (kh * group) + g;
                        KernelReferences.Attend(q.AsSpan((t * _c.QueryDim) + (head * d), d), keys, values, t + 1, attention.AsSpan((t * _c.QueryDim) + (head * d), d));
                    }
                }
            }

            Add(x, KernelReferences.Linear(attention, _tensor(LlamaTensorNames.OutputWeight(l)), n, _c.QueryDim, h));
            normed = KernelReferences.AddRmsNorm(x, null, _tensor(LlamaTensorNames.PostAttentionNorm(l)), n, h, _c.RmsNormEps);
            var gate = KernelReferences.Linear(normed, _tensor(LlamaTensorNames.GateWeight(l)), n, h, _c.IntermediateSize);
            var up = KernelReferences.Linear(normed, _tensor(LlamaTensorNames.UpWeight(l)), n, h, _c.IntermediateSize);
            for (var i = 0; i < gate.Length; i++)
            {
                gate[i] = gate[i] / (1f + MathF.Exp(-gate[i])) * up[i];
            }

            Add(x, KernelReferences.Linear(gate, _tensor(LlamaTensorNames.DownWeight(l)), n, _c.IntermediateSize, h));
        }

        var final = KernelReferences.AddRmsNorm(x, null, _tensor(LlamaTensorNames.FinalNorm), n, h, _c.RmsNormEps);
        var output = _tensor(_c.TieWordEmbeddings ? LlamaTensorNames.Embedding : LlamaTensorNames.LmHead);
        return KernelReferences.Linear(final, output, n, h, _c.VocabSize);
    }

    private float[] Project(float[] x, string weight, string bias, int rows, int inFeatures, int outFeatures)
    {
        var y = KernelReferences.Linear(x, _tensor(weight), rows, inFeatures, outFeatures);
        if (_c.AttentionBias)
        {
            var b = _tensor(bias);
            for (var i = 0; i < y.Length; i++)
            {
                y[i] += b[i % outFeatures];
            }
        }

        return y;
    }

    private static void Add(float[] x, float[] delta)
    {
        for (var i = 0; i < x.Length; i++)
        {
            x[i] += delta[i];
        }
    }
}
