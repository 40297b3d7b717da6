using Brim.Models;

namespace Brim.Backends.Cpu.Tests;

/// <summary>
/// An independent, deliberately plain Llama forward pass: one sequence, recomputed from scratch, dense K/V, double
/// accumulation, rotary angles in double. Shares nothing with the backend but the weight source and the config.
/// With <c>quantizeKv</c>, every (token, KV head) vector of K and V is rounded to int8 levels of its own scale
/// (max|x| / 127, half to even) before attention reads it: the int8 KV cache's contract, written independently.
/// </summary>
internal sealed class DenseReferenceModel
{
    private readonly ModelConfig _c;
    private readonly IWeightSource _w;
    private readonly bool _quantizeKv;

    public DenseReferenceModel(ModelConfig config, IWeightSource weights, bool quantizeKv = false)
    {
        _c = config;
        _w = weights;
        _quantizeKv = quantizeKv;
    }

    /// <summary>Logits [position][vocab] of every position of <paramref name="tokens"/>.</summary>
    public float[][] Logits(int[] tokens)
    {
        int n = tokens.Length, h = _c.HiddenSize, hd = _c.HeadDim;
        var embed = Read("model.embed_tokens.weight");
        var x = new double[n][];
        for (var t = 0; t < n; t++)
        {
            x[t] = new double[h];
            for (var i = 0; i < h; i++)
            {
                x[t][i] = embed[(tokens[t] * h) + i];
            }
        }

        for (var l = 0; l < _c.NumLayers; l++)
        {
            var p = $"model.layers.{l}.";
            var xn = x.Select(row => RmsNorm(row, Read(p + "input_layernorm.weight"))).ToArray();
            var q = xn.Select(row => Linear(row, p + "self_attn.q_proj")).ToArray();
            var k = xn.Select(row => Linear(row, p + "self_attn.k_proj")).ToArray();
            var v = xn.Select(row => Linear(row, p + "self_attn.v_proj")).ToArray();
            for (var t = 0; t < n; t++)
            {
                Rotate(q[t], t);
                Rotate(k[t], t);
                if (_quantizeKv)
                {
                    QuantizeHeads(k[t]);
                    QuantizeHeads(v[t]);
                }
            }

            var attention = new double[n][];
            var group = _c.NumHeads / _c.NumKvHeads;
            for (var t = 0; t < n; t++)
            {
                attention[t] = new double[_c.QueryDim];
                for (var head = 0; head < _c.NumHeads; head++)
                {
                    var kvHead = head / group;
                    var scores = new double[t + 1];
                    for (var s = 0; s <= t; s++)
                    {
                        double dot = 0;
                        for (var i = 0; i < hd; i++)
                        {
                            dot += q[t][(head * hd) + i] * k[s][(kvHead * hd) + i];
                        }

                        scores[s] = dot / Math.Sqrt(hd);
                    }

                    var max = scores.Max();
                    var exps = scores.Select(sc => Math.Exp(sc - max)).ToArray();
                    var sum = exps.Sum();
                    for (var s = 0; s <= t; s++)
                    {
                        for (var i = 0; i < hd; i++)
                        {
                            attention[t][(head * hd) + i] += exps[s] / sum * v[s][(kvHead * hd) + i];
                        }
                    }
                }
            }

            for (var t = 0; t < n; t++)
            {
                Accumulate(x[t], Linear(attention[t], p + "self_attn.o_proj"));
                var xf = RmsNorm(x[t], Read(p + "post_attention_layernorm.weight"));
                var gate = Linear(xf, p + "mlp.gate_proj");
                var up = Linear(xf, p + "mlp.up_proj");
                var hidden = gate.Select((g, i) => g / (1 + Math.Exp(-g)) * up[i]).ToArray();
                Accumulate(x[t], Linear(hidden, p + "mlp.down_proj"));
            }
        }

        var head0 = _c.TieWordEmbeddings ? "model.embed_tokens" : "lm_head";
        return x.Select(row => Linear(RmsNorm(row, Read("model.norm.weight")), head0).Select(d => (float)d).ToArray()).ToArray();
    }

    /// <summary>theta^(-2i/d), then the llama3 rule: keep short wavelengths, divide long ones, blend between.</summary>
    public static double[] InverseFrequencies(ModelConfig c)
    {
        var result = new double[c.HeadDim / 2];
        for (var i = 0; i < result.Length; i++)
        {
            var f = Math.Pow(c.RopeTheta, -2.0 * i / c.HeadDim);
            if (c.RopeScaling is { } s)
            {
                var wavelength = 2 * Math.PI / f;
                var ratio = s.OriginalMaxPositions / wavelength;
                if (ratio < s.LowFreqFactor)
                {
                    f /= s.Factor;
                }
                else if (ratio <= s.HighFreqFactor)
                {
                    var smooth = (ratio - s.LowFreqFactor) / (s.HighFreqFactor - s.LowFreqFactor);
                    f = ((1 - smooth) * f / s.Factor) + (smooth * f);
                }
            }

            result[i] = f;
        }

        return result;
    }

    private void Rotate(double[] vector, int position)
    {
        var hd = _c.HeadDim;
        var freqs = InverseFrequencies(_c);
        for (var start = 0; start < vector.Length; start += hd)
        {
            for (var i = 0; i < hd / 2; i++)
            {
                var (a, b) = _c.RopeStyle == RopeStyle.Interleaved ? (start + (2 * i), start + (2 * i) + 1) : (start + i, start + i + (hd / 2));
                var angle = position * freqs[i];
                var (x0, x1) = (vector[a], vector[b]);
                vector[a] = (x0 * Math.Cos(angle)) - (x1 * Math.Sin(angle));
                vector[b] = (x0 * Math.Sin(angle)) + (x1 * Math.Cos(angle));
            }
        }
    }

    private void QuantizeHeads(double[] row)
    {
        for (var start = 0; start < row.Length; start += _c.HeadDim)
        {
            var head = row.AsSpan(start, _c.HeadDim);
            var scale = head.ToArray().Max(Math.Abs) / 127;
            for (var i = 0; i < head.Length; i++)
            {
                head[i] = scale == 0 ? 0 : Math.Clamp(Math.Round(head[i] / scale, MidpointRounding.ToEven), -127, 127) * scale;
            }
        }
    }

    private double[] Linear(double[] x, string prefix)
    {
        var info = _w.GetInfo(prefix + ".weight");
        var w = Read(prefix + ".weight");
        var bias = _w.Contains(prefix + ".bias") ? Read(prefix + ".bias") : null;
        int outDim = (int)info.Shape[0], inDim = (int)info.Shape[1];
        var y = new double[outDim];
        for (var o = 0; o < outDim; o++)
        {
            double sum = bias?[o] ?? 0;
            for (var i = 0; i < inDim; i++)
            {
                sum += w[(o * inDim) + i] * x[i];
            }

            y[o] = sum;
        }

        return y;
    }

    private double[] RmsNorm(double[] x, float[] weight)
    {
        var meanSquare = x.Sum(v => v * v) / x.Length;
        var scale = 1 / Math.Sqrt(meanSquare + _c.RmsNormEps);
        return x.Select((v, i) => v * scale * weight[i]).ToArray();
    }

    private static void Accumulate(double[] x, double[] delta)
    {
        for (var i = 0; i < x.Length; i++)
        {
            x[i] += delta[i];
        }
    }

    private float[] Read(string name)
    {
        var data = new float[_w.GetInfo(name).ElementCount];
        _w.ReadAsFloat32(name, data);
        return data;
    }
}
