using Brim.Models;

namespace Brim.Backends.Cuda;

/// <summary>
/// Inverse rotary frequencies, one per rotated pair, computed in float32 as Hugging Face transformers does
/// (<c>_compute_default_rope_parameters</c> and, for <c>rope_type: llama3</c>, <c>_compute_llama3_parameters</c>).
/// </summary>
public static class RopeFrequencies
{
    public static float[] Compute(ModelConfig config)
    {
        var headDim = config.HeadDim;
        var baseValue = (float)config.RopeTheta;
        var inverse = new float[headDim / 2];
        for (var i = 0; i < inverse.Length; i++)
        {
            inverse[i] = 1f / MathF.Pow(baseValue, (float)(2 * i) / headDim);
        }

        if (config.RopeScaling is { } scaling)
        {
            ApplyLlama3(inverse, scaling);
        }

        return inverse;
    }

    private static void ApplyLlama3(float[] inverse, Llama3RopeScaling scaling)
    {
        var factor = (float)scaling.Factor;
        var low = (float)scaling.LowFreqFactor;
        var high = (float)scaling.HighFreqFactor;
        var original = (float)scaling.OriginalMaxPositions;
        var lowFreqWavelength = original / low;
        var highFreqWavelength = original / high;
        for (var i = 0; i < inverse.Length; i++)
        {
            var wavelength = 2f * MathF.PI / inverse[i];
            var scaled = wavelength > lowFreqWavelength ? inverse[i] / factor : inverse[i];
            var isMedium = !(wavelength < highFreqWavelength) && !(wavelength > lowFreqWavelength);
            if (isMedium)
            {
                var smooth = ((original / wavelength) - low) / (high - low);
                scaled = ((1f - smooth) * scaled / factor) + (smooth * scaled);
            }

            inverse[i] = scaled;
        }
    }
}
