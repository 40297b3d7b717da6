using Brim.Backends.Cuda.Interop;

namespace Brim.Backends.Cuda.TensorParallel;

/// <summary>
/// The NCCL communicators of a tensor-parallel group: one process, one rank per GPU (docs/tensor-parallel.md says why),
/// created together by <c>ncclCommInitAll</c>. Rank r's collectives go on rank r's stream, after the kernels that
/// produce their input and before those that read the result, so stream order alone orders them (no host sync in a
/// step) and CUDA graph capture records them with the step. Every rank must enqueue the same collectives in the same
/// order; a rank thread enqueueing alone is fine (each call only enqueues), one thread enqueueing for several ranks must
/// bracket them in <see cref="Together"/>.
/// </summary>
internal sealed unsafe class NcclGroup : IDisposable
{
    private readonly nint[] _comms;
    private bool _disposed;
    private int _aborted;

    private NcclGroup(nint[] comms, int[] devices, int version)
    {
        _comms = comms;
        Devices = devices;
        Version = version;
    }

    /// <summary>The CUDA device ordinal of each rank.</summary>
    public IReadOnlyList<int> Devices { get; }

    public int WorldSize => _comms.Length;

    /// <summary>NCCL_VERSION_CODE of the library loaded.</summary>
    public int Version { get; }

    /// <summary>
    /// Whether libnccl.so.2 loads and is new enough for bf16 collectives; <paramref name="reason"/> says what is missing
    /// otherwise, in words a user can act on.
    /// </summary>
    public static bool IsAvailable(out string reason)
    {
        if (!NativeLibraries.TryLoad(NativeLibraries.Nccl, out _, out var why))
        {
            reason = $"NCCL is not installed ({why}); tensor parallelism on GPUs needs libnccl.so.2 (NVIDIA's nccl package, or the one PyTorch ships)";
            return false;
        }

        Nccl.Check(Nccl.ncclGetVersion(out var version), "ncclGetVersion");
        if (version < Nccl.MinVersion)
        {
            reason = $"NCCL {Nccl.DescribeVersion(version)} is too old: bf16 collectives need NCCL {Nccl.DescribeVersion(Nccl.MinVersion)} or newer";
            return false;
        }

        reason = string.Empty;
        return true;
    }

    /// <summary>One communicator per device ordinal, rank i on <paramref name="devices"/>[i]. Throws <see cref="CudaException"/> naming what is missing.</summary>
    public static NcclGroup Create(IReadOnlyList<int> devices)
    {
        ArgumentNullException.ThrowIfNull(devices);
        if (devices.Count == 0)
        {
            throw new ArgumentException("a tensor-parallel group needs at least one device", nameof(devices));
        }

        if (devices.Distinct().Count() != devices.Count)
        {
            throw new ArgumentException($"each rank needs a GPU of its own, got devices {string.Join(", ", devices)}", nameof(devices));
        }

        if (!IsAvailable(out var reason))
        {
            throw new CudaException(reason);
        }

        Nccl.Check(Nccl.ncclGetVersion(out var version), "ncclGetVersion");
        var comms = new nint[devices.Count];
        var list = devices.ToArray();
        fixed (nint* c = comms)
        fixed (int* d = list)
        {
            Nccl.Check(Nccl.ncclCommInitAll(c, list.Length, d), $"ncclCommInitAll({list.Length} devices)");
        }

        var group = new NcclGroup(comms, list, version);
        group.CheckInvariants();
        return group;
    }

    /// <summary>
    /// buffer[0, count) ← the sum over ranks of every rank's buffer (in place), enqueued on <paramref name="stream"/>,
    /// the stream of rank <paramref name="rank"/>'s device.
    /// </summary>
    public void AllReduceSum(int rank, CudaStream stream, ulong buffer, long count, NcclElement element)
    {
        ArgumentNullException.ThrowIfNull(stream);
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        Nccl.Check(Nccl.ncclAllReduce(buffer, buffer, (nuint)count, (int)element, Nccl.Sum, Comm(rank), stream.Handle), "ncclAllReduce");
    }

    /// <summary>
    /// gathered[r · count, (r + 1) · count) ← rank r's send[0, count) for every rank r, enqueued on rank
    /// <paramref name="rank"/>'s <paramref name="stream"/>.
    /// </summary>
    public void AllGather(int rank, CudaStream stream, ulong send, ulong gathered, long count, NcclElement element)
    {
        ArgumentNullException.ThrowIfNull(stream);
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        Nccl.Check(Nccl.ncclAllGather(send, gathered, (nuint)count, (int)element, Comm(rank), stream.Handle), "ncclAllGather");
    }

    /// <summary>
    /// Runs <paramref name="enqueue"/> between ncclGroupStart and ncclGroupEnd: how one thread enqueues a collective for
    /// several ranks without the first rank's call waiting for the others.
    /// </summary>
    public static void Together(Action enqueue)
    {
        ArgumentNullException.ThrowIfNull(enqueue);
        Nccl.Check(Nccl.ncclGroupStart(), "ncclGroupStart");
        try
        {
            enqueue();
        }
        finally
        {
            Nccl.Check(Nccl.ncclGroupEnd(), "ncclGroupEnd");
        }
    }

    /// <summary>Whether <see cref="Abort"/> ended the group: its communicators serve no further collective.</summary>
    public bool Aborted => Volatile.Read(ref _aborted) != 0;

    /// <summary>
    /// Ends every communicator at once, uncompleted collectives included (ncclCommAbort): what frees the ranks still
    /// waiting in a collective when one rank failed before reaching it. Safe from any thread, once; the group is then
    /// unusable.
    /// </summary>
    public void Abort()
    {
        if (Interlocked.Exchange(ref _aborted, 1) != 0)
        {
            return;
        }

        foreach (var comm in _comms)
        {
            _ = Nccl.ncclCommAbort(comm); // best effort: the failure that led here is the one to report
        }
    }

    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        if (Aborted)
        {
            return; // aborted communicators are already freed
        }

        foreach (var comm in _comms)
        {
            _ = Nccl.ncclCommDestroy(comm); // teardown: nothing useful to do with a failure here
        }
    }

    private nint Comm(int rank)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (Aborted)
        {
            throw new CudaException("the tensor-parallel group was aborted after a rank failed; load the model again");
        }

        ArgumentOutOfRangeException.ThrowIfNegative(rank);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(rank, _comms.Length);
        return _comms[rank];
    }

    /// <summary>Each communicator knows the group's size, its own rank and the device it was made for.</summary>
    private void CheckInvariants()
    {
        for (var r = 0; r < _comms.Length; r++)
        {
            Nccl.Check(Nccl.ncclCommCount(_comms[r], out var count), "ncclCommCount");
            Nccl.Check(Nccl.ncclCommUserRank(_comms[r], out var rank), "ncclCommUserRank");
            Nccl.Check(Nccl.ncclCommCuDevice(_comms[r], out var device), "ncclCommCuDevice");
            if (count != _comms.Length || rank != r || device != Devices[r])
            {
                throw new CudaException($"NCCL communicator {r} reports rank {rank} of {count} on device {device}, expected rank {r} of {_comms.Length} on device {Devices[r]}");
            }
        }
    }
}

/// <summary>Element types of the collectives (ncclDataType_t): the residual stream's partial sums and the logits.</summary>
internal enum NcclElement
{
    Float32 = Nccl.Float32,
    Bfloat16 = Nccl.Bfloat16,
}
