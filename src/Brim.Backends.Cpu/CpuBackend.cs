using Brim.Backends.Cpu.Kernels;
using Brim.Backends.Cpu.KvCache;
using Brim.Backends.Cpu.Threading;
using Brim.Backends.Cpu.Weights;
using Brim.Core.Execution;
using Brim.Models;

namespace Brim.Backends.Cpu;

/// <summary>
/// The Llama-family forward pass (llama2.c, Llama 2/3/3.1, Mistral, Qwen2) in float32 on the CPU, over ragged batches
/// against a paged KV cache of float32 or int8 (<see cref="CpuBackendOptions.KvCacheDType"/>).
/// </summary>
/// <remarks>
/// Invariant — batch invariance: the logits of a sequence are bitwise identical whether it runs alone or in any
/// batch, at any place in it, with any chunking of its prefill and any thread count. Every value of a token is
/// computed by a sequence of float operations that depends only on that token and its sequence: matmuls are one
/// fixed-order dot product per output element (<see cref="FixedOrderMath"/>), per-token operations see one row at a
/// time (<see cref="RowKernels"/>), and attention visits a sequence's positions in order inside one thread
/// (<see cref="AttentionJob"/>); an int8 cache quantizes each (token, KV head) vector on its own
/// (<see cref="Int8KvQuantizer"/>). Tests hold this to bitwise equality; keep it when optimizing.
/// The layers run through <see cref="DecoderShard"/>, the code the tensor-parallel ranks run too
/// (<see cref="Parallel.TensorParallelCpuBackend"/>): here one shard holds the whole model and nothing is reduced.
/// </remarks>
public sealed class CpuBackend : IModelBackend
{
    private readonly ModelConfig _config;
    private readonly WorkerPool _pool;
    private readonly DecoderShard _shard;

    private CpuBackend(ModelConfig config, CpuModelWeights weights, int threadCount, KvCacheDType kvCacheDType)
    {
        _config = config;
        KvCacheDType = kvCacheDType;
        _pool = new WorkerPool(threadCount);
        _shard = new DecoderShard(config, weights, kvCacheDType, vocabStart: 0);
        SwapSpace = new CpuKvSwapSpace((blocks, blockSize) => PagedKvCache.Create(kvCacheDType, config, blocks, blockSize), () => _shard.Cache);
    }

    public string DeviceName => $"cpu ({_pool.ThreadCount} threads)";

    public int VocabSize => _config.VocabSize;

    public bool SupportsDeviceSampling => false;

    /// <summary>How the KV cache stores keys and values: <see cref="KvCacheDType.Auto"/> (float32) or <see cref="KvCacheDType.Int8"/>.</summary>
    public KvCacheDType KvCacheDType { get; }

    /// <summary>Host arrays beside the KV cache; see <see cref="CpuKvSwapSpace"/> for why it defaults to none.</summary>
    public IKvSwapSpace SwapSpace { get; }

    /// <summary>
    /// Reads the model's weights as float32 (the model itself stays owned by the caller). Throws
    /// <see cref="NotSupportedException"/> for <see cref="KvCacheDType.Fp8"/>, before reading any weight.
    /// </summary>
    public static CpuBackend Create(LoadedModel model, CpuBackendOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        options ??= new CpuBackendOptions();
        ArgumentOutOfRangeException.ThrowIfLessThan(options.ThreadCount, 1, nameof(options.ThreadCount));
        CheckKvCacheDType(options.KvCacheDType);
        model.Config.Validate();
        var weights = CpuModelWeights.Load(model.Config, model.Weights);
        return new CpuBackend(model.Config, weights, options.ThreadCount, options.KvCacheDType);
    }

    /// <summary>K and V of every layer: float32 4 bytes per element; int8 1 byte per element and 4 per (position, KV head).</summary>
    public long KvBytesPerBlock(int blockSize) => 2L * _config.NumLayers * blockSize * PagedKvCache.BytesPerPosition(KvCacheDType, _config);

    /// <summary>
    /// <paramref name="memoryUtilization"/> of the memory the process may use (physical memory or its container
    /// limit), minus what it uses already (the weights above all), and never more than 90% of what is free now.
    /// </summary>
    public long AvailableKvCacheBytes(double memoryUtilization)
    {
        if (memoryUtilization is <= 0 or > 1)
        {
            throw new ArgumentOutOfRangeException(nameof(memoryUtilization), memoryUtilization, "must be in (0, 1]");
        }

        var info = GC.GetGCMemoryInfo();
        var total = info.TotalAvailableMemoryBytes;
        var used = Math.Max(GC.GetTotalMemory(false), _shard.Weights.Bytes);
        var free = Math.Max(0, total - info.MemoryLoadBytes);
        var budget = (long)(total * memoryUtilization) - used;
        return Math.Clamp(budget, 0, (long)(free * 0.9));
    }

    public void AllocateKvCache(int numBlocks, int blockSize) => _shard.AllocateKvCache(numBlocks, blockSize);

    /// <summary>
    /// Runs the step and writes <see cref="ForwardBatch.LogitRows"/> logit rows: the last
    /// <see cref="SequenceSlice.LogitRowCount"/> tokens of each slice, in slice order.
    /// <see cref="ForwardBatch.DeviceSampling"/> is ignored (<see cref="SupportsDeviceSampling"/> is false): the output
    /// always holds logits. Throws <see cref="ArgumentException"/> for token ids, positions or blocks out of range.
    /// </summary>
    public void Forward(ForwardBatch batch, ForwardOutput output)
    {
        ArgumentNullException.ThrowIfNull(batch);
        ArgumentNullException.ThrowIfNull(output);
        var cache = _shard.Cache ?? throw new InvalidOperationException("AllocateKvCache must be called before Forward");
        var maxContext = Validate(_config, batch, output, cache);
        var tokens = batch.TokenCount;

        // One rank holding the whole model: each phase's partial output is already the full one, nothing to reduce.
        _shard.Begin(batch);
        _shard.EmbedPartial(batch.TokenIds);
        _shard.SetHiddenFromProjection(tokens);
        for (var layer = 0; layer < _config.NumLayers; layer++)
        {
            _shard.AttentionPartial(_pool, batch, layer, maxContext);
            _shard.AddProjectionToHidden(tokens);
            _shard.FeedForwardPartial(_pool, layer, tokens);
            _shard.AddProjectionToHidden(tokens);
        }

        output.Prepare(batch.LogitRows, sampled: false);
        _shard.Logits(_pool, batch, output.Logits);
    }

    public void Dispose() => _pool.Dispose();

    private static void CheckKvCacheDType(KvCacheDType type)
    {
        switch (type)
        {
            case KvCacheDType.Auto or KvCacheDType.Int8:
                return;
            case KvCacheDType.Fp8:
                throw new NotSupportedException("--kv-cache-dtype fp8 needs the CUDA backend; the CPU backend supports auto and int8");
            default:
                throw new ArgumentOutOfRangeException(nameof(type), type, "not a KV cache dtype");
        }
    }

    /// <summary>Checks what <see cref="ForwardBatch"/> itself cannot know; returns the longest context in the batch.</summary>
    internal static int Validate(ModelConfig config, ForwardBatch batch, ForwardOutput output, PagedKvCache cache)
    {
        if (batch.BlockSize != cache.BlockSize)
        {
            throw new ArgumentException($"batch block size {batch.BlockSize} differs from the KV cache's {cache.BlockSize}", nameof(batch));
        }

        if (output.VocabSize != config.VocabSize)
        {
            throw new ArgumentException($"output has vocabulary {output.VocabSize}, the model {config.VocabSize}", nameof(output));
        }

        foreach (var id in batch.TokenIds)
        {
            if ((uint)id >= (uint)config.VocabSize)
            {
                throw new ArgumentException($"token id {id} is outside the vocabulary of {config.VocabSize}", nameof(batch));
            }
        }

        var maxContext = 0;
        foreach (var slice in batch.Slices)
        {
            if (slice.StartPosition < 0 || slice.ContextLength > config.MaxPositions)
            {
                throw new ArgumentException(
                    $"slice at token {slice.TokenStart} covers positions {slice.StartPosition}..{slice.ContextLength - 1}, outside 0..{config.MaxPositions - 1}",
                    nameof(batch));
            }

            var blocksUsed = (slice.ContextLength + cache.BlockSize - 1) / cache.BlockSize;
            foreach (var block in slice.BlockTable.Span[..blocksUsed])
            {
                if ((uint)block >= (uint)cache.NumBlocks)
                {
                    throw new ArgumentException($"block {block} is outside the KV cache of {cache.NumBlocks} blocks", nameof(batch));
                }
            }

            maxContext = Math.Max(maxContext, slice.ContextLength);
        }

        return maxContext;
    }
}
