using Brim.Core;

namespace Brim.Engine.Sampling;

/// <summary>
/// What the penalties need to remember of a sequence: how often each token was generated (presence and frequency
/// penalties, OpenAI semantics) and which tokens appeared anywhere in prompt or output (repetition penalty, CTRL/HF
/// semantics). Only allocated for requests that use a penalty.
/// </summary>
public sealed class PenaltyState
{
    public static readonly PenaltyState None = new(enabled: false);

    private readonly Dictionary<int, int> _outputCounts = [];
    private readonly HashSet<int> _seen = [];
    private readonly bool _enabled;

    private PenaltyState(bool enabled) => _enabled = enabled;

    public static PenaltyState For(SamplingParams p, IReadOnlyList<int> prompt)
    {
        if (p.PresencePenalty == 0f && p.FrequencyPenalty == 0f && p.RepetitionPenalty == 1f)
        {
            return None;
        }

        var state = new PenaltyState(enabled: true);
        foreach (var t in prompt)
        {
            state._seen.Add(t);
        }

        return state;
    }

    public void Record(int token)
    {
        if (!_enabled)
        {
            return;
        }

        _outputCounts[token] = _outputCounts.GetValueOrDefault(token) + 1;
        _seen.Add(token);
    }

    public void Apply(Span<float> logits, SamplingParams p)
    {
        if (!_enabled)
        {
            return;
        }

        if (p.RepetitionPenalty != 1f)
        {
            foreach (var t in _seen)
            {
                logits[t] = logits[t] > 0f ? logits[t] / p.RepetitionPenalty : logits[t] * p.RepetitionPenalty;
            }
        }

        foreach (var (t, count) in _outputCounts)
        {
            logits[t] -= (p.FrequencyPenalty * count) + p.PresencePenalty;
        }
    }
}
