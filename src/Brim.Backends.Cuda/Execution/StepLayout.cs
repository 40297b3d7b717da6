using Brim.Backends.Cuda.Kernels;

namespace Brim.Backends.Cuda.Execution;

/// <summary>
/// Where each per-step metadata array lives in the one int32 buffer copied host→device each step. The offsets depend
/// only on the capacity, never on the batch, so CUDA graphs captured against them stay valid from step to step.
/// </summary>
internal readonly record struct StepLayout(StepCapacity Capacity)
{
    public const int SamplingFloatsPerRow = SamplingKernel.ParamsPerRow;

    /// <summary>Token ids [tokens].</summary>
    public int TokenIds => 0;

    /// <summary>Absolute positions [tokens] (rotary embeddings).</summary>
    public int Positions => Capacity.Tokens;

    /// <summary>KV cache slot (block * blockSize + offset) per token, -1 for padding [tokens].</summary>
    public int Slots => 2 * Capacity.Tokens;

    /// <summary>Attention context length per token row (its position + 1; 0 for padding) [tokens].</summary>
    public int RowContext => 3 * Capacity.Tokens;

    /// <summary>Offset of each token row's block table within <see cref="BlockTables"/> [tokens].</summary>
    public int RowTableOffset => 4 * Capacity.Tokens;

    /// <summary>Query tiles of the tensor-core prefill attention, packed (first row, row count) [at most tokens].</summary>
    public int QueryTiles => 5 * Capacity.Tokens;

    /// <summary>Token row of each logit row [logit rows].</summary>
    public int LogitRowTokens => 6 * Capacity.Tokens;

    /// <summary>Sampling parameters as float bits, five per logit row.</summary>
    public int Sampling => LogitRowTokens + Capacity.LogitRows;

    /// <summary>The block tables of all slices, concatenated; last, so a step copies only the used prefix.</summary>
    public int BlockTables => Sampling + (SamplingFloatsPerRow * Capacity.LogitRows);

    public int TotalInts => BlockTables + Capacity.BlockTableEntries;
}
