namespace Brim.Engine.Speculative;

/// <summary>
/// The draft a proposer made for a sequence's next step: token ids and, for proposers that sample their drafts
/// (a draft model), the distribution each was drawn from, one vocabulary-sized row per token. Without distributions
/// each draft token is a point mass, and verification is the plain "sample the target, keep while it agrees" rule.
/// </summary>
public sealed class DraftTokens
{
    private readonly List<int> _tokens = [];
    private float[] _probabilities = [];
    private int _vocabSize;

    public int Count => _tokens.Count;

    public IReadOnlyList<int> Tokens => _tokens;

    /// <summary>Whether <see cref="Distribution"/> holds the proposal distribution q of each token.</summary>
    public bool HasDistributions => _vocabSize > 0;

    public int this[int index] => _tokens[index];

    /// <summary>q for draft token <paramref name="index"/> (only when <see cref="HasDistributions"/>).</summary>
    public ReadOnlySpan<float> Distribution(int index) => _probabilities.AsSpan(index * _vocabSize, _vocabSize);

    public void Add(int token) => _tokens.Add(token);

    /// <summary>Adds a token drawn from <paramref name="q"/> (every token of a draft carries one, or none does).</summary>
    public void Add(int token, ReadOnlySpan<float> q)
    {
        if (_tokens.Count > 0 && _vocabSize != q.Length)
        {
            throw new InvalidOperationException("every token of a draft carries a distribution of the vocabulary's size, or none does");
        }

        _vocabSize = q.Length;
        if (_probabilities.Length < (_tokens.Count + 1) * q.Length)
        {
            Array.Resize(ref _probabilities, Math.Max((_tokens.Count + 1) * q.Length, _probabilities.Length * 2));
        }

        q.CopyTo(_probabilities.AsSpan(_tokens.Count * q.Length));
        _tokens.Add(token);
    }

    /// <summary>Keeps the first <paramref name="count"/> tokens (the scheduler's budget may take fewer than proposed).</summary>
    public void Truncate(int count)
    {
        if (count < _tokens.Count)
        {
            _tokens.RemoveRange(count, _tokens.Count - count);
        }
    }

    public void Clear()
    {
        _tokens.Clear();
        _vocabSize = 0;
    }
}
