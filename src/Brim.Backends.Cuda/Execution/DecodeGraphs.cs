using Brim.Backends.Cuda.Interop;

namespace Brim.Backends.Cuda.Execution;

/// <summary>
/// CUDA graphs of decode-shaped steps (every token a logit row: decode tokens, and decode tokens with the speculative
/// drafts they verify), one per (padded row count, attention partitions, sampling on/off). A key's first
/// step runs eagerly (so every library kernel is loaded before capture); the second captures; later ones replay.
/// </summary>
internal sealed class DecodeGraphs(CudaDevice device, CudaStream stream) : IDisposable
{
    private readonly Dictionary<(int Rows, int Partitions, bool Sample), CudaGraph> _graphs = [];
    private readonly HashSet<(int Rows, int Partitions, bool Sample)> _warmed = [];

    /// <summary>
    /// Batch-size buckets decode steps are padded to. Above 256 the steps are long (tens of ms) and launches matter less,
    /// so the buckets grow by 128 rather than doubling: an FP8 cache runs 300–512 sequences, and padding 300 rows to 512
    /// would waste more than the graph saves.
    /// </summary>
    public static readonly int[] Buckets = [1, 2, 4, 8, 16, 32, 64, 128, 256, 384, 512];

    public int Count => _graphs.Count;

    /// <summary>The smallest bucket holding <paramref name="rows"/>, or -1 when larger than every bucket.</summary>
    public static int BucketFor(int rows)
    {
        foreach (var b in Buckets)
        {
            if (rows <= b)
            {
                return b;
            }
        }

        return -1;
    }

    public void Run((int Rows, int Partitions, bool Sample) key, Action enqueue)
    {
        if (_graphs.TryGetValue(key, out var graph))
        {
            graph.Launch(stream);
            return;
        }

        if (_warmed.Add(key))
        {
            enqueue();
            return;
        }

        graph = CudaGraph.Capture(device, stream, enqueue);
        _graphs[key] = graph;
        graph.Launch(stream);
    }

    /// <summary>Drops every graph (the buffers they point into are being replaced).</summary>
    public void Clear()
    {
        foreach (var g in _graphs.Values)
        {
            g.Dispose();
        }

        _graphs.Clear();
        _warmed.Clear();
    }

    public void Dispose() => Clear();
}
