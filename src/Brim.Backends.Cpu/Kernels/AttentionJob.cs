using System.Numerics.Tensors;
using Brim.Backends.Cpu.KvCache;
using Brim.Backends.Cpu.Threading;
using Brim.Core.Execution;

namespace Brim.Backends.Cpu.Kernels;

/// <summary>
/// Causal grouped-query attention of every token of a ragged batch against the paged KV cache (which already holds
/// this step's keys and values). A token at position p attends to positions 0..p of its own sequence. The work items
/// are (token, query head) pairs; each is computed whole by one thread, visiting positions in increasing order, so
/// its result depends only on the sequence's keys/values and never on the batch, the chunking or the thread count.
/// The loop is generic over the cache format's <see cref="IKvHeadReader"/>: one compiled loop per format.
/// </summary>
internal sealed class AttentionJob : ParallelJob
{
    private readonly int _numHeads;
    private readonly int _headDim;
    private readonly int _groupSize;
    private readonly float _scale;
    private float[][] _scores = [];
    private float[] _queries = [];
    private float[] _output = [];
    private int[] _positions = [];
    private int[] _sliceOfToken = [];
    private SequenceSlice[] _slices = [];
    private PagedKvCache? _cache;
    private int _layer;
    private int _queryStride;
    private int _items;
    private int _itemsPerChunk;

    public AttentionJob(int numHeads, int numKvHeads, int headDim)
    {
        _numHeads = numHeads;
        _headDim = headDim;
        _groupSize = numHeads / numKvHeads;
        _scale = (float)(1.0 / Math.Sqrt(headDim));
    }

    /// <summary>
    /// Writes att[t, h * headDim ..] for every token t and head h, reading token t's queries at
    /// t * <paramref name="queryStride"/> of <paramref name="queries"/>. <paramref name="positions"/> and
    /// <paramref name="sliceOfToken"/> give each token's position and slice; <paramref name="maxContext"/> is the
    /// longest context in the batch (scratch size).
    /// </summary>
    public void Run(
        WorkerPool pool,
        PagedKvCache cache,
        int layer,
        float[] queries,
        int queryStride,
        float[] output,
        int tokens,
        int[] positions,
        int[] sliceOfToken,
        SequenceSlice[] slices,
        int maxContext)
    {
        _items = tokens * _numHeads;
        var chunkCount = Math.Min(_items, pool.ThreadCount * 4);
        _itemsPerChunk = (_items + chunkCount - 1) / chunkCount;
        chunkCount = (_items + _itemsPerChunk - 1) / _itemsPerChunk;
        EnsureScratch(chunkCount, maxContext);
        _cache = cache;
        _layer = layer;
        _queries = queries;
        _queryStride = queryStride;
        _output = output;
        _positions = positions;
        _sliceOfToken = sliceOfToken;
        _slices = slices;
        pool.Run(this, chunkCount);
        _cache = null;
        _slices = [];
        _queries = _output = [];
    }

    public override void Execute(int chunk)
    {
        switch (_cache)
        {
            case Float32KvCache floats:
                Attend(floats.Reader(_layer), chunk);
                break;
            case Int8KvCache int8:
                Attend(int8.Reader(_layer), chunk);
                break;
            default:
                throw new InvalidOperationException($"no attention over a {_cache?.GetType().Name} cache");
        }
    }

    private void Attend<TReader>(TReader reader, int chunk)
        where TReader : struct, IKvHeadReader
    {
        var scratch = _scores[chunk];
        var end = Math.Min(_items, (chunk + 1) * _itemsPerChunk);
        for (var item = chunk * _itemsPerChunk; item < end; item++)
        {
            var token = item / _numHeads;
            var head = item % _numHeads;
            AttendOne(reader, token, head, scratch);
        }
    }

    private void AttendOne<TReader>(TReader reader, int token, int head, float[] scratch)
        where TReader : struct, IKvHeadReader
    {
        var cache = _cache!;
        var position = _positions[token];
        var blockTable = _slices[_sliceOfToken[token]].BlockTable.Span;
        var kvHead = head / _groupSize;
        var query = _queries.AsSpan((token * _queryStride) + (head * _headDim), _headDim);
        var scores = scratch.AsSpan(0, position + 1);
        for (var p = 0; p <= position; p++)
        {
            var (block, inBlock) = cache.Locate(blockTable, p);
            scores[p] = reader.QueryKey(query, block, inBlock, kvHead) * _scale;
        }

        // Softmax: max and exp are exact per element, the sum has a fixed order.
        var max = TensorPrimitives.Max(scores);
        TensorPrimitives.Subtract(scores, max, scores);
        TensorPrimitives.Exp(scores, scores);
        TensorPrimitives.Divide(scores, FixedOrderMath.Sum(scores), scores);

        var result = _output.AsSpan((token * _numHeads * _headDim) + (head * _headDim), _headDim);
        result.Clear();
        for (var p = 0; p <= position; p++)
        {
            var (block, inBlock) = cache.Locate(blockTable, p);
            reader.AddWeightedValue(scores[p], block, inBlock, kvHead, result);
        }
    }

    /// <summary>Grows the per-chunk score buffers geometrically: a decode batch's context grows by one every step.</summary>
    private void EnsureScratch(int chunkCount, int maxContext)
    {
        var length = _scores.Length == 0 ? 0 : _scores[0].Length;
        if (_scores.Length < chunkCount || length < maxContext)
        {
            length = Math.Max(maxContext, length * 2);
            _scores = new float[Math.Max(chunkCount, _scores.Length)][];
            for (var i = 0; i < _scores.Length; i++)
            {
                _scores[i] = new float[length];
            }
        }
    }
}
