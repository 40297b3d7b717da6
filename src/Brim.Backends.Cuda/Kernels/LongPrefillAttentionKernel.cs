using Brim.Backends.Cuda.Interop;

namespace Brim.Backends.Cuda.Kernels;

/// <summary>
/// Launcher for prefill_attention_long.cu: the long-tile twin of <see cref="PrefillAttentionKernel"/> for slices of many
/// rows (<see cref="PrefillTiling.UsesLongTiles"/>). A CTA of 8 warps holds <see cref="QuerySlots"/> query slots, so it
/// reads each K/V position of the context once for twice the rows; K/V tiles are double-buffered with cp.async.
/// </summary>
internal sealed class LongPrefillAttentionKernel : IDisposable
{
    /// <summary>Query slots of a CTA (8 warps x 16 mma rows); a tile holds this many (row, query head) pairs.</summary>
    public const int QuerySlots = PrefillTiling.LongQuerySlots;

    /// <summary>Keys per staged K/V tile (KT in the kernel).</summary>
    public const int KeysPerTile = 64;

    /// <summary>
    /// The most dynamic shared memory a block may opt into on every sm_80+ part (99 KB on sm_86/sm_89; 163 KB on sm_80,
    /// 227 KB on sm_90): the kernel's largest layout (head_dim 128) takes 68 KB, so it fits everywhere.
    /// </summary>
    private const int MaxSharedBytes = 99 * 1024;

    private const int Threads = QuerySlots / 16 * 32;
    private readonly CudaModule _module;
    private readonly KernelFunction _attention;
    private readonly AttentionShape _shape;
    private readonly int _sharedBytes;

    public LongPrefillAttentionKernel(CudaDevice device, KernelCompiler compiler, AttentionShape shape)
    {
        if (!Supports(shape, compiler.ComputeCapability))
        {
            throw new ArgumentException($"long-tile prefill attention does not support {shape} on sm_{compiler.ComputeCapability}");
        }

        _shape = shape;
        _sharedBytes = SharedBytes(shape);
        _module = new CudaModule(device, compiler.Compile("prefill_attention_long.cu", PrefillTiling.Defines(shape, QuerySlots)), "prefill_attention_long.cu");
        _attention = _module.GetFunction("prefill_attention_long");
        _attention.AllowDynamicSharedBytes(_sharedBytes);
    }

    /// <summary>Token rows of one query tile: the query heads of a KV head times this fill the CTA's query slots.</summary>
    public int RowsPerTile => RowsPerTileFor(_shape);

    public static int RowsPerTileFor(AttentionShape shape) => PrefillTiling.RowsPerTile(shape, QuerySlots);

    /// <summary>
    /// mma.sync bf16, ldmatrix and cp.async need sm_80; one ldmatrix.x4 covers two 16-wide k steps of K, so head_dim is
    /// a multiple of 32; shared memory caps it at 128; a tile holds at least one row.
    /// </summary>
    public static bool Supports(AttentionShape shape, int computeCapability)
        => computeCapability >= 80 && shape.HeadDim % 32 == 0 && shape.HeadDim <= 128 && shape.Group <= QuerySlots
            && SharedBytes(shape) <= MaxSharedBytes;

    /// <summary>
    /// Dynamic shared memory of a CTA, the kernel's SHARED_BYTES (it traps when given less): bf16 K/V tiles of
    /// <see cref="KeysPerTile"/> rows of head_dim + 8 values, two stages of K and V; with FP8 one bf16 K/V pair and two
    /// raw stages of E4M3 codes and float scales.
    /// </summary>
    public static int SharedBytes(AttentionShape shape)
    {
        var tile = KeysPerTile * (shape.HeadDim + 8) * 2;
        var rawStage = (2 * KeysPerTile * shape.HeadDim) + (2 * KeysPerTile * sizeof(float));
        return shape.KvFp8 ? (2 * tile) + (2 * rawStage) : 4 * tile;
    }

    /// <summary>
    /// output[row, h*D..] = softmax(q·Kᵀ/√D)·V over the first rowContext[row] positions of the row's block table, for
    /// every row of the <paramref name="tileCount"/> tiles listed at <paramref name="tiles"/> (see
    /// <see cref="PrefillTiling.PackTile"/>, cut with <see cref="RowsPerTile"/>; all rows of a tile share one block table).
    /// </summary>
    public void Run(
        CudaStream stream, ulong qkv, ulong kCache, ulong vCache, ulong blockTables, ulong rowContext, ulong rowTableOffset,
        ulong tiles, int tileCount, int blockSize, ulong output)
    {
        var a = PrefillAttentionKernel.Arguments(_shape, qkv, kCache, vCache, blockTables, rowContext, rowTableOffset, tiles, tileCount, blockSize, output);

        // Tiles fastest: the CTAs resident together share a KV head, whose K/V then stays in L2 between them.
        _attention.Launch(stream, (tileCount, _shape.NumKvHeads, 1), Threads, ref a, _sharedBytes);
    }

    public void Dispose() => _module.Dispose();
}
