namespace Brim.Core.Execution;

/// <summary>
/// Reusable output buffers of a forward step. Row <c>r</c> of <see cref="Logits"/> is the vocabulary-sized logit
/// vector of the r-th token that needs logits (see <see cref="ForwardBatch.LogitRows"/>); with device sampling only
/// <see cref="SampledTokens"/> is written.
/// </summary>
public sealed class ForwardOutput
{
    public ForwardOutput(int vocabSize) => VocabSize = vocabSize;

    public int VocabSize { get; }

    public float[] Logits { get; private set; } = [];

    public int[] SampledTokens { get; private set; } = [];

    /// <summary>Rows written by the last step.</summary>
    public int Rows { get; private set; }

    /// <summary>True when the last step wrote <see cref="SampledTokens"/> instead of <see cref="Logits"/>.</summary>
    public bool Sampled { get; private set; }

    public Span<float> LogitRow(int row) => Logits.AsSpan(row * VocabSize, VocabSize);

    /// <summary>Sizes the buffers for a step of <paramref name="rows"/> rows; called by the backend.</summary>
    public void Prepare(int rows, bool sampled)
    {
        Rows = rows;
        Sampled = sampled;
        if (sampled)
        {
            if (SampledTokens.Length < rows)
            {
                SampledTokens = new int[Math.Max(rows, SampledTokens.Length * 2)];
            }
        }
        else if (Logits.Length < rows * VocabSize)
        {
            Logits = new float[Math.Max(rows, Logits.Length / Math.Max(1, VocabSize) * 2) * VocabSize];
        }
    }
}
