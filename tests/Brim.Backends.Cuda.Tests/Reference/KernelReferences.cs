namespace Brim.Backends.Cuda.Tests.Reference;

/// <summary>Plain C# twins of the element-wise and row kernels, in fp32 (float64 sums).</summary>
internal static class KernelReferences
{
    /// <summary>x += delta (when given); out = x / rms(x) * weight, per row of width <paramref name="hidden"/>.</summary>
    public static float[] AddRmsNorm(float[] x, float[]? delta, float[] weight, int rows, int hidden, float eps)
    {
        var output = new float[rows * hidden];
        for (var r = 0; r < rows; r++)
        {
            var xr = x.AsSpan(r * hidden, hidden);
            if (delta is not null)
            {
                for (var i = 0; i < hidden; i++)
                {
                    xr[i] += delta[(r * hidden) + i];
                }
            }

            double ss = 0;
            foreach (var v in xr)
            {
                ss += (double)v * v;
            }

            var inv = 1.0 / Math.Sqrt((ss / hidden) + eps);
            for (var i = 0; i < hidden; i++)
            {
                output[(r * hidden) + i] = (float)(xr[i] * inv * weight[i]);
            }
        }

        return output;
    }

    public static float[] SiluMul(float[] gateUp, int tokens, int ff)
    {
        var output = new float[tokens * ff];
        for (var t = 0; t < tokens; t++)
        {
            for (var i = 0; i < ff; i++)
            {
                double g = gateUp[(t * 2 * ff) + i], u = gateUp[(t * 2 * ff) + ff + i];
                output[(t * ff) + i] = (float)(g / (1 + Math.Exp(-g)) * u);
            }
        }

        return output;
    }

    /// <summary>Rotates one head vector in place at <paramref name="position"/>.</summary>
    public static void Rotate(Span<float> head, int position, float[] inverseFrequencies, bool interleaved)
    {
        var half = head.Length / 2;
        for (var i = 0; i < half; i++)
        {
            int a = interleaved ? 2 * i : i, b = interleaved ? (2 * i) + 1 : i + half;
            var angle = (double)(position * inverseFrequencies[i]);
            double c = Math.Cos(angle), s = Math.Sin(angle), x0 = head[a], x1 = head[b];
            head[a] = (float)((x0 * c) - (x1 * s));
            head[b] = (float)((x1 * c) + (x0 * s));
        }
    }

    /// <summary>Causal attention of one query head over keys/values [context, headDim] (already rotated).</summary>
    public static void Attend(ReadOnlySpan<float> q, float[][] keys, float[][] values, int context, Span<float> output)
    {
        var d = q.Length;
        var scores = new double[context];
        var max = double.NegativeInfinity;
        for (var p = 0; p < context; p++)
        {
            double s = 0;
            for (var i = 0; i < d; i++)
            {
                s += (double)q[i] * keys[p][i];
            }

            scores[p] = s / Math.Sqrt(d);
            max = Math.Max(max, scores[p]);
        }

        double sum = 0;
        for (var p = 0; p < context; p++)
        {
            scores[p] = Math.Exp(scores[p] - max);
            sum += scores[p];
        }

        for (var i = 0; i < d; i++)
        {
            double acc = 0;
            for (var p = 0; p < context; p++)
            {
                acc += scores[p] * values[p][i];
            }

            output[i] = context == 0 ? 0 : (float)(acc / sum);
        }
    }

    /// <summary>y[rows, out] = x[rows, in] · w[out, in]ᵀ.</summary>
    public static float[] Linear(float[] x, float[] w, int rows, int inFeatures, int outFeatures)
    {
        var y = new float[rows * outFeatures];
        for (var r = 0; r < rows; r++)
        {
            for (var o = 0; o < outFeatures; o++)
            {
                double acc = 0;
                for (var i = 0; i < inFeatures; i++)
                {
                    acc += (double)x[(r * inFeatures) + i] * w[(o * inFeatures) + i];
                }

                y[(r * outFeatures) + o] = (float)acc;
            }
        }

        return y;
    }
}
