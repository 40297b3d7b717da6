using Brim.Core;
using Brim.Core.Execution;

namespace Brim.Engine.Sampling;

/// <summary>Reads the logprobs the device computed for a row it sampled (see <see cref="DeviceSamplingRow.TopLogprobs"/>).</summary>
internal static class DeviceLogprobs
{
    /// <summary>The logprobs <paramref name="p"/> asks for, of the token sampled in <paramref name="row"/>; null when it asks for none.</summary>
    public static TokenLogprobs? Read(ForwardOutput output, int row, SamplingParams p)
    {
        if (p.Logprobs is not { } topN)
        {
            return null;
        }

        var (chosen, tokens, values) = output.Logprobs(row, topN);
        var top = new List<(int, float)>(topN);
        for (var i = 0; i < topN; i++)
        {
            top.Add((tokens.Span[i], values.Span[i]));
        }

        return new TokenLogprobs(output.SampledTokens[row], chosen, top);
    }
}
