using Brim.Backends.Cuda.Interop;

namespace Brim.Backends.Cuda.Kernels;

/// <summary>Launcher for attention.cu: paged attention over ragged rows, split into partitions for long contexts.</summary>
internal sealed class AttentionKernel : IDisposable
{
    /// <summary>Partition slots (rows x heads x partitions) the split path may use; see <see cref="ChoosePartitions"/>.</summary>
    public const int MaxPartitionSlotsPerHead = 1024;

    private const int Threads = 128;

    /// <summary>
    /// Shared-memory stages of each warp's cp.async pipeline in decode_attention_fp8.cu (STAGES - 1 tiles of 16
    /// positions in flight while one is computed).
    /// </summary>
    public const int Fp8Stages = 3;

    /// <summary>
    /// decode_attention_fp8.cu's dynamic shared memory: 4 warps x <see cref="Fp8Stages"/> stages of a 16-position tile
    /// (K and V codes of head_dim 128, then their float scales): 50,688 bytes, so four CTAs fit an H100 SM.
    /// </summary>
    public const int Fp8DecodeSharedBytes = 4 * Fp8Stages * ((2 * 16 * 128) + (2 * 16 * sizeof(float)));

    private readonly int _sharedBytes;
    private readonly CudaModule _module;
    private readonly CudaModule? _decodeModule;
    private readonly KernelFunction _attention;
    private readonly KernelFunction _reduce;
    private readonly AttentionShape _shape;
    private readonly bool _tensorCoreFp8;

    /// <param name="preferDecodeKernel">
    /// Use decode_attention.cu where the shape fits it (false keeps the general kernel, for comparisons).
    /// </param>
    public AttentionKernel(CudaDevice device, KernelCompiler compiler, AttentionShape shape, bool preferDecodeKernel = true)
    {
        shape.Validate();
        _shape = shape;
        _module = new CudaModule(device, compiler.Compile("attention.cu", shape.Defines), "attention.cu");
        _reduce = _module.GetFunction("attention_reduce").WithProgrammaticLaunch();
        if (preferDecodeKernel && TensorCoreFp8Supports(shape, compiler.ComputeCapability))
        {
            var defines = new Dictionary<string, int>(shape.Defines) { ["STAGES"] = Fp8Stages };
            _decodeModule = new CudaModule(device, compiler.Compile("decode_attention_fp8.cu", defines), "decode_attention_fp8.cu");
            _attention = _decodeModule.GetFunction("decode_attention_fp8").WithProgrammaticLaunch();
            _attention.AllowDynamicSharedBytes(Fp8DecodeSharedBytes);
            _attention.PreferSharedMemory();
            _sharedBytes = Fp8DecodeSharedBytes;
            KernelName = "decode_attention_fp8";
            _tensorCoreFp8 = true;
        }
        else if (preferDecodeKernel && DecodeKernelSupports(shape))
        {
            _decodeModule = new CudaModule(device, compiler.Compile("decode_attention.cu", shape.Defines), "decode_attention.cu");
            _attention = _decodeModule.GetFunction("decode_attention").WithProgrammaticLaunch();
            KernelName = "decode_attention";
        }
        else
        {
            _attention = _module.GetFunction("paged_attention");
        }
    }

    /// <summary>Whether this instance runs a throughput kernel (decode_attention.cu or its FP8 tensor-core twin) rather than the general one.</summary>
    public bool UsesDecodeKernel => _decodeModule is not null;

    /// <summary>The kernel that runs: paged_attention, decode_attention or decode_attention_fp8.</summary>
    public string KernelName { get; } = "paged_attention";

    /// <summary>
    /// Shapes decode_attention_fp8.cu serves: an FP8 cache, head_dim 128 (a lane's K and V rows are whole 16-byte
    /// pieces of the mma fragments), at most 8 query heads per KV head (the mma's N side), and sm_89+ tensor cores.
    /// </summary>
    public static bool TensorCoreFp8Supports(AttentionShape shape, int computeCapability)
        => shape.KvFp8 && shape.HeadDim == 128 && shape.Group <= 8 && computeCapability >= 89;

    /// <summary>
    /// Shapes decode_attention.cu serves: eight lanes per position must own whole 16-byte pieces (head_dim 64 or 128)
    /// and each lane keeps GROUP · head_dim / 8 query and accumulator values in registers (at most 64 each).
    /// </summary>
    public static bool DecodeKernelSupports(AttentionShape shape)
        => shape.HeadDim is 64 or 128 && shape.Group * shape.HeadDim / 8 <= 64;

    /// <summary>Floats of partial sums the split path needs (part_acc and part_ml together).</summary>
    public static long PartialFloats(AttentionShape shape) => (long)MaxPartitionSlotsPerHead * shape.Group * (shape.HeadDim + 2);

    /// <summary>CTAs per multiprocessor the split aims for with either decode kernel (see <see cref="ChoosePartitions"/>).</summary>
    public const int DecodeCtasPerMultiprocessor = 2;

    /// <summary>
    /// Fewest positions a partition of the FP8 kernel gets: its warps each fill a pipeline of 16-position tiles, which pays
    /// only over several tiles a warp.
    /// </summary>
    public const int Fp8MinPositionsPerPartition = 128;

    /// <summary>CTAs per multiprocessor the split aims for with this instance's kernel.</summary>
    public int CtasPerMultiprocessorTarget => DecodeCtasPerMultiprocessor;

    /// <summary>Fewest positions a partition of this instance's kernel gets.</summary>
    public int MinPositionsPerPartition => _tensorCoreFp8 ? Fp8MinPositionsPerPartition : 32;

    /// <summary>
    /// Partitions per row: enough CTAs to cover the GPU <paramref name="ctasPerMultiprocessor"/> times when rows x kv
    /// heads alone do not, never under 32 positions a partition, a power of two (few distinct values, so few CUDA
    /// graphs). Measured on an H100 (bench-attention): both decode kernels are best at about 2 CTAs per SM — the bf16
    /// one (two resident per SM) and the FP8 one with its cp.async pipeline (four resident): 8 rows x 8,192 positions
    /// read 2,271 GB/s of FP8 in 4 partitions against 2,006 in 16, 32 x 1,024 1,948 GB/s whole against 1,707 in 2 — with
    /// at least 128 positions a partition for FP8 (1 x 1,024: 155 GB/s in 8 partitions, 109 in 2).
    /// </summary>
    public static int ChoosePartitions(int rows, int numKvHeads, int maxContext, int multiprocessors, int ctasPerMultiprocessor = 2, int minPositionsPerPartition = 32)
    {
        var ctas = rows * numKvHeads;
        var byOccupancy = Math.Max(1, ctasPerMultiprocessor * multiprocessors / Math.Max(1, ctas));
        var byWork = Math.Max(1, (maxContext + minPositionsPerPartition - 1) / minPositionsPerPartition);
        var parts = Math.Min(Math.Min(byOccupancy, byWork), 64);
        parts = 1 << System.Numerics.BitOperations.Log2((uint)parts); // round down to a power of two
        return ctas * parts > MaxPartitionSlotsPerHead ? 1 : parts;
    }

    /// <summary>
    /// output[row, h*D..] = softmax(q·Kᵀ/√D)·V over the first rowContext[row] positions of the row's block table
    /// (block_tables + rowTableOffset[row]). q is read from the fused qkv rows. With partitions &gt; 1 the partial
    /// buffer (of <see cref="PartialFloats"/> floats) holds the split results before the reduce.
    /// </summary>
    public void Run(
        CudaStream stream, ulong qkv, ulong kCache, ulong vCache, ulong blockTables, ulong rowContext, ulong rowTableOffset,
        int rows, int blockSize, int partitions, ulong output, ulong partial)
    {
        Launch.Positive(rows, nameof(rows));
        Launch.Positive(blockSize, nameof(blockSize));
        Launch.Positive(partitions, nameof(partitions));
        if (partitions > 1 && (long)rows * _shape.NumKvHeads * partitions > MaxPartitionSlotsPerHead)
        {
            throw new ArgumentException($"{rows} rows x {_shape.NumKvHeads} kv heads x {partitions} partitions exceed the partial buffer");
        }

        var partialAcc = partial;
        var partialMl = partial + (ulong)((long)MaxPartitionSlotsPerHead * _shape.Group * _shape.HeadDim * sizeof(float));
        var a = default(KernelArguments);
        a.Add(qkv);
        a.Add(kCache);
        a.Add(vCache);
        a.Add(blockTables);
        a.Add(rowContext);
        a.Add(rowTableOffset);
        a.Add(blockSize);
        a.Add(1f / MathF.Sqrt(_shape.HeadDim));
        a.Add(output);
        a.Add(partialAcc);
        a.Add(partialMl);
        _attention.Launch(stream, (_shape.NumKvHeads, rows, partitions), Threads, ref a, _sharedBytes);
        if (partitions > 1)
        {
            var r = default(KernelArguments);
            r.Add(partialAcc);
            r.Add(partialMl);
            r.Add(partitions);
            r.Add(output);
            _reduce.Launch(stream, (_shape.NumHeads, rows, 1), Launch.RowThreads(_shape.HeadDim), ref r);
        }
    }

    public void Dispose()
    {
        _decodeModule?.Dispose();
        _module.Dispose();
    }
}
