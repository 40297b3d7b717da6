using Brim.Core;
using Brim.Engine.Scheduling;

namespace Brim.Engine.Speculative;

/// <summary>
/// Decides each step how many draft tokens each decoding sequence verifies (0: none), so that speculation speeds up
/// quiet hours and never slows down busy ones. A k-token draft at per-token acceptance a yields
/// <see cref="ExpectedTokens"/> = 1 + a + … + a^k tokens instead of 1, and adds k rows to the step, which the engine's
/// own <see cref="StepCostModel"/> prices. Sequences are considered online first, then offline, each given the k that
/// maximizes the step's expected tokens per second so far (one more token for every other row, the expected tokens
/// of the drafts already chosen, over the step's predicted seconds). At batch 1 on a bandwidth-bound GPU an extra row
/// is nearly free and the draft pays; in a full batch the extra rows cost about as much as the tokens they may save,
/// and k falls to 0. Offline drafts must improve the rate by <see cref="OfflineMargin"/>: their gain is throughput only,
/// while a misjudged draft lengthens the step for online rows too. Proposing costs time as well (a draft model's passes,
/// nothing to speak of for prompt lookup): <see cref="DraftSecondsPerToken"/>, measured by the engine, is charged per
/// draft token.
/// </summary>
/// <remarks>
/// Until the cost model is fitted the extra rows are taken as free (optimistic, like the acceptance prior): the steps
/// that speculate are what lets the model learn what a row costs. Step loop only.
/// </remarks>
public sealed class SpeculationPolicy(SpeculativeConfig config, StepCostModel costModel)
{
    /// <summary>Least relative gain in expected tokens per second an offline draft must bring.</summary>
    public const double OfflineMargin = 0.05;

    public SpeculativeConfig Config { get; } = config;

    /// <summary>Measured seconds of proposing per draft token (an exponentially weighted average; 0 until measured).</summary>
    public double DraftSecondsPerToken { get; private set; }

    /// <summary>Folds in one step's proposal: <paramref name="seconds"/> spent for <paramref name="tokens"/> draft tokens.</summary>
    public void ObserveDraftCost(double seconds, int tokens)
    {
        if (tokens > 0)
        {
            var perToken = seconds / tokens;
            DraftSecondsPerToken = DraftSecondsPerToken == 0 ? perToken : DraftSecondsPerToken + (0.1 * (perToken - DraftSecondsPerToken));
        }
    }

    /// <summary>Tokens a k-token draft yields at per-token acceptance <paramref name="acceptance"/>: the accepted prefix plus one.</summary>
    public static double ExpectedTokens(double acceptance, int k)
    {
        var expected = 1.0;
        var term = 1.0;
        for (var i = 0; i < k; i++)
        {
            term *= acceptance;
            expected += term;
        }

        return expected;
    }

    /// <summary>
    /// Fills <paramref name="draftLengths"/>[i] with the draft length for <paramref name="candidates"/>[i], at most its
    /// <paramref name="limits"/>[i] (what its max_tokens and the context leave). <paramref name="decodeRows"/> is every
    /// decoding sequence of the step (candidates or not) and <paramref name="contextPositions"/> their attention reads.
    /// Returns whether any draft was chosen.
    /// </summary>
    public bool Choose(IReadOnlyList<Sequence> candidates, ReadOnlySpan<int> limits, int decodeRows, long contextPositions, Span<int> draftLengths)
    {
        if (Config.Mode == SpeculationMode.Always)
        {
            var any = false;
            for (var i = 0; i < candidates.Count; i++)
            {
                draftLengths[i] = Math.Min(Config.NumSpeculativeTokens, limits[i]);
                any |= draftLengths[i] > 0;
            }

            return any;
        }

        var chosen = false;
        var tokens = (double)decodeRows;
        var seconds = costModel.PredictSeconds(new StepShape(decodeRows, 0, contextPositions));
        foreach (var cls in (ReadOnlySpan<TrafficClass>)[TrafficClass.Online, TrafficClass.Offline])
        {
            for (var i = 0; i < candidates.Count; i++)
            {
                var seq = candidates[i];
                if (seq.TrafficClass != cls)
                {
                    continue;
                }

                var (k, gain, cost) = BestDraft(seq, limits[i], tokens, seconds, cls == TrafficClass.Offline ? OfflineMargin : 0);
                draftLengths[i] = k;
                tokens += gain;
                seconds += cost;
                chosen |= k > 0;
            }
        }

        return chosen;
    }

    /// <summary>The draft length that maximizes the step's expected tokens per second, with its extra tokens and seconds.</summary>
    private (int K, double Gain, double Cost) BestDraft(Sequence seq, int limit, double tokens, double seconds, double margin)
    {
        var acceptance = seq.Speculation.Acceptance;
        var start = seq.ComputedTokens;
        var oneRow = costModel.MarginalSeconds(StepShape.Chunk(start, 1, decode: true));
        var best = (K: 0, Gain: 0.0, Cost: 0.0);
        var bestRate = seconds > 0 ? tokens / seconds * (1 + margin) : 0;
        for (var k = 1; k <= Math.Min(limit, Config.NumSpeculativeTokens); k++)
        {
            var gain = ExpectedTokens(acceptance, k) - 1;
            var cost = costModel.MarginalSeconds(StepShape.Chunk(start, 1 + k, decode: true)) - oneRow + (k * DraftSecondsPerToken);
            if (seconds + cost <= 0)
            {
                // Not fitted yet: rows are taken as free, so the longest draft is tried (and measured).
                best = (k, gain, 0);
                continue;
            }

            var rate = (tokens + gain) / (seconds + cost);
            if (rate > bestRate)
            {
                (best, bestRate) = ((k, gain, cost), rate);
            }
        }

        return best;
    }
}
