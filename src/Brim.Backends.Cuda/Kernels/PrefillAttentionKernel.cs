using Brim.Backends.Cuda.Interop;

namespace Brim.Backends.Cuda.Kernels;

/// <summary>
/// Launcher for prefill_attention.cu, the small-tile kernel: causal attention of multi-token steps on tensor cores, one
/// CTA per (KV head, query tile), a query tile being up to <see cref="RowsPerTile"/> consecutive rows of one sequence.
/// Long chunks go to <see cref="LongPrefillAttentionKernel"/> instead (<see cref="PrefillTiling.UsesLongTiles"/>).
/// </summary>
internal sealed class PrefillAttentionKernel : IDisposable
{
    /// <summary>Query slots of a CTA (4 warps x 16 mma rows); a tile holds this many (row, query head) pairs.</summary>
    public const int QuerySlots = PrefillTiling.SmallQuerySlots;

    private const int Threads = QuerySlots / 16 * 32;
    private readonly CudaModule _module;
    private readonly KernelFunction _attention;
    private readonly AttentionShape _shape;

    public PrefillAttentionKernel(CudaDevice device, KernelCompiler compiler, AttentionShape shape)
    {
        if (!Supports(shape, compiler.ComputeCapability))
        {
            throw new ArgumentException($"tensor-core prefill attention does not support {shape} on sm_{compiler.ComputeCapability}");
        }

        _shape = shape;
        _module = new CudaModule(device, compiler.Compile("prefill_attention.cu", PrefillTiling.Defines(shape, QuerySlots)), "prefill_attention.cu");
        _attention = _module.GetFunction("prefill_attention");
    }

    /// <summary>Token rows of one query tile: the query heads of a KV head times this fill the CTA's query slots.</summary>
    public int RowsPerTile => RowsPerTileFor(_shape);

    public static int RowsPerTileFor(AttentionShape shape) => PrefillTiling.RowsPerTile(shape, QuerySlots);

    /// <summary>mma.sync bf16 needs sm_80; fragments need head_dim a multiple of 16; shared memory caps it at 128.</summary>
    public static bool Supports(AttentionShape shape, int computeCapability)
        => computeCapability >= 80 && shape.HeadDim % 16 == 0 && shape.HeadDim <= 128 && shape.Group <= QuerySlots;

    /// <summary>
    /// output[row, h*D..] = softmax(q·Kᵀ/√D)·V over the first rowContext[row] positions of the row's block table, for
    /// every row of the <paramref name="tileCount"/> tiles listed at <paramref name="tiles"/> (see <see cref="PrefillTiling.PackTile"/>;
    /// all rows of a tile share one block table).
    /// </summary>
    public void Run(
        CudaStream stream, ulong qkv, ulong kCache, ulong vCache, ulong blockTables, ulong rowContext, ulong rowTableOffset,
        ulong tiles, int tileCount, int blockSize, ulong output)
    {
        var a = Arguments(_shape, qkv, kCache, vCache, blockTables, rowContext, rowTableOffset, tiles, tileCount, blockSize, output);
        _attention.Launch(stream, (_shape.NumKvHeads, tileCount, 1), Threads, ref a);
    }

    /// <summary>The arguments both prefill attention kernels take, in their order, after checking the launch's counts.</summary>
    internal static KernelArguments Arguments(
        AttentionShape shape, ulong qkv, ulong kCache, ulong vCache, ulong blockTables, ulong rowContext, ulong rowTableOffset,
        ulong tiles, int tileCount, int blockSize, ulong output)
    {
        Launch.Positive(tileCount, nameof(tileCount));
        Launch.Positive(blockSize, nameof(blockSize));
        var a = default(KernelArguments);
        a.Add(qkv);
        a.Add(kCache);
        a.Add(vCache);
        a.Add(blockTables);
        a.Add(rowContext);
        a.Add(rowTableOffset);
        a.Add(tiles);
        a.Add(blockSize);
        a.Add(1f / MathF.Sqrt(shape.HeadDim));
        a.Add(output);
        return a;
    }

    public void Dispose() => _module.Dispose();
}
