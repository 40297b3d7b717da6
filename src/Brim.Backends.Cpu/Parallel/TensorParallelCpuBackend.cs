using Brim.Backends.Cpu.KvCache;
using Brim.Backends.Cpu.Threading;
using Brim.Backends.Cpu.Weights;
using Brim.Core.Execution;
using Brim.Models;
using Brim.Models.Parallel;

namespace Brim.Backends.Cpu.Parallel;

/// <summary>
/// Megatron-style tensor parallelism simulated in one process: <see cref="TensorParallelPlan.WorldSize"/> ranks, each
/// a <see cref="DecoderShard"/> holding only its slice of the weights (read through a <see cref="ShardedWeightSource"/>)
/// and a KV cache of only its KV heads, run the same ragged step; after each layer's attention and MLP the partial
/// outputs are summed across ranks (<see cref="AllReduce"/>), the vocabulary-parallel embedding is summed likewise, and
/// each rank's LM head rows are gathered into the logits. The ranks run one after another on one worker pool: the
/// point is the sharded arithmetic, which the tests hold against <see cref="CpuBackend"/>, not speed.
/// </summary>
/// <remarks>
/// Numerics: column-parallel outputs (q, k, v, gate, up, the LM head's rows) are the unsharded dot products exactly;
/// a row-parallel output (o, down) is a sum of per-rank partial dot products, which rounds differently from one dot
/// product over the whole row, so logits agree with the unsharded backend to float32 summation error, bitwise at one
/// rank. Block tables and block indices are the engine's, unchanged: every rank's cache has the same blocks.
/// </remarks>
public sealed class TensorParallelCpuBackend : IModelBackend
{
    private readonly TensorParallelPlan _plan;
    private readonly DecoderShard[] _ranks;
    private readonly float[][] _rankLogits;
    private readonly WorkerPool _pool;

    private TensorParallelCpuBackend(TensorParallelPlan plan, DecoderShard[] ranks, int threadCount)
    {
        _plan = plan;
        _ranks = ranks;
        _rankLogits = new float[ranks.Length][];
        Array.Fill(_rankLogits, []);
        _pool = new WorkerPool(threadCount);
    }

    public string DeviceName => $"cpu, {_plan.WorldSize} simulated tensor-parallel ranks ({_pool.ThreadCount} threads)";

    public int VocabSize => _plan.Config.VocabSize;

    public bool SupportsDeviceSampling => false;

    public int WorldSize => _plan.WorldSize;

    /// <summary>
    /// Splits the model over <paramref name="worldSize"/> ranks, each reading only its slice of the weights. Throws
    /// <see cref="ModelLoadException"/> naming the config field that does not split.
    /// </summary>
    public static TensorParallelCpuBackend Create(LoadedModel model, int worldSize, CpuBackendOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        options ??= new CpuBackendOptions();
        ArgumentOutOfRangeException.ThrowIfLessThan(options.ThreadCount, 1, nameof(options.ThreadCount));
        if (options.KvCacheDType is not (KvCacheDType.Auto or KvCacheDType.Int8))
        {
            throw new NotSupportedException("--kv-cache-dtype fp8 needs the CUDA backend; the CPU backend supports auto and int8");
        }

        var plan = TensorParallelPlan.Create(model.Config, worldSize);
        var ranks = plan.Ranks.Select(shard =>
        {
            using var source = new ShardedWeightSource(model.Weights, shard);
            var config = shard.RankConfig;
            return new DecoderShard(config, CpuModelWeights.Load(config, source), options.KvCacheDType, shard.Vocab.Start);
        }).ToArray();
        return new TensorParallelCpuBackend(plan, ranks, options.ThreadCount);
    }

    /// <summary>All ranks' KV bytes for one block: each holds its KV heads' part (replicated heads count once per replica).</summary>
    public long KvBytesPerBlock(int blockSize) =>
        _ranks.Sum(r => 2L * r.Config.NumLayers * blockSize * PagedKvCache.BytesPerPosition(r.KvCacheDType, r.Config));

    /// <summary>As <see cref="CpuBackend.AvailableKvCacheBytes"/>: every rank lives in this process's memory.</summary>
    public long AvailableKvCacheBytes(double memoryUtilization)
    {
        if (memoryUtilization is <= 0 or > 1)
        {
            throw new ArgumentOutOfRangeException(nameof(memoryUtilization), memoryUtilization, "must be in (0, 1]");
        }

        var info = GC.GetGCMemoryInfo();
        var total = info.TotalAvailableMemoryBytes;
        var used = Math.Max(GC.GetTotalMemory(false), _ranks.Sum(r => r.Weights.Bytes));
        var free = Math.Max(0, total - info.MemoryLoadBytes);
        return Math.Clamp((long)(total * memoryUtilization) - used, 0, (long)(free * 0.9));
    }

    public void AllocateKvCache(int numBlocks, int blockSize)
    {
        foreach (var rank in _ranks)
        {
            rank.AllocateKvCache(numBlocks, blockSize);
        }
    }

    /// <summary>Runs the step on every rank and writes the gathered logits of <see cref="ForwardBatch.LogitRows"/> rows.</summary>
    public void Forward(ForwardBatch batch, ForwardOutput output)
    {
        ArgumentNullException.ThrowIfNull(batch);
        ArgumentNullException.ThrowIfNull(output);
        var cache = _ranks[0].Cache ?? throw new InvalidOperationException("AllocateKvCache must be called before Forward");
        var maxContext = CpuBackend.Validate(_plan.Config, batch, output, cache);
        var tokens = batch.TokenCount;
        var width = tokens * _plan.Config.HiddenSize;

        foreach (var rank in _ranks)
        {
            rank.Begin(batch);
            rank.EmbedPartial(batch.TokenIds);
        }

        AllReduce.Sum(_ranks, width);
        foreach (var rank in _ranks)
        {
            rank.SetHiddenFromProjection(tokens);
        }

        for (var layer = 0; layer < _plan.Config.NumLayers; layer++)
        {
            // On GPUs the ranks run these phases at once, each on its own device, meeting only in the all-reduces.
            foreach (var rank in _ranks)
            {
                rank.AttentionPartial(_pool, batch, layer, maxContext);
            }

            ReduceIntoHidden(tokens);
            foreach (var rank in _ranks)
            {
                rank.FeedForwardPartial(_pool, layer, tokens);
            }

            ReduceIntoHidden(tokens);
        }

        output.Prepare(batch.LogitRows, sampled: false);
        GatherLogits(batch, output);
    }

    public void Dispose() => _pool.Dispose();

    /// <summary>The all-reduce of a row-parallel block's partial outputs, added to every rank's residual stream.</summary>
    private void ReduceIntoHidden(int tokens)
    {
        AllReduce.Sum(_ranks, tokens * _plan.Config.HiddenSize);
        foreach (var rank in _ranks)
        {
            rank.AddProjectionToHidden(tokens);
        }
    }

    /// <summary>The vocabulary-parallel LM head: each rank's logits land in its columns of every row.</summary>
    private void GatherLogits(ForwardBatch batch, ForwardOutput output)
    {
        var vocab = _plan.Config.VocabSize;
        for (var r = 0; r < _ranks.Length; r++)
        {
            var rank = _ranks[r];
            var local = rank.Config.VocabSize;
            if (_rankLogits[r].Length < batch.LogitRows * local)
            {
                _rankLogits[r] = new float[batch.LogitRows * local];
            }

            var rows = rank.Logits(_pool, batch, _rankLogits[r]);
            for (var row = 0; row < rows; row++)
            {
                _rankLogits[r].AsSpan(row * local, local).CopyTo(output.Logits.AsSpan((row * vocab) + rank.VocabStart, local));
            }
        }
    }
}
