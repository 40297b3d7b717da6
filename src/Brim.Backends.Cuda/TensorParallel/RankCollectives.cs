using Brim.Backends.Cuda.Interop;
using Brim.Backends.Cuda.Kernels;

namespace Brim.Backends.Cuda.TensorParallel;

/// <summary>
/// One rank's part of a tensor-parallel step on the CUDA backend (docs/tensor-parallel.md): its communicator in the
/// group, its slice of the vocabulary, and what the LM head's gather needs. <see cref="Execution.ForwardPass"/> calls it
/// where Megatron's sharding needs a collective: the embedding (each id's row lives on one rank, the others contribute
/// zeros), after o_proj and after down_proj (each rank holds a partial product of its heads' or features' columns), and
/// the logits (each rank holds its vocabulary slice, padded to <see cref="PaddedVocab"/> ids). Every collective goes on
/// the rank's compute stream, so stream order orders it and a captured decode graph holds it.
/// </summary>
internal sealed class RankCollectives : IDisposable
{
    private readonly NcclGroup _group;
    private CudaDevice? _device;
    private VocabGatherKernel? _gather;
    private DeviceBuffer? _rankLogits;
    private DeviceBuffer? _gathered;
    private int _rows;

    public RankCollectives(NcclGroup group, int rank, int vocabStart, int paddedVocab, int fullVocab)
    {
        ArgumentNullException.ThrowIfNull(group);
        ArgumentOutOfRangeException.ThrowIfNegative(rank);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(rank, group.WorldSize);
        ArgumentOutOfRangeException.ThrowIfLessThan(paddedVocab, 1);
        if (vocabStart != rank * paddedVocab || (long)paddedVocab * group.WorldSize < fullVocab || vocabStart >= fullVocab)
        {
            throw new ArgumentException($"rank {rank} of {group.WorldSize}: vocabulary slice from {vocabStart}, {paddedVocab} ids a rank, does not tile a vocabulary of {fullVocab}");
        }

        _group = group;
        Rank = rank;
        VocabStart = vocabStart;
        PaddedVocab = paddedVocab;
        FullVocab = fullVocab;
    }

    public int Rank { get; }

    public int WorldSize => _group.WorldSize;

    /// <summary>The first id of this rank's vocabulary slice.</summary>
    public int VocabStart { get; }

    /// <summary>Ids every rank's embedding and LM head hold (the last rank's past the vocabulary are zero rows).</summary>
    public int PaddedVocab { get; }

    /// <summary>The model's vocabulary: what the logits, the sampler and the engine see.</summary>
    public int FullVocab { get; }

    /// <summary>Where the LM head writes this rank's logits, [rows, <see cref="PaddedVocab"/>] fp32 (after <see cref="EnsureRows"/>).</summary>
    public ulong RankLogits => _rankLogits?.Pointer ?? throw new InvalidOperationException("EnsureRows must size the logit buffers first");

    /// <summary>The rank's device and kernels: called once by the backend built for this rank, on its device's thread.</summary>
    public void Attach(CudaDevice device, KernelCompiler compiler)
    {
        if (_device is not null)
        {
            throw new InvalidOperationException($"rank {Rank}'s collectives already serve a backend");
        }

        if (_group.Devices[Rank] != device.Ordinal)
        {
            throw new ArgumentException($"rank {Rank}'s communicator is on device {_group.Devices[Rank]}, its backend on device {device.Ordinal}");
        }

        _device = device;
        _gather = new VocabGatherKernel(device, compiler);
    }

    /// <summary>Sizes the logit buffers for <paramref name="rows"/> logit rows; called where the step buffers grow, outside any capture.</summary>
    public void EnsureRows(int rows)
    {
        var device = _device ?? throw new InvalidOperationException("Attach must come first");
        if (rows <= _rows)
        {
            return;
        }

        _rankLogits?.Dispose();
        _gathered?.Dispose();
        _rankLogits = new DeviceBuffer(device, (long)rows * PaddedVocab * sizeof(float));
        _gathered = new DeviceBuffer(device, (long)WorldSize * rows * PaddedVocab * sizeof(float));
        _rows = rows;
    }

    /// <summary>x[0, count) fp32 ← the sum over ranks (the embedding's rows, zeros from the ranks without the id).</summary>
    public void SumResidual(CudaStream stream, ulong x, long count) => _group.AllReduceSum(Rank, stream, x, count, NcclElement.Float32);

    /// <summary>p[0, count) bf16 ← the sum over ranks of the partial products of a row-parallel projection (o_proj, down_proj).</summary>
    public void SumProjection(CudaStream stream, ulong p, long count) => _group.AllReduceSum(Rank, stream, p, count, NcclElement.Bfloat16);

    /// <summary>logits [rows, <see cref="FullVocab"/>] fp32 ← every rank's <see cref="RankLogits"/> rows, gathered and laid out by id.</summary>
    public void GatherLogits(CudaStream stream, int rows, ulong logits)
    {
        if (rows > _rows || _gather is null || _gathered is null)
        {
            throw new InvalidOperationException($"{rows} logit rows, buffers for {_rows}");
        }

        _group.AllGather(Rank, stream, RankLogits, _gathered.Pointer, (long)rows * PaddedVocab, NcclElement.Float32);
        _gather.Gather(stream, _gathered.Pointer, logits, rows, PaddedVocab, FullVocab);
    }

    public void Dispose()
    {
        _device?.MakeCurrent();
        _gathered?.Dispose();
        _rankLogits?.Dispose();
        _gather?.Dispose();
    }
}
