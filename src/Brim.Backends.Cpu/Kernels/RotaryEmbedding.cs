using Brim.Models;

namespace Brim.Backends.Cpu.Kernels;

/// <summary>
/// Rotary position embeddings with precomputed cos/sin tables ([maxPositions, headDim / 2]) in either pairing
/// convention of <see cref="RopeStyle"/>. Follows the float32 arithmetic of the references (llama2.c's run.c and
/// transformers): the inverse frequency is a float, the angle is the float product position × frequency, and only
/// cos/sin of that float angle are evaluated precisely.
/// </summary>
internal sealed class RotaryEmbedding
{
    private readonly float[] _cos;
    private readonly float[] _sin;
    private readonly int _half;
    private readonly RopeStyle _style;

    public RotaryEmbedding(ModelConfig config)
    {
        HeadDim = config.HeadDim;
        MaxPositions = config.MaxPositions;
        _half = config.HeadDim / 2;
        _style = config.RopeStyle;
        var inverseFrequencies = InverseFrequencies(config);
        _cos = new float[(long)MaxPositions * _half];
        _sin = new float[(long)MaxPositions * _half];
        for (var p = 0; p < MaxPositions; p++)
        {
            for (var i = 0; i < _half; i++)
            {
                var angle = p * inverseFrequencies[i];
                _cos[(p * _half) + i] = (float)Math.Cos(angle);
                _sin[(p * _half) + i] = (float)Math.Sin(angle);
            }
        }
    }

    public int HeadDim { get; }

    public int MaxPositions { get; }

    /// <summary>
    /// theta^(-2i/headDim) for i in [0, headDim/2), with Llama 3 scaling applied as transformers'
    /// <c>_compute_llama3_parameters</c> does: long wavelengths (beyond original / lowFreqFactor) are divided by the
    /// factor, short ones (below original / highFreqFactor) kept, and those between blended smoothly.
    /// </summary>
    public static float[] InverseFrequencies(ModelConfig config)
    {
        var half = config.HeadDim / 2;
        var result = new float[half];
        for (var i = 0; i < half; i++)
        {
            var inverse = (float)(1.0 / Math.Pow(config.RopeTheta, 2.0 * i / config.HeadDim));
            result[i] = config.RopeScaling is { } scaling ? ScaleLlama3(inverse, scaling) : inverse;
        }

        return result;
    }

    /// <summary>Rotates every head of <paramref name="heads"/> (a whole q or k row of one token) to <paramref name="position"/>.</summary>
    public void Apply(Span<float> heads, int position)
    {
        if ((uint)position >= (uint)MaxPositions)
        {
            throw new ArgumentOutOfRangeException(nameof(position), $"position {position} is beyond the model's {MaxPositions} positions");
        }

        var cos = _cos.AsSpan(position * _half, _half);
        var sin = _sin.AsSpan(position * _half, _half);
        for (var start = 0; start < heads.Length; start += HeadDim)
        {
            var head = heads.Slice(start, HeadDim);
            if (_style == RopeStyle.Interleaved)
            {
                for (var i = 0; i < _half; i++)
                {
                    Rotate(ref head[2 * i], ref head[(2 * i) + 1], cos[i], sin[i]);
                }
            }
            else
            {
                for (var i = 0; i < _half; i++)
                {
                    Rotate(ref head[i], ref head[i + _half], cos[i], sin[i]);
                }
            }
        }
    }

    private static void Rotate(ref float x0, ref float x1, float cos, float sin)
    {
        var a = x0;
        var b = x1;
        x0 = (a * cos) - (b * sin);
        x1 = (a * sin) + (b * cos);
    }

    private static float ScaleLlama3(float inverse, Llama3RopeScaling scaling)
    {
        var lowFreqWavelength = scaling.OriginalMaxPositions / scaling.LowFreqFactor;
        var highFreqWavelength = scaling.OriginalMaxPositions / scaling.HighFreqFactor;
        var wavelength = 2 * Math.PI / inverse;
        if (wavelength < highFreqWavelength)
        {
            return inverse;
        }

        if (wavelength > lowFreqWavelength)
        {
            return (float)(inverse / scaling.Factor);
        }

        var smooth = ((scaling.OriginalMaxPositions / wavelength) - scaling.LowFreqFactor) / (scaling.HighFreqFactor - scaling.LowFreqFactor);
        return (float)(((1 - smooth) * inverse / scaling.Factor) + (smooth * inverse));
    }
}
