using Brim.Core;
using Brim.Server.Generation;

namespace Brim.Server.Routing;

/// <summary>
/// The small model's confidence in its own answer, from the log-probabilities of the tokens it chose: their mean, or
/// their minimum (one confident-looking answer with a single wild guess in it). A request of several choices is as
/// confident as its least confident choice. Only finished answers (stop or length) are judged.
/// </summary>
internal static class AnswerConfidence
{
    /// <summary>The request's confidence, or null when a choice did not finish normally (nothing to judge).</summary>
    public static double? Of(IReadOnlyList<ChoiceResult> choices, ConfidenceMeasure measure)
    {
        var least = 0.0;
        foreach (var choice in choices)
        {
            if (choice.FinishReason is not (FinishReason.Stop or FinishReason.Length))
            {
                return null;
            }

            var logprobs = choice.Logprobs ?? throw new InvalidOperationException("the cascade's small run must collect logprobs");
            if (logprobs.Count == 0)
            {
                continue; // an empty answer (a stop at once) carries no evidence against itself
            }

            var value = measure == ConfidenceMeasure.MeanLogprob ? logprobs.Average(l => (double)l.Logprob) : logprobs.Min(l => (double)l.Logprob);
            least = Math.Min(least, value);
        }

        return least;
    }
}
