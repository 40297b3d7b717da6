using System.Numerics.Tensors;
using Brim.Backends.Cpu.Kernels;
using Brim.Backends.Cpu.KvCache;
using Brim.Backends.Cpu.Threading;
using Brim.Backends.Cpu.Weights;
using Brim.Core.Execution;
using Brim.Models;

namespace Brim.Backends.Cpu;

/// <summary>
/// The forward pass of one tensor-parallel rank's slice of a decoder (its heads, KV heads, MLP features and
/// vocabulary rows, <see cref="Config"/> being that slice as a model of its own), phase by phase, so a caller can sum
/// the partial outputs across ranks between phases. Each phase leaves its partial result in
/// <see cref="ForwardBuffers.Projection"/>; the caller reduces it and adds it to the residual stream. The unsharded
/// <see cref="CpuBackend"/> is the one-rank case, whose sum is the partial itself: one code path for both.
/// </summary>
internal sealed class DecoderShard
{
    private readonly RotaryEmbedding _rope;
    private readonly MatMulJob _matMul = new();
    private readonly AttentionJob _attention;

    /// <param name="config">The rank's slice as a model: <see cref="Brim.Models.Parallel.RankShard.RankConfig"/>, or the whole model.</param>
    /// <param name="weights">Weights of that slice; a row-parallel bias only on the rank that adds it.</param>
    /// <param name="vocabStart">The first vocabulary id of the rank's embedding and LM head rows.</param>
    public DecoderShard(ModelConfig config, CpuModelWeights weights, KvCacheDType kvCacheDType, int vocabStart)
    {
        Config = config;
        Weights = weights;
        KvCacheDType = kvCacheDType;
        VocabStart = vocabStart;
        _rope = new RotaryEmbedding(config);
        _attention = new AttentionJob(config.NumHeads, config.NumKvHeads, config.HeadDim);
        Buffers = new ForwardBuffers(config);
    }

    public ModelConfig Config { get; }

    public CpuModelWeights Weights { get; }

    public KvCacheDType KvCacheDType { get; }

    public int VocabStart { get; }

    public ForwardBuffers Buffers { get; }

    /// <summary>The rank's paged KV cache: its KV heads only, the same blocks and block size on every rank.</summary>
    public PagedKvCache? Cache { get; private set; }

    public void AllocateKvCache(int numBlocks, int blockSize)
    {
        // Drop the previous cache before allocating its successor, not after.
        Cache = null;
        Cache = PagedKvCache.Create(KvCacheDType, Config, numBlocks, blockSize);
    }

    /// <summary>Sizes the buffers for the step and records each token's position and slice.</summary>
    public void Begin(ForwardBatch batch)
    {
        Buffers.EnsureTokens(batch.TokenCount);
        for (var s = 0; s < batch.Slices.Length; s++)
        {
            var slice = batch.Slices[s];
            for (var i = 0; i < slice.TokenCount; i++)
            {
                Buffers.Positions[slice.TokenStart + i] = slice.StartPosition + i;
                Buffers.SliceOfToken[slice.TokenStart + i] = s;
            }
        }
    }

    /// <summary>Vocabulary-parallel embedding: the rows of the rank's ids, zeros for the others (whose ranks add them).</summary>
    public void EmbedPartial(int[] tokenIds)
    {
        var h = Config.HiddenSize;
        for (var t = 0; t < tokenIds.Length; t++)
        {
            var row = Buffers.Projection.AsSpan(t * h, h);
            var local = tokenIds[t] - VocabStart;
            if ((uint)local < (uint)Config.VocabSize)
            {
                Weights.Embedding.AsSpan(local * h, h).CopyTo(row);
            }
            else
            {
                row.Clear();
            }
        }
    }

    /// <summary>The residual stream starts as the reduced embedding.</summary>
    public void SetHiddenFromProjection(int tokens) =>
        Buffers.Projection.AsSpan(0, tokens * Config.HiddenSize).CopyTo(Buffers.Hidden);

    /// <summary>The residual stream gains a block's reduced output.</summary>
    public void AddProjectionToHidden(int tokens)
    {
        var n = tokens * Config.HiddenSize;
        TensorPrimitives.Add(Buffers.Hidden.AsSpan(0, n), Buffers.Projection.AsSpan(0, n), Buffers.Hidden.AsSpan(0, n));
    }

    /// <summary>
    /// Attention over the rank's heads, ending in its columns of the row-parallel o projection: a partial sum of
    /// the block's output (with the o bias on the rank that holds it).
    /// </summary>
    public void AttentionPartial(WorkerPool pool, ForwardBatch batch, int layer, int maxContext)
    {
        var cache = Cache ?? throw new InvalidOperationException("AllocateKvCache must be called before Forward");
        var w = Weights.Layers[layer];
        var b = Buffers;
        var tokens = batch.TokenCount;
        int h = Config.HiddenSize, q = Config.QueryDim, kv = Config.KvDim;
        var stride = q + (2 * kv);
        NormalizeRows(w.AttentionNorm, tokens);
        _matMul.Run(pool, w.QueryKeyValue, w.QueryKeyValueBias, stride, h, b.Normalized, tokens, b.QueryKeyValue);

        // Rotate q and k, then store every token's k and v in its cache slot before any token attends, so a
        // prefill chunk sees its own earlier tokens through the cache like any cached position (quantized, in an int8
        // cache, exactly as a later decode step will read them).
        foreach (var slice in batch.Slices)
        {
            var blockTable = slice.BlockTable.Span;
            for (var i = 0; i < slice.TokenCount; i++)
            {
                var row = b.QueryKeyValue.AsSpan((slice.TokenStart + i) * stride, stride);
                var position = slice.StartPosition + i;
                _rope.Apply(row[..q], position);
                _rope.Apply(row.Slice(q, kv), position);
                cache.Write(layer, blockTable, position, row.Slice(q, kv), row.Slice(q + kv, kv));
            }
        }

        _attention.Run(pool, cache, layer, b.QueryKeyValue, stride, b.Attention, tokens, b.Positions, b.SliceOfToken, batch.Slices, maxContext);
        _matMul.Run(pool, w.Output, w.OutputBias, h, q, b.Attention, tokens, b.Projection);
    }

    /// <summary>SwiGLU over the rank's MLP features, ending in its columns of the row-parallel down projection.</summary>
    public void FeedForwardPartial(WorkerPool pool, int layer, int tokens)
    {
        var w = Weights.Layers[layer];
        var b = Buffers;
        int h = Config.HiddenSize, ff = Config.IntermediateSize;
        NormalizeRows(w.FeedForwardNorm, tokens);
        _matMul.Run(pool, w.GateUp, w.GateUpBias, 2 * ff, h, b.Normalized, tokens, b.GateUp);
        for (var t = 0; t < tokens; t++)
        {
            var row = b.GateUp.AsSpan(t * 2 * ff, 2 * ff);
            RowKernels.SwiGlu(row[..ff], row[ff..], b.Activated.AsSpan(t * ff, ff));
        }

        _matMul.Run(pool, w.Down, w.DownBias, h, ff, b.Activated, tokens, b.Projection);
    }

    /// <summary>
    /// The logits of the rank's vocabulary rows, [rows, <see cref="ModelConfig.VocabSize"/> of the rank], for the
    /// tokens that need them (a slice's last, or its last 1 + k when it verifies draft tokens): only those go
    /// through the final norm and the classifier. Returns the row count.
    /// </summary>
    public int Logits(WorkerPool pool, ForwardBatch batch, float[] destination)
    {
        var b = Buffers;
        var h = Config.HiddenSize;
        var row = 0;
        foreach (var slice in batch.Slices)
        {
            for (var t = slice.FirstLogitToken; t < slice.TokenStart + slice.TokenCount; t++)
            {
                RowKernels.RmsNorm(b.Hidden.AsSpan(t * h, h), Weights.FinalNorm, b.LogitInputs.AsSpan(row * h, h), Config.RmsNormEps);
                row++;
            }
        }

        if (row > 0)
        {
            _matMul.Run(pool, Weights.Classifier, null, Config.VocabSize, h, b.LogitInputs, row, destination);
        }

        return row;
    }

    private void NormalizeRows(float[] weight, int tokens)
    {
        var h = Config.HiddenSize;
        for (var t = 0; t < tokens; t++)
        {
            RowKernels.RmsNorm(Buffers.Hidden.AsSpan(t * h, h), weight, Buffers.Normalized.AsSpan(t * h, h), Config.RmsNormEps);
        }
    }
}
