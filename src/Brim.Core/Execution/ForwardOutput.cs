namespace Brim.Core.Execution;

/// <summary>
/// Reusable output buffers of a forward step, in one of two modes.
/// <list type="bullet">
/// <item>Logits (<see cref="Sampled"/> false): row <c>r</c> of <see cref="Logits"/> is the vocabulary-sized logit vector
/// of the r-th token that needs logits (see <see cref="ForwardBatch.LogitRows"/>).</item>
/// <item>Sampled on the device (<see cref="Sampled"/> true): <see cref="SampledTokens"/> holds every row's token;
/// rows that asked for logprobs also have <see cref="ChosenLogprob"/> and <see cref="TopLogprob"/>; and rows marked
/// <see cref="DeviceSamplingRow.ReturnLogits"/> have their logits too, packed one after another in
/// <see cref="Logits"/> (<see cref="LogitRow"/> finds them), so one stateful request costs one row's copy, not the
/// whole step's.</item>
/// </list>
/// </summary>
public sealed class ForwardOutput
{
    /// <summary>The most alternatives a row may ask for (OpenAI's top_logprobs limit).</summary>
    public const int MaxTopLogprobs = 20;

    private int[] _logitSlots = [];

    public ForwardOutput(int vocabSize) => VocabSize = vocabSize;

    public int VocabSize { get; }

    public float[] Logits { get; private set; } = [];

    public int[] SampledTokens { get; private set; } = [];

    /// <summary>Per row: the sampled token's log probability; <see cref="float.NaN"/> where the row asked for none.</summary>
    public float[] ChosenLogprobs { get; private set; } = [];

    /// <summary>Per row, <see cref="MaxTopLogprobs"/> entries: the most likely tokens, best first.</summary>
    public int[] TopLogprobTokens { get; private set; } = [];

    /// <summary>Per row, <see cref="MaxTopLogprobs"/> entries: the log probabilities of <see cref="TopLogprobTokens"/>.</summary>
    public float[] TopLogprobValues { get; private set; } = [];

    /// <summary>Rows written by the last step.</summary>
    public int Rows { get; private set; }

    /// <summary>True when the last step sampled on the device (see the class remarks).</summary>
    public bool Sampled { get; private set; }

    /// <summary>Rows whose logits this output holds: all of them in logits mode, the host-sampled ones otherwise.</summary>
    public int LogitRowCount { get; private set; }

    /// <summary>Whether <paramref name="row"/>'s logits are here (always in logits mode).</summary>
    public bool HasLogits(int row) => !Sampled || _logitSlots[row] >= 0;

    /// <summary>The logits of <paramref name="row"/> (a row of the step, not of the packed array).</summary>
    public Span<float> LogitRow(int row)
    {
        var slot = Sampled ? _logitSlots[row] : row;
        if (slot < 0)
        {
            throw new InvalidOperationException($"row {row} of this step was sampled on the device: its logits did not come back");
        }

        return Logits.AsSpan(slot * VocabSize, VocabSize);
    }

    /// <summary>The sampled token's log probability and the <paramref name="count"/> most likely tokens of a device row.</summary>
    public (float Chosen, ReadOnlyMemory<int> TopTokens, ReadOnlyMemory<float> TopValues) Logprobs(int row, int count)
    {
        if (!Sampled || float.IsNaN(ChosenLogprobs[row]))
        {
            throw new InvalidOperationException($"row {row} of this step has no device logprobs");
        }

        ArgumentOutOfRangeException.ThrowIfGreaterThan(count, MaxTopLogprobs);
        var at = row * MaxTopLogprobs;
        return (ChosenLogprobs[row], TopLogprobTokens.AsMemory(at, count), TopLogprobValues.AsMemory(at, count));
    }

    /// <summary>
    /// Sizes the buffers for a step of <paramref name="rows"/> rows; called by the backend. Sampled: every row was
    /// sampled on the device, no logits or logprobs come back.
    /// </summary>
    public void Prepare(int rows, bool sampled)
    {
        Rows = rows;
        Sampled = sampled;
        if (sampled)
        {
            PrepareSampledRows(rows);
            _logitSlots.AsSpan(0, rows).Fill(-1);
            ChosenLogprobs.AsSpan(0, rows).Fill(float.NaN);
            LogitRowCount = 0;
            return;
        }

        LogitRowCount = rows;
        EnsureLogits(rows);
    }

    /// <summary>
    /// Sizes the buffers for a step sampled on the device with these rows' requests: slots for the logits of
    /// <see cref="DeviceSamplingRow.ReturnLogits"/> rows (in row order) and logprobs for those that want them (left
    /// <see cref="float.NaN"/> for the backend to fill). Called by the backend.
    /// </summary>
    public void Prepare(ReadOnlySpan<DeviceSamplingRow> rows)
    {
        Rows = rows.Length;
        Sampled = true;
        PrepareSampledRows(rows.Length);
        var slots = 0;
        for (var r = 0; r < rows.Length; r++)
        {
            _logitSlots[r] = rows[r].ReturnLogits ? slots++ : -1;
            ChosenLogprobs[r] = float.NaN;
        }

        LogitRowCount = slots;
        EnsureLogits(slots);
    }

    /// <summary>The packed slot of a returned row's logits, -1 for a row sampled on the device.</summary>
    public int LogitSlot(int row) => Sampled ? _logitSlots[row] : row;

    private void PrepareSampledRows(int rows)
    {
        if (SampledTokens.Length < rows)
        {
            var n = Math.Max(rows, SampledTokens.Length * 2);
            SampledTokens = new int[n];
            ChosenLogprobs = new float[n];
            TopLogprobTokens = new int[n * MaxTopLogprobs];
            TopLogprobValues = new float[n * MaxTopLogprobs];
            _logitSlots = new int[n];
        }
    }

    private void EnsureLogits(int rows)
    {
        if (Logits.Length < rows * VocabSize)
        {
            Logits = new float[Math.Max(rows, Logits.Length / Math.Max(1, VocabSize) * 2) * VocabSize];
        }
    }
}
