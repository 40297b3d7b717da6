namespace Brim.Core.Execution;

/// <summary>
/// Everything a backend needs for one forward step, passed explicitly (never through globals): the flattened
/// tokens of many sequences (prefill chunks and decode tokens together), where each sequence's K/V lives, and
/// which rows need logits. Built by the scheduler each step.
/// </summary>
public sealed class ForwardBatch
{
    public ForwardBatch(int[] tokenIds, SequenceSlice[] slices, int blockSize, DeviceSamplingRow[]? deviceSampling = null)
    {
        TokenIds = tokenIds;
        Slices = slices;
        BlockSize = blockSize;
        DeviceSampling = deviceSampling;
        LogitRows = 0;
        var expectedStart = 0;
        foreach (var s in slices)
        {
            if (s.TokenStart != expectedStart || s.TokenCount <= 0)
            {
                throw new ArgumentException("slices must cover the token array contiguously, in order, each non-empty");
            }

            if (s.BlockTable.Length * blockSize < s.ContextLength)
            {
                throw new ArgumentException($"block table of {s.BlockTable.Length} blocks cannot hold {s.ContextLength} positions");
            }

            if (s.NeedsLogits && (s.LogitTokens < 1 || s.LogitTokens > s.TokenCount))
            {
                throw new ArgumentException($"a slice of {s.TokenCount} tokens cannot have {s.LogitTokens} logit rows");
            }

            expectedStart += s.TokenCount;
            LogitRows += s.LogitRowCount;
        }

        if (expectedStart != tokenIds.Length)
        {
            throw new ArgumentException($"slices cover {expectedStart} tokens but the batch has {tokenIds.Length}");
        }

        if (deviceSampling is not null && deviceSampling.Length != LogitRows)
        {
            throw new ArgumentException($"device sampling has {deviceSampling.Length} rows for {LogitRows} logit rows");
        }
    }

    /// <summary>All tokens of the step, slice after slice.</summary>
    public int[] TokenIds { get; }

    public SequenceSlice[] Slices { get; }

    /// <summary>Positions per KV block.</summary>
    public int BlockSize { get; }

    /// <summary>
    /// Rows of the output: <see cref="SequenceSlice.LogitRowCount"/> summed over the slices, in slice order and, within a
    /// slice, in token order.
    /// </summary>
    public int LogitRows { get; }

    /// <summary>
    /// When set (and the backend <see cref="IModelBackend.SupportsDeviceSampling"/>), the backend samples each logit
    /// row itself and returns only token ids; otherwise it returns the logits.
    /// </summary>
    public DeviceSamplingRow[]? DeviceSampling { get; }

    public int TokenCount => TokenIds.Length;
}

/// <summary>
/// Sampling parameters for one logit row when the backend samples on the device. <see cref="Uniform"/> is drawn by
/// the engine from the sequence's own seeded stream, so a seed gives the same tokens on every backend.
/// <see cref="TopLogprobs"/> asks the device for the log probability of the sampled token under the model's own
/// distribution (raw logits, before temperature) and of the n most likely tokens (null: none, 0: the sampled token
/// only). A <see cref="ReturnLogits"/> row is one the engine samples itself (penalties, logit bias, a draft's
/// distribution to verify against): the backend returns its logits, and whatever the device drew for it is not used.
/// </summary>
public readonly record struct DeviceSamplingRow(
    float Temperature, int TopK, float TopP, float MinP, float Uniform, int? TopLogprobs = null, bool ReturnLogits = false)
{
    /// <summary>A row whose logits go back to the host, which samples it.</summary>
    public static DeviceSamplingRow HostSampled { get; } = new(0f, 0, 1f, 0f, 0f, null, ReturnLogits: true);

    public bool WantsLogprobs => TopLogprobs is not null && !ReturnLogits;
}
