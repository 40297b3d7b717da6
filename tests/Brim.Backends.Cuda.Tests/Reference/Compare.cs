namespace Brim.Backends.Cuda.Tests.Reference;

/// <summary>Error measures between a result and its reference.</summary>
internal static class Compare
{
    /// <summary>‖actual − expected‖₂ / ‖expected‖₂ (NaN anywhere gives +∞, so it never passes).</summary>
    public static double RelativeL2(ReadOnlySpan<float> actual, ReadOnlySpan<float> expected)
    {
        Assert.Equal(expected.Length, actual.Length);
        double diff = 0, norm = 0;
        for (var i = 0; i < expected.Length; i++)
        {
            if (float.IsNaN(actual[i]) || float.IsInfinity(actual[i]))
            {
                return double.PositiveInfinity;
            }

            var d = (double)actual[i] - expected[i];
            diff += d * d;
            norm += (double)expected[i] * expected[i];
        }

        return Math.Sqrt(diff / Math.Max(norm, 1e-30));
    }

    public static void Close(ReadOnlySpan<float> actual, ReadOnlySpan<float> expected, double tolerance, string what)
    {
        var error = RelativeL2(actual, expected);
        Assert.True(error <= tolerance, $"{what}: relative L2 error {error:E3} exceeds {tolerance:E1}");
    }

    public static int ArgMax(ReadOnlySpan<float> values)
    {
        var best = 0;
        for (var i = 1; i < values.Length; i++)
        {
            if (values[i] > values[best])
            {
                best = i;
            }
        }

        return best;
    }
}
