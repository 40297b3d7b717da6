using Brim.Backends.Cuda.Interop;
using Brim.Core.Execution;
using Brim.Models;
using Brim.Models.Parallel;

namespace Brim.Backends.Cuda.TensorParallel;

/// <summary>
/// One model over the GPUs of this process, Megatron-style (docs/tensor-parallel.md): rank r on device r is a
/// <see cref="CudaBackend"/> built for its slice of the plan (<see cref="RankShard"/>: its heads, KV heads, MLP features
/// and padded vocabulary, read straight from the checkpoint by <see cref="ShardedWeightSource"/>), with a KV cache of
/// its KV heads in the engine's blocks. Every step runs on every rank at once, one thread each (a rank's step blocks
/// on its collectives until the others reach them); the ranks' NCCL collectives keep their residual streams equal, and
/// every rank gathers the whole vocabulary's logits and samples them alike, so rank 0's output is the step's.
/// </summary>
/// <remarks>
/// Not yet run on several GPUs (none was lent when this was written): the one-rank path has a test against
/// <see cref="CudaBackend"/> and the N-rank one against one rank, both for the first machine that can run them.
/// </remarks>
public sealed class TensorParallelCudaBackend : IModelBackend
{
    private readonly NcclGroup _group;
    private readonly RankThreads _threads;
    private readonly CudaBackend[] _ranks;
    private readonly ForwardOutput?[] _rankOutputs;
    private bool _disposed;

    private TensorParallelCudaBackend(NcclGroup group, RankThreads threads, CudaBackend[] ranks)
    {
        _group = group;
        _threads = threads;
        _ranks = ranks;
        _rankOutputs = new ForwardOutput?[ranks.Length];
    }

    public string DeviceName => $"{_ranks.Length} × {_ranks[0].DeviceName} (tensor parallel, NCCL {Nccl.DescribeVersion(_group.Version)})";

    public int VocabSize => _ranks[0].VocabSize;

    public bool SupportsDeviceSampling => true;

    public int WorldSize => _ranks.Length;

    /// <summary>Device bytes of every rank's weights.</summary>
    public long WeightBytes => _ranks.Sum(r => r.WeightBytes);

    /// <summary>Quantized projections' format and device bytes over all ranks; null when they are bf16.</summary>
    public (string Format, long Bytes)? QuantizedProjections => _ranks[0].QuantizedProjections is { } first
        ? (first.Format, _ranks.Sum(r => r.QuantizedProjections?.Bytes ?? 0))
        : null;

    /// <summary>Rank 0's device's copy bandwidth and bf16 GEMM rate (the ranks' GPUs are alike: a host's GPUs are one model).</summary>
    public Ceilings MeasureCeilings() => _ranks[0].MeasureCeilings();

    /// <summary>
    /// Whether <paramref name="worldSize"/> ranks can run here: a usable CUDA device, that many of them, and NCCL; when not,
    /// <paramref name="reason"/> says which is missing.
    /// </summary>
    public static bool IsAvailable(int worldSize, out string reason)
    {
        if (!CudaBackend.IsAvailable(out reason))
        {
            return false;
        }

        var devices = CudaDevice.Count();
        if (devices < worldSize)
        {
            reason = $"it needs {worldSize} GPUs, one a rank, and {devices} {(devices == 1 ? "is" : "are")} present";
            return false;
        }

        return NcclGroup.IsAvailable(out reason);
    }

    /// <summary>
    /// Splits <paramref name="model"/> over devices 0 .. <paramref name="worldSize"/> − 1: float weights by their slices,
    /// weights quantized on load likewise (each rank quantizes its slice), a quantized checkpoint's packed layers by
    /// <see cref="QuantizedRankSlices"/>. Refuses, naming what is missing: fewer GPUs than ranks, no NCCL, a config field
    /// that does not split or a packed layer whose split breaks its groups or words (<see cref="ModelLoadException"/>).
    /// </summary>
    public static TensorParallelCudaBackend Create(LoadedModel model, int worldSize, CudaBackendOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentOutOfRangeException.ThrowIfLessThan(worldSize, 1);
        options ??= new CudaBackendOptions();
        var plan = TensorParallelPlan.Create(model.Config, worldSize);

        // Quantized on load (--quantization) shards the float weights and each rank quantizes its slice; a quantized
        // checkpoint's packed layers are sliced as packed (checked here, before any GPU is touched).
        var packedRanks = model.Quantization is { Unquantized: null } packed
            ? plan.Ranks.Select(shard => QuantizedRankSlices.For(packed, shard)).ToArray()
            : null;
        var devices = CudaDevice.Count();
        if (devices < worldSize)
        {
            throw new NotSupportedException($"--tensor-parallel-size {worldSize} needs {worldSize} GPUs, one a rank; {devices} present");
        }

        var group = NcclGroup.Create([.. Enumerable.Range(0, worldSize)]);
        var threads = new RankThreads(worldSize);
        var ranks = new CudaBackend?[worldSize];
        try
        {
            // Each rank loads its slice on its own device at once; the first failure is the one reported.
            threads.Run(r =>
            {
                var shard = plan.Ranks[r];
                using var weights = RankWeights(model.Quantization?.Unquantized ?? model.Weights, shard, out var config);
                var quantization = packedRanks?[r] ?? (model.Quantization is { } q ? q with { Unquantized = weights, StoredBytes = q.StoredBytes / worldSize } : null);
                var collectives = new RankCollectives(group, r, shard.Vocab.Start, plan.PaddedVocabPerRank, model.Config.VocabSize);
                ranks[r] = new CudaBackend(config, weights, RankOptions(options, r), quantization, collectives);
            });
            return new TensorParallelCudaBackend(group, threads, [.. ranks.Select(b => b!)]);
        }
        catch
        {
            foreach (var rank in ranks)
            {
                rank?.Dispose();
            }

            threads.Dispose();
            group.Dispose();
            throw;
        }
    }

    /// <summary>Bytes of one block over all ranks: each holds its KV heads' part (replicated heads once per replica).</summary>
    public long KvBytesPerBlock(int blockSize) => _ranks.Sum(r => r.KvBytesPerBlock(blockSize));

    /// <summary>
    /// Every rank's cache has the same number of blocks, so the rank with the least room per block decides: that many
    /// blocks, in the all-rank bytes per block the engine divides by.
    /// </summary>
    public long AvailableKvCacheBytes(double memoryUtilization)
    {
        var blocks = _ranks.Min(r => r.AvailableKvCacheBytes(memoryUtilization) / Math.Max(1, r.KvBytesPerBlock(1)));
        return blocks * KvBytesPerBlock(1);
    }

    public void AllocateKvCache(int numBlocks, int blockSize) => _threads.Run(r => _ranks[r].AllocateKvCache(numBlocks, blockSize));

    public void Forward(ForwardBatch batch, ForwardOutput output)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        ArgumentNullException.ThrowIfNull(batch);
        ArgumentNullException.ThrowIfNull(output);
        // A rank that fails mid-step leaves the others waiting in a collective: aborting the group frees them, and the
        // backend (its ranks' streams may hold half a step) serves no further step.
        _threads.Run(r => _ranks[r].Forward(batch, r == 0 ? output : _rankOutputs[r] ??= new ForwardOutput(output.VocabSize)), _group.Abort);
    }

    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        foreach (var rank in _ranks)
        {
            rank.Dispose();
        }

        _threads.Dispose();
        _group.Dispose();
    }

    /// <summary>
    /// A rank's weights and model: its slice of the checkpoint, the vocabulary padded (<see cref="PaddedVocabularySource"/>).
    /// Dummy weights (the benchmark load format) are generated in the rank's own shapes on its device instead, from a
    /// seed of the rank's: the whole model's slice would be generated on the host first, minutes for a 70B shape, and
    /// benchmarks need shapes, not those values.
    /// </summary>
    private static IWeightSource RankWeights(IWeightSource whole, RankShard shard, out ModelConfig config)
    {
        config = shard.RankConfig with { VocabSize = shard.Plan.PaddedVocabPerRank };
        if (whole.DummySeed is { } seed)
        {
            return new DummyWeightSource(config, seed + shard.Rank);
        }

        return new PaddedVocabularySource(new ShardedWeightSource(whole, shard), shard);
    }

    /// <summary>
    /// A rank's options: its device; programmatic launch off, so no kernel of a step overlaps an NCCL kernel of it (one
    /// variable fewer until the collectives have run on a multi-GPU machine).
    /// </summary>
    private static CudaBackendOptions RankOptions(CudaBackendOptions options, int rank) => options with
    {
        DeviceOrdinal = rank,
        UseProgrammaticLaunch = false,
    };
}
